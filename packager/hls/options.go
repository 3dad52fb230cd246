package hls

import (
	"fmt"

	"github.com/lockstream/lockstream/packager"
)

// Protocol versions the writers emit (RFC 8216 section 7).
const (
	// VersionLegacy limits a playlist to protocol version 3, for players
	// that predate the later drafts: no EXT-X-INDEPENDENT-SEGMENTS, and no
	// AVERAGE-BANDWIDTH, FRAME-RATE or CHANNELS attributes. Floating-point
	// EXTINF values (version 3) and the EXT-X-KEY IV attribute (version 2)
	// stay. MPEG-TS only.
	VersionLegacy = 3
	// DefaultVersionTS is used for MPEG-TS when Options.Version is 0.
	DefaultVersionTS = 4
	// DefaultVersionFMP4 is used for fMP4 when Options.Version is 0. An
	// EXT-X-MAP tag in a playlist without EXT-X-I-FRAMES-ONLY requires
	// version 6.
	DefaultVersionFMP4 = 6
	// maxVersion is the highest version RFC 8216 defines.
	maxVersion = 7
)

// Options configures the playlists of one request. The URI functions
// are required except KeyURI. They return URIs that the writers copy into
// the playlist unchanged.
type Options struct {
	// Container is the segment format: packager.ContainerTS or
	// packager.ContainerFMP4.
	Container packager.Container
	// Version is the EXT-X-VERSION to write; 0 picks DefaultVersionTS or
	// DefaultVersionFMP4, and VersionLegacy restricts the output to
	// protocol version 3.
	Version int

	// PlaylistURI returns the URI of the media playlist of track t,
	// relative to the multivariant playlist, such as
	// "hls-ts/cbc/video_200k.m3u8".
	PlaylistURI func(t *packager.Track) string
	// SegmentURI returns the URI of segment n (1-based: segment index + 1)
	// of track t, relative to the media playlist, such as
	// "video_200k/1.ts".
	SegmentURI func(t *packager.Track, n int) string
	// InitURI returns the URI of the fMP4 init segment of track t,
	// relative to the media playlist, such as "video_200k/init.mp4". Only
	// used for fMP4.
	InitURI func(t *packager.Track) string
	// KeyURI returns the absolute key URI of track t for
	// METHOD=AES-128; nil, or an empty result, writes a clear playlist.
	KeyURI func(t *packager.Track) string
}

// version returns the EXT-X-VERSION to write, or an error when the
// requested version cannot express the container.
func (o *Options) version() (int, error) {
	switch o.Container {
	case packager.ContainerTS:
		if o.Version == 0 {
			return DefaultVersionTS, nil
		}
		if o.Version < VersionLegacy || o.Version > maxVersion {
			return 0, fmt.Errorf("HLS version %d is invalid for MPEG-TS segments; use %d to %d", o.Version, VersionLegacy, maxVersion)
		}
	case packager.ContainerFMP4:
		if o.Version == 0 {
			return DefaultVersionFMP4, nil
		}
		if o.Version < DefaultVersionFMP4 || o.Version > maxVersion {
			return 0, fmt.Errorf("HLS version %d is invalid for fMP4 segments, which need EXT-X-MAP; use %d to %d", o.Version, DefaultVersionFMP4, maxVersion)
		}
	default:
		return 0, fmt.Errorf("HLS container %d is invalid; use packager.ContainerTS or packager.ContainerFMP4", o.Container)
	}
	return o.Version, nil
}

// keyURI returns the key URI of t, or "" for a clear playlist.
func (o *Options) keyURI(t *packager.Track) string {
	if o.KeyURI == nil {
		return ""
	}
	return o.KeyURI(t)
}

// check reports a missing required option.
func (o *Options) check(needSegments bool) error {
	if o == nil {
		return fmt.Errorf("writing HLS playlist: no options")
	}
	if !needSegments && o.PlaylistURI == nil {
		return fmt.Errorf("writing HLS multivariant playlist: Options.PlaylistURI is nil")
	}
	if needSegments && o.SegmentURI == nil {
		return fmt.Errorf("writing HLS media playlist: Options.SegmentURI is nil")
	}
	if needSegments && o.Container == packager.ContainerFMP4 && o.InitURI == nil {
		return fmt.Errorf("writing HLS media playlist: Options.InitURI is nil for fMP4 segments")
	}
	return nil
}
