package packager

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// syntheticVideo returns a video track of n frames of dur ticks with a
// sync sample every gop frames, starting at start.
func syntheticVideo(file string, timescale uint32, dur uint32, gop, n int, start int64) *Track {
	t := &Track{Kind: KindVideo, File: file, TrackID: 1, Timescale: timescale}
	for i := range n {
		t.Samples = append(t.Samples, Sample{Time: start + int64(i)*int64(dur), Dur: dur, Size: 1000, Sync: i%gop == 0, Offset: int64(i) * 1000})
	}
	t.Duration = start + int64(n)*int64(dur)
	return t
}

// syntheticAudio returns an audio track of n frames of dur ticks starting
// at start.
func syntheticAudio(timescale uint32, dur uint32, n int, start int64) *Track {
	t := &Track{Kind: KindAudio, File: "audio.mp4", TrackID: 1, Timescale: timescale}
	for i := range n {
		t.Samples = append(t.Samples, Sample{Time: start + int64(i)*int64(dur), Dur: dur, Size: 300, Sync: true, Offset: int64(i) * 300})
	}
	t.Duration = start + int64(n)*int64(dur)
	return t
}

func presentationOf(tracks ...*Track) *Presentation {
	for i, t := range tracks {
		t.Index = i
		t.Name = t.Kind.String() + string(rune('a'+i))
	}
	return &Presentation{Asset: "test", Name: "test", Tracks: tracks}
}

// checkPlan verifies the invariants every plan keeps: ranges tile each
// track with no empty segment, and boundaries increase.
func checkPlan(t *testing.T, p *Presentation, plan *SegmentPlan) {
	t.Helper()
	n := plan.SegmentCount()
	for i := 1; i < len(plan.Boundaries); i++ {
		if plan.Boundaries[i] <= plan.Boundaries[i-1] {
			t.Fatalf("boundaries %v do not increase", plan.Boundaries)
		}
	}
	for ti, tr := range p.Tracks {
		if len(plan.Ranges[ti]) != n {
			t.Fatalf("track %d has %d ranges, want %d", ti, len(plan.Ranges[ti]), n)
		}
		next := 0
		for i, r := range plan.Ranges[ti] {
			if r.Start != next || r.End <= r.Start {
				t.Fatalf("track %d segment %d: range %+v, want a non-empty range starting at %d", ti, i, r, next)
			}
			if _, d := plan.TrackSegment(tr, i); d <= 0 {
				t.Fatalf("track %d segment %d has duration %d", ti, i, d)
			}
			next = r.End
		}
		if next != len(tr.Samples) {
			t.Fatalf("track %d: ranges end at %d of %d samples", ti, next, len(tr.Samples))
		}
	}
}

func TestPlanBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		video  *Track
		target time.Duration
		want   []int64
	}{
		// 2.5 s GOPs at a 6 s target: 5 s is nearer than 7.5 s.
		{"gop_does_not_divide_target", syntheticVideo("v.mp4", 1000, 100, 25, 200, 0), 6 * time.Second, []int64{0, 5000, 10000, 15000, 20000}},
		// A GOP equal to the target.
		{"gop_equals_target", syntheticVideo("v.mp4", 1000, 100, 20, 100, 0), 2 * time.Second, []int64{0, 2000, 4000, 6000, 8000, 10000}},
		// 4 s GOPs at a 2 s target give one-GOP segments.
		{"gop_longer_than_target", syntheticVideo("v.mp4", 1000, 100, 40, 100, 0), 2 * time.Second, []int64{0, 4000, 8000, 10000}},
		// Tie between 4 s and 6 s at a 5 s target: the later one.
		{"tie_takes_later", syntheticVideo("v.mp4", 1000, 100, 20, 120, 0), 5 * time.Second, []int64{0, 6000, 12000}},
		// The last segment is short: 10.5 s of 2 s GOPs.
		{"last_segment_short", syntheticVideo("v.mp4", 1000, 100, 20, 105, 0), 2 * time.Second, []int64{0, 2000, 4000, 6000, 8000, 10000, 10500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := presentationOf(tc.video)
			plan, err := p.Plan(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, p, plan)
			if !equalInts(plan.Boundaries, tc.want) {
				t.Errorf("got boundaries %v, want %v", plan.Boundaries, tc.want)
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPlanAudioLaterThanVideo(t *testing.T) {
	video := syntheticVideo("v.mp4", 12800, 512, 50, 250, 0) // 10 s, 2 s GOPs
	audio := syntheticAudio(48000, 1024, 300, 3*48000)       // 3 s to 9.4 s, after an empty edit
	p := presentationOf(video, audio)
	plan, err := p.Plan(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)

	// The 2 s boundary would leave audio without samples, so it goes.
	want := []int64{0, 51200, 76800, 102400, 128000}
	if !equalInts(plan.Boundaries, want) {
		t.Errorf("got boundaries %v, want %v", plan.Boundaries, want)
	}
	if start, _ := plan.TrackSegment(audio, 0); start != 3*48000 {
		t.Errorf("audio segment 0 starts at %d, want %d (the delay is kept)", start, 3*48000)
	}
}

func TestPlanAudioCutsAtNearestFrame(t *testing.T) {
	video := syntheticVideo("v.mp4", 12800, 512, 50, 250, 0)
	audio := syntheticAudio(44100, 1024, 431, 0) // 10.01 s
	p := presentationOf(video, audio)
	plan, err := p.Plan(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)
	for i := 1; i < plan.SegmentCount(); i++ {
		b := seconds(plan.Boundaries[i], plan.Timescale)
		cut := plan.Ranges[1][i].Start
		got := seconds(audio.Samples[cut].Time, 44100)
		frame := 1024.0 / 44100
		if d := got - b; d > frame/2 || d < -frame/2 {
			t.Errorf("boundary %.4f s: audio cut at frame starting %.4f s, more than half a frame away", b, got)
		}
	}
}

func TestPlanAudioOnly(t *testing.T) {
	audio := syntheticAudio(48000, 1024, 470, 0) // 10.03 s
	p := presentationOf(audio)
	plan, err := p.Plan(4 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)
	if plan.SegmentCount() != 3 || plan.Timescale != 48000 {
		t.Errorf("got %d segments at timescale %d, want 3 at 48000", plan.SegmentCount(), plan.Timescale)
	}
}

func TestPlanMisalignedRenditions(t *testing.T) {
	a := syntheticVideo("low.mp4", 12800, 512, 50, 250, 0)
	b := syntheticVideo("high.mp4", 90000, 3600, 48, 250, 0) // GOP of 48 frames at the same rate
	p := presentationOf(a, b)
	_, err := p.Plan(4 * time.Second)
	if !errors.Is(err, ErrInvalidMedia) {
		t.Fatalf("got %v, want ErrInvalidMedia", err)
	}
	for _, want := range []string{"low.mp4", "high.mp4", "1.920 s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	// The same sync times in other timescales are aligned.
	c := syntheticVideo("other.mp4", 90000, 3600, 50, 250, 0)
	if _, err := presentationOf(syntheticVideo("low.mp4", 12800, 512, 50, 250, 0), c).Plan(4 * time.Second); err != nil {
		t.Errorf("aligned renditions in different timescales: %v", err)
	}
}

func TestPlanMemoized(t *testing.T) {
	p := presentationOf(syntheticVideo("v.mp4", 1000, 100, 20, 100, 0))
	a, err := p.Plan(4 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Plan(4 * time.Second)
	if a != b {
		t.Error("second Plan call returned a different plan")
	}
}

func TestPlanBitrates(t *testing.T) {
	v := syntheticVideo("v.mp4", 1000, 100, 20, 100, 0) // 1000 bytes per 0.1 s: 80 kbit/s
	v.Samples[0].Size = 21000                           // the first segment holds 41000 bytes in 2 s
	p := presentationOf(v)
	plan, err := p.Plan(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.SegmentBytes(v, 0); got != 40000 {
		t.Errorf("segment 0 bytes: got %d, want 40000", got)
	}
	if got := plan.PeakBitrate(v); got != 160000 {
		t.Errorf("peak: got %d, want 160000", got)
	}
	if got := plan.AverageBitrate(v); got != 96000 {
		t.Errorf("average: got %d, want 96000", got)
	}
}

func BenchmarkPlan(b *testing.B) {
	tracks := []*Track{}
	for i := range 4 {
		tracks = append(tracks, syntheticVideo("v.mp4", 90000, 3750, 48, 24*7200, 0)) // two hours
		_ = i
	}
	tracks = append(tracks, syntheticAudio(48000, 1024, 48000*7200/1024, 0))
	b.ReportAllocs()
	for b.Loop() {
		p := presentationOf(tracks...)
		if _, err := p.Plan(6 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
