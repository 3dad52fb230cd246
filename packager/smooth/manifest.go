package smooth

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/lockstream/lockstream/packager"
)

// Options configures the manifest of one request.
type Options struct {
	// KeyID is the CENC key ID of encrypted output; nil for clear output.
	// The manifest carries only the key ID.
	KeyID *[16]byte
}

// Manifest is the client manifest of one presentation and plan, with the
// index that maps fragment URLs back to segments.
type Manifest struct {
	media SmoothStreamingMedia
	index Index
}

// stream is the lookup index of one StreamIndex.
type stream struct {
	name     string
	bitrates []uint32 // QualityLevel bitrates, unique within the stream
	tracks   []int    // Track.Index of each QualityLevel
	starts   []int64  // chunk start times in TimeScale units
}

// New builds the manifest of p: one StreamIndex for the video tracks and
// one per audio language, with the chunk times of plan rescaled to
// TimeScale. Text tracks are left out. Tracks are looked up in plan by
// Track.Index. The tracks of one stream must have the same segment times,
// because a StreamIndex has one chunk list for all its QualityLevels.
func New(p *packager.Presentation, plan *packager.SegmentPlan, opts *Options) (*Manifest, error) {
	m := &Manifest{media: SmoothStreamingMedia{MajorVersion: 2, MinorVersion: 2, TimeScale: TimeScale}}

	groups, err := groupTracks(p, plan)
	if err != nil {
		return nil, fmt.Errorf("building Smooth manifest of %q: %w", p.Name, err)
	}
	first, last := int64(-1), int64(0)
	for _, g := range groups {
		si, st, err := buildStream(g)
		if err != nil {
			return nil, fmt.Errorf("building Smooth manifest of %q: %w", p.Name, err)
		}
		m.media.Streams = append(m.media.Streams, si)
		m.index.streams = append(m.index.streams, st)

		end := st.starts[len(st.starts)-1] + si.Chunk[len(si.Chunk)-1].D
		last = max(last, end)
		if first < 0 || st.starts[0] < first {
			first = st.starts[0]
		}
	}
	m.media.Duration = last - first

	if opts != nil && opts.KeyID != nil {
		m.media.Protection = protection(*opts.KeyID)
	}
	return m, nil
}

// Append appends the manifest XML to dst.
func (m *Manifest) Append(dst []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(buf)
	enc.Indent("", "  ")
	if err := enc.Encode(&m.media); err != nil {
		return dst, fmt.Errorf("writing Smooth manifest: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Media returns the manifest's element tree; callers must not modify it.
func (m *Manifest) Media() *SmoothStreamingMedia { return &m.media }
