package smooth

import (
	"fmt"
	"slices"

	"github.com/lockstream/lockstream/packager"
)

// Lookup maps a fragment URL's stream name, bitrate and start time, as in
// QualityLevels({bitrate})/Fragments({stream}={start time}), to the
// Track.Index and the plan's segment index. Unknown values return an
// error wrapping packager.ErrNotFound.
func (m *Manifest) Lookup(streamName string, bitrate uint32, start int64) (track, segment int, err error) {
	i := slices.IndexFunc(m.streams, func(s stream) bool { return s.name == streamName })
	if i < 0 {
		return 0, 0, fmt.Errorf("stream %q in the Smooth manifest: %w", streamName, packager.ErrNotFound)
	}
	st := &m.streams[i]

	q := slices.Index(st.bitrates, bitrate)
	if q < 0 {
		return 0, 0, fmt.Errorf("bitrate %d in Smooth stream %q: %w", bitrate, streamName, packager.ErrNotFound)
	}
	segment, found := slices.BinarySearch(st.starts, start)
	if !found {
		return 0, 0, fmt.Errorf("fragment time %d in Smooth stream %q: %w", start, streamName, packager.ErrNotFound)
	}
	return st.tracks[q], segment, nil
}

// FragmentTime returns the start time in TimeScale units of segment
// segment of the stream that holds track, the time a fragment's tfxd box
// and URL carry.
func (m *Manifest) FragmentTime(track, segment int) (int64, error) {
	for _, st := range m.streams {
		if slices.Contains(st.tracks, track) {
			if segment < 0 || segment >= len(st.starts) {
				return 0, fmt.Errorf("segment %d of track %d in Smooth stream %q: %w", segment, track, st.name, packager.ErrNotFound)
			}
			return st.starts[segment], nil
		}
	}
	return 0, fmt.Errorf("track %d in the Smooth manifest: %w", track, packager.ErrNotFound)
}
