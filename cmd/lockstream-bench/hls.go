package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grafov/m3u8"
)

// parseHLS parses an HLS playlist. For a multivariant playlist it returns
// the URL of the selected variant's media playlist; for a media playlist,
// the segment plan.
//
// NOTE: only the variant's own media playlist is played. Audio renditions
// that EXT-X-MEDIA lists separately are not fetched.
func parseHLS(body []byte, base *url.URL, sel rendition) (*url.URL, *plan, error) {
	playlist, listType, err := decodeHLS(body)
	if err != nil {
		return nil, nil, err
	}
	switch listType {
	case m3u8.MASTER:
		variant, err := pickVariant(playlist.(*m3u8.MasterPlaylist), base, sel)
		return variant, nil, err
	case m3u8.MEDIA:
		p, err := hlsPlan(playlist.(*m3u8.MediaPlaylist), base)
		return nil, p, err
	}
	return nil, nil, errors.New("unknown playlist type")
}

// decodeHLS runs the m3u8 decoder, turning a panic on malformed input
// into an error: the playlist comes from the server under test.
func decodeHLS(body []byte) (playlist m3u8.Playlist, listType m3u8.ListType, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed playlist: %v", r)
		}
	}()
	return m3u8.DecodeFrom(bytes.NewReader(body), false)
}

// pickVariant returns the media playlist URL of the selected variant,
// leaving I-frame playlists out.
func pickVariant(master *m3u8.MasterPlaylist, base *url.URL, sel rendition) (*url.URL, error) {
	var (
		variants   []*m3u8.Variant
		bandwidths []int64
	)
	for _, v := range master.Variants {
		if v == nil || v.Iframe || v.URI == "" {
			continue
		}
		variants = append(variants, v)
		bandwidths = append(bandwidths, int64(v.Bandwidth))
	}
	i, err := sel.pick(bandwidths)
	if err != nil {
		return nil, err
	}
	return resolve(base, variants[i].URI)
}

// hlsPlan returns the plan of a media playlist: the distinct key URIs,
// the first EXT-X-MAP as the init segment, and every segment.
func hlsPlan(media *m3u8.MediaPlaylist, base *url.URL) (*plan, error) {
	count := int(media.Count())
	if count > maxSegments {
		return nil, fmt.Errorf("playlist has %d segments, more than the %d this tool plays", count, maxSegments)
	}
	p := &plan{segments: make([]segmentRef, 0, count)}
	seenKeys := make(map[string]bool)
	addKey := func(k *m3u8.Key) error {
		if k == nil || k.URI == "" || strings.EqualFold(k.Method, "NONE") || seenKeys[k.URI] {
			return nil
		}
		seenKeys[k.URI] = true
		u, err := resolve(base, k.URI)
		if err != nil {
			return fmt.Errorf("EXT-X-KEY URI: %w", err)
		}
		p.keys = append(p.keys, keyRequest{format: keyHLS, method: http.MethodGet, url: u.String()})
		return nil
	}

	if err := addKey(media.Key); err != nil {
		return nil, err
	}
	if media.Map != nil {
		ref, err := hlsSegmentRef(base, media.Map.URI, media.Map.Limit, media.Map.Offset)
		if err != nil {
			return nil, fmt.Errorf("EXT-X-MAP: %w", err)
		}
		p.init = ref
	}
	for i, seg := range media.Segments[:count] {
		if seg == nil {
			continue
		}
		if err := addKey(seg.Key); err != nil {
			return nil, err
		}
		ref, err := hlsSegmentRef(base, seg.URI, seg.Limit, seg.Offset)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		ref.duration = time.Duration(seg.Duration * float64(time.Second))
		p.segments = append(p.segments, ref)
	}
	return p, nil
}

// hlsSegmentRef resolves a segment URI with its EXT-X-BYTERANGE, if any.
func hlsSegmentRef(base *url.URL, uri string, limit, offset int64) (segmentRef, error) {
	u, err := resolve(base, uri)
	if err != nil {
		return segmentRef{}, err
	}
	ref := segmentRef{url: u.String()}
	if limit > 0 {
		ref.byteRange = fmt.Sprintf("bytes=%d-%d", offset, offset+limit-1)
	}
	return ref, nil
}

// resolve resolves ref, a URI from a manifest, against base.
func resolve(base *url.URL, ref string) (*url.URL, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errors.New("empty URI")
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid URI %q: %w", ref, err)
	}
	return base.ResolveReference(u), nil
}
