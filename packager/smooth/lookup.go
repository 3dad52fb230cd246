package smooth

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/lockstream/lockstream/packager"
)

// Index maps fragment URLs back to tracks and segments: the lookup part
// of a Manifest, without the element tree that only the manifest
// response needs. It holds no pointer to the presentation or plan it was
// built from.
type Index struct {
	streams []stream
}

// indexKey identifies the presentation and plan of a memoized Index.
type indexKey struct {
	pres weak.Pointer[packager.Presentation]
	plan weak.Pointer[packager.SegmentPlan]
}

type indexResult struct {
	once  sync.Once
	index *Index
	err   error
}

// indexes memoizes IndexFor. Its keys are weak pointers and a cleanup on
// the plan deletes each entry, so an Index lives as long as its plan and
// never keeps a presentation, or its sample tables, alive.
var indexes sync.Map // indexKey -> *indexResult

// IndexFor returns the Index of the manifest that New builds for p and
// plan, and builds it once per plan. Callers get the same *Index while
// plan stays reachable, which for a plan from Presentation.Plan is as
// long as the presentation. The Index is shared and safe for concurrent
// use.
func IndexFor(p *packager.Presentation, plan *packager.SegmentPlan) (*Index, error) {
	if p == nil || plan == nil {
		return nil, fmt.Errorf("building Smooth fragment index: missing presentation or segment plan: %w", packager.ErrNotFound)
	}
	key := indexKey{pres: weak.Make(p), plan: weak.Make(plan)}
	v, ok := indexes.Load(key)
	if !ok {
		var loaded bool
		v, loaded = indexes.LoadOrStore(key, &indexResult{})
		if !loaded {
			runtime.AddCleanup(plan, func(k indexKey) { indexes.Delete(k) }, key)
		}
	}

	r := v.(*indexResult)
	r.once.Do(func() {
		m, err := New(p, plan, nil)
		if err != nil {
			r.err = err
			return
		}
		// A copy, so the Index does not keep m and its element tree alive.
		index := m.index
		r.index = &index
	})
	return r.index, r.err
}

// Lookup maps a fragment URL's stream name, bitrate and start time, as in
// QualityLevels({bitrate})/Fragments({stream}={start time}), to the
// Track.Index and the plan's segment index. Unknown values return an
// error wrapping packager.ErrNotFound.
func (x *Index) Lookup(streamName string, bitrate uint32, start int64) (track, segment int, err error) {
	i := slices.IndexFunc(x.streams, func(s stream) bool { return s.name == streamName })
	if i < 0 {
		return 0, 0, fmt.Errorf("stream %q in the Smooth manifest: %w", streamName, packager.ErrNotFound)
	}
	st := &x.streams[i]

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
func (x *Index) FragmentTime(track, segment int) (int64, error) {
	for _, st := range x.streams {
		if slices.Contains(st.tracks, track) {
			if segment < 0 || segment >= len(st.starts) {
				return 0, fmt.Errorf("segment %d of track %d in Smooth stream %q: %w", segment, track, st.name, packager.ErrNotFound)
			}
			return st.starts[segment], nil
		}
	}
	return 0, fmt.Errorf("track %d in the Smooth manifest: %w", track, packager.ErrNotFound)
}

// Lookup is Index.Lookup on the manifest's index.
func (m *Manifest) Lookup(streamName string, bitrate uint32, start int64) (track, segment int, err error) {
	return m.index.Lookup(streamName, bitrate, start)
}

// FragmentTime is Index.FragmentTime on the manifest's index.
func (m *Manifest) FragmentTime(track, segment int) (int64, error) {
	return m.index.FragmentTime(track, segment)
}
