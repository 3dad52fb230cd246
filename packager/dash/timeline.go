package dash

import (
	"github.com/zencoder/go-dash/v3/mpd"

	"github.com/lockstream/lockstream/packager"
)

// timeline returns the SegmentTimeline of spans. The first S carries t,
// the start of the first segment, which is its earliest presentation time
// because the indexer maps the first sync sample's presentation time to
// its decode time. Later S elements carry t only after a gap. Runs of
// equal durations are folded into one S with r.
func timeline(spans []packager.TrackSpan) *mpd.SegmentTimeline {
	tl := &mpd.SegmentTimeline{}
	var cur *mpd.SegmentTimelineSegment
	var next int64 // end of the previous segment
	for i, s := range spans {
		if i > 0 && s.Start == next && uint64(s.Duration) == cur.Duration {
			r := 1
			if cur.RepeatCount != nil {
				r = *cur.RepeatCount + 1
			}
			cur.RepeatCount = &r
			next += s.Duration
			continue
		}

		cur = &mpd.SegmentTimelineSegment{Duration: uint64(s.Duration)}
		if i == 0 || s.Start != next {
			start := uint64(s.Start)
			cur.StartTime = &start
		}
		tl.Segments = append(tl.Segments, cur)
		next = s.Start + s.Duration
	}
	return tl
}

// sameTimeline reports whether a and b list the same segments.
func sameTimeline(a, b []packager.TrackSpan) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Start != b[i].Start || a[i].Duration != b[i].Duration {
			return false
		}
	}
	return true
}
