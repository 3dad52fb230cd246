package packager

import "fmt"

// TrackSpan is one segment of one track, in the track's timescale.
type TrackSpan struct {
	// Start and Duration place the segment on the track's timeline. The
	// SegmentPlan method that built the span decides which time they use.
	Start, Duration int64
	// First and End are the half-open range of sample indices.
	First, End int
}

// Bytes returns the total sample size of s.
func (s TrackSpan) Bytes(t *Track) int64 {
	var n int64
	for _, sample := range t.Samples[s.First:s.End] {
		n += int64(sample.Size)
	}
	return n
}

// DecodeSpans returns the segments of t under p, each starting at the
// decode time of its first sample and lasting the sum of its sample
// durations. HLS EXTINF values and the tfxd times of the fragments that
// packager/fmp4 writes use these times. They differ from those of
// PresentationSpans when samples have composition offsets, and for the
// last segment when the track's duration is not the end of its last sample.
//
// Trailing empty segments, of a track that ends before the others, are
// dropped. An empty segment between non-empty ones is an error, because
// segment numbers in the URLs must stay contiguous.
func (p *SegmentPlan) DecodeSpans(t *Track) ([]TrackSpan, error) {
	return p.trackSpans(t, false)
}

// PresentationSpans returns the segments of t under p with the start and
// duration of TrackSegment, so each start is the segment's earliest
// presentation time, the S@t that ISO/IEC 23009-1 requires. Empty segments
// are handled as in DecodeSpans.
func (p *SegmentPlan) PresentationSpans(t *Track) ([]TrackSpan, error) {
	return p.trackSpans(t, true)
}

func (p *SegmentPlan) trackSpans(t *Track, presentation bool) ([]TrackSpan, error) {
	if p == nil {
		return nil, fmt.Errorf("planning segments of track %q: no segment plan", t.Name)
	}
	if t.Timescale == 0 {
		return nil, fmt.Errorf("track %q has timescale 0: %w", t.Name, ErrInvalidMedia)
	}
	if t.Index < 0 || t.Index >= len(p.Ranges) {
		return nil, fmt.Errorf("track %q has index %d outside the plan's %d tracks: %w",
			t.Name, t.Index, len(p.Ranges), ErrNotFound)
	}

	ranges := p.Ranges[t.Index]
	if len(ranges) != p.SegmentCount() {
		return nil, fmt.Errorf("track %q has %d sample ranges for %d segments: %w",
			t.Name, len(ranges), p.SegmentCount(), ErrInvalidMedia)
	}

	spans := make([]TrackSpan, 0, len(ranges))
	emptyAt := -1
	for i, r := range ranges {
		if r.Start < 0 || r.Start > r.End || r.End > len(t.Samples) {
			return nil, fmt.Errorf("segment %d of track %q has sample range [%d, %d) outside [0, %d): %w",
				i, t.Name, r.Start, r.End, len(t.Samples), ErrInvalidMedia)
		}
		if r.Start == r.End {
			if emptyAt < 0 {
				emptyAt = i
			}
			continue
		}
		if emptyAt >= 0 {
			return nil, fmt.Errorf("segment %d of track %q is empty but later segments are not: %w",
				emptyAt, t.Name, ErrInvalidMedia)
		}

		var start, dur int64
		if presentation {
			start, dur = p.TrackSegment(t, i)
		} else {
			last := t.Samples[r.End-1]
			start = t.Samples[r.Start].Time
			dur = last.Time + int64(last.Dur) - start
		}
		spans = append(spans, TrackSpan{Start: start, Duration: dur, First: r.Start, End: r.End})
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("track %q has no samples in the segment plan: %w", t.Name, ErrInvalidMedia)
	}
	return spans, nil
}
