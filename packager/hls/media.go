package hls

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/grafov/m3u8"

	"github.com/lockstream/lockstream/packager"
)

// WriteMedia appends the VOD media playlist of track t to dst, with one
// segment per non-empty segment of plan. Segment n of the URIs is segment
// index n-1 of the plan. EXTINF values are the exact segment durations in
// the track's own timescale, so audio segments carry their own durations.
//
// When opts.KeyURI returns a URI, every segment gets its own EXT-X-KEY
// with METHOD=AES-128 and the explicit IV of packager.SegmentIV. For fMP4
// the EXT-X-MAP tag precedes every EXT-X-KEY, because a key tag before it
// would declare the init segment encrypted (RFC 8216 section 4.3.2.5: the
// EXT-X-KEY in effect applies to the Media Initialization Section).
func WriteMedia(dst []byte, t *packager.Track, plan *packager.SegmentPlan, opts *Options) ([]byte, error) {
	if err := opts.check(true); err != nil {
		return dst, err
	}
	version, err := opts.version()
	if err != nil {
		return dst, err
	}
	spans, err := plan.DecodeSpans(t)
	if err != nil {
		return dst, fmt.Errorf("writing HLS media playlist: %w", err)
	}

	pl, err := newMediaPlaylist(t, spans, opts, version)
	if err != nil {
		return dst, fmt.Errorf("writing HLS media playlist of track %q: %w", t.Name, err)
	}
	return append(dst, pl.Encode().Bytes()...), nil
}

// newMediaPlaylist builds the m3u8 playlist of t.
func newMediaPlaylist(t *packager.Track, spans []packager.TrackSpan, opts *Options, version int) (*m3u8.MediaPlaylist, error) {
	pl, err := m3u8.NewMediaPlaylist(0, uint(len(spans)))
	if err != nil {
		return nil, err
	}
	pl.MediaType = m3u8.VOD
	pl.SeqNo = 1
	if version != VersionLegacy {
		pl.Custom = map[string]m3u8.CustomTag{independentSegments{}.TagName(): independentSegments{}}
	}
	if opts.Container == packager.ContainerFMP4 {
		// The writer puts the playlist-wide EXT-X-MAP in the header, before
		// the per-segment EXT-X-KEY tags; there is no playlist-wide key.
		pl.Map = &m3u8.Map{URI: opts.InitURI(t)}
	}

	keyURI := opts.keyURI(t)
	var longest int64
	for i, s := range spans {
		seg := &m3u8.MediaSegment{
			URI:      opts.SegmentURI(t, i+1),
			Duration: float64(s.Duration) / float64(t.Timescale),
		}
		if keyURI != "" {
			seg.Key = segmentKey(keyURI, opts.Container, t, s, i)
		}
		if err := pl.AppendSegment(seg); err != nil {
			return nil, err
		}
		longest = max(longest, s.Duration)
	}

	// RFC 8216 section 4.3.3.1: every EXTINF rounded to the nearest integer
	// must not exceed EXT-X-TARGETDURATION. The ceiling of the longest
	// exact duration, in integer ticks, guarantees that.
	ts := int64(t.Timescale)
	pl.TargetDuration = float64((longest + ts - 1) / ts)
	pl.Close()
	pl.SetVersion(uint8(version))
	return pl, nil
}

// segmentKey returns the EXT-X-KEY of segment index i of track t, which
// spans s. RFC 8216 section 5.2 lets the IV attribute override the media
// sequence number as IV, and an IV applies to the segments up to the next
// EXT-X-KEY, so every segment needs its own tag. The origin's segment
// path encrypts with the same packager.SegmentIV.
func segmentKey(uri string, c packager.Container, t *packager.Track, s packager.TrackSpan, i int) *m3u8.Key {
	iv := packager.SegmentIV(c, t, packager.SampleRange{Start: s.First, End: s.End}, i)
	var text [2 + 2*len(iv)]byte
	text[0], text[1] = '0', 'x'
	hex.Encode(text[2:], iv[:])
	return &m3u8.Key{Method: "AES-128", URI: uri, IV: string(text[:])}
}

// independentSegments is the EXT-X-INDEPENDENT-SEGMENTS tag (RFC 8216
// section 4.3.5.1), which github.com/grafov/m3u8 v0.12.1 writes only in
// multivariant playlists. Every segment starts with a sync sample.
type independentSegments struct{}

func (independentSegments) TagName() string { return "#EXT-X-INDEPENDENT-SEGMENTS" }

func (independentSegments) Encode() *bytes.Buffer {
	return bytes.NewBufferString("#EXT-X-INDEPENDENT-SEGMENTS")
}

func (independentSegments) String() string { return "#EXT-X-INDEPENDENT-SEGMENTS" }
