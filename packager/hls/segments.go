package hls

import (
	"fmt"

	"github.com/lockstream/lockstream/packager"
)

// span is one segment of one track, in the track's timescale.
type span struct {
	start, dur int64 // decode time of the first sample, sum of sample durations
	first, end int   // half-open range of sample indices
}

// trackSpans returns the segments of track t under plan. Trailing empty
// segments, of a track that ends before the others, are dropped. An empty
// segment between non-empty ones is an error, because segment numbers in
// the URLs must stay contiguous.
// EXTINF values are the sum of the sample durations, which equals the
// span of SegmentPlan.TrackSegment when segments start with a closed GOP.
func trackSpans(t *packager.Track, plan *packager.SegmentPlan) ([]span, error) {
	if plan == nil {
		return nil, fmt.Errorf("planning segments of track %q: no segment plan", t.Name)
	}
	if t.Timescale == 0 {
		return nil, fmt.Errorf("track %q has timescale 0: %w", t.Name, packager.ErrInvalidMedia)
	}
	if t.Index < 0 || t.Index >= len(plan.Ranges) {
		return nil, fmt.Errorf("track %q has index %d outside the plan's %d tracks: %w",
			t.Name, t.Index, len(plan.Ranges), packager.ErrNotFound)
	}

	ranges := plan.Ranges[t.Index]
	if len(ranges) != plan.SegmentCount() {
		return nil, fmt.Errorf("track %q has %d sample ranges for %d segments: %w",
			t.Name, len(ranges), plan.SegmentCount(), packager.ErrInvalidMedia)
	}

	spans := make([]span, 0, len(ranges))
	emptyAt := -1
	for i, r := range ranges {
		if r.Start < 0 || r.Start > r.End || r.End > len(t.Samples) {
			return nil, fmt.Errorf("segment %d of track %q has sample range [%d, %d) outside [0, %d): %w",
				i, t.Name, r.Start, r.End, len(t.Samples), packager.ErrInvalidMedia)
		}
		if r.Start == r.End {
			if emptyAt < 0 {
				emptyAt = i
			}
			continue
		}
		if emptyAt >= 0 {
			return nil, fmt.Errorf("segment %d of track %q is empty but later segments are not: %w",
				emptyAt, t.Name, packager.ErrInvalidMedia)
		}

		last := t.Samples[r.End-1]
		start := t.Samples[r.Start].Time
		spans = append(spans, span{start: start, dur: last.Time + int64(last.Dur) - start, first: r.Start, end: r.End})
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("track %q has no samples in the segment plan: %w", t.Name, packager.ErrInvalidMedia)
	}
	return spans, nil
}

// bytes returns the total sample size of s.
func (s span) bytes(t *packager.Track) int64 {
	var n int64
	for _, sample := range t.Samples[s.first:s.end] {
		n += int64(sample.Size)
	}
	return n
}
