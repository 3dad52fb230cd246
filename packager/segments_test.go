package packager

import (
	"errors"
	"slices"
	"testing"
)

// offsetTrack returns a track of six 100-tick samples whose presentation
// times run 200 ticks after their decode times, as B-frame video without
// an edit list does.
func offsetTrack() *Track {
	t := &Track{Kind: KindVideo, Name: "video", Timescale: 1000, Duration: 800}
	for i := range 6 {
		t.Samples = append(t.Samples, Sample{Time: int64(i) * 100, CTO: 200, Dur: 100, Size: 10 + uint32(i), Sync: i%3 == 0})
	}
	return t
}

func TestTrackSpans(t *testing.T) {
	plan := &SegmentPlan{
		Timescale:  1000,
		Boundaries: []int64{200, 500, 800, 900},
		Ranges:     [][]SampleRange{{{0, 3}, {3, 6}, {6, 6}}},
	}
	tests := []struct {
		name  string
		spans func(*SegmentPlan, *Track) ([]TrackSpan, error)
		want  []TrackSpan
	}{
		{"decode", (*SegmentPlan).DecodeSpans, []TrackSpan{{0, 300, 0, 3}, {300, 300, 3, 6}}},
		{"presentation", (*SegmentPlan).PresentationSpans, []TrackSpan{{200, 300, 0, 3}, {500, 300, 3, 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spans(plan, offsetTrack())
			if err != nil {
				t.Fatalf("spans: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("spans = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTrackSpansBytes(t *testing.T) {
	track := offsetTrack()
	if got, want := (TrackSpan{First: 3, End: 6}).Bytes(track), int64(13+14+15); got != want {
		t.Errorf("Bytes = %d, want %d", got, want)
	}
}

func TestTrackSpansInvalid(t *testing.T) {
	tests := []struct {
		name string
		plan *SegmentPlan
		want error
	}{
		{"no plan", nil, nil},
		{"empty segment between others", &SegmentPlan{
			Boundaries: []int64{0, 300, 400, 800},
			Ranges:     [][]SampleRange{{{0, 3}, {3, 3}, {3, 6}}},
		}, ErrInvalidMedia},
		{"range past the samples", &SegmentPlan{
			Boundaries: []int64{0, 800},
			Ranges:     [][]SampleRange{{{0, 7}}},
		}, ErrInvalidMedia},
		{"range count differs from segments", &SegmentPlan{
			Boundaries: []int64{0, 300, 800},
			Ranges:     [][]SampleRange{{{0, 6}}},
		}, ErrInvalidMedia},
		{"track missing from plan", &SegmentPlan{Boundaries: []int64{0, 800}}, ErrNotFound},
		{"all segments empty", &SegmentPlan{
			Boundaries: []int64{0, 800},
			Ranges:     [][]SampleRange{{{0, 0}}},
		}, ErrInvalidMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methods := map[string]func(*SegmentPlan, *Track) ([]TrackSpan, error){
				"DecodeSpans":       (*SegmentPlan).DecodeSpans,
				"PresentationSpans": (*SegmentPlan).PresentationSpans,
			}
			for method, spans := range methods {
				got, err := spans(tt.plan, offsetTrack())
				if err == nil {
					t.Fatalf("%s = %+v, want an error", method, got)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s error %v, want %v", method, err, tt.want)
				}
			}
		})
	}
}
