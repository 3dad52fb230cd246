package packager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLoadRejectsOverlongTrack guards maxTrackDuration. A small file whose
// audio track has timescale 1 and two samples of 0xFFFFFFFF ticks (272
// years) must get an error naming the file and track. Without the limit,
// the audio-only planner allocates a boundary for every 6 s of that span
// and the process runs out of memory.
func TestLoadRejectsOverlongTrack(t *testing.T) {
	data := progressiveAudioMP4(t, audioSpec{timescale: 1, count: 2, size: 8, dur: 0xFFFFFFFF})
	dir := writeAsset(t, map[string][]byte{"long.mp4": data})
	ctx := context.Background()

	_, err := NewLoader(64<<20).Load(ctx, "long", newDirOpener(dir))
	checkNamedInvalid(t, err, "long.mp4", "track 1", "duration")

	_, err = Inspect(ctx, newDirOpener(dir), "long", DefaultTarget)
	checkNamedInvalid(t, err, "long.mp4", "track 1", "duration")
}

// TestPlanSegmentLimit guards maxPlanSegments for both planners: the
// audio-only planner counts its boundaries before it allocates them, and
// the video planner rejects more boundaries than the limit.
func TestPlanSegmentLimit(t *testing.T) {
	// Two frames of 300,000 s: just under the 7-day track limit.
	audio := presentationOf(syntheticAudio(1000, 300_000_000, 2, 0))
	video := presentationOf(syntheticVideo("video.mp4", 1000, 1, 1, maxPlanSegments+1, 0))
	tests := []struct {
		name   string
		p      *Presentation
		target time.Duration
		ok     bool
	}{
		{"audio 1 ms", audio, time.Millisecond, false},
		{"audio 1 s", audio, time.Second, true},
		{"video 1 ms", video, time.Millisecond, false},
		{"video 2 ms", video, 2 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := tc.p.Plan(tc.target)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want a plan", err)
				}
				checkPlan(t, tc.p, plan)
				return
			}
			file := tc.p.Tracks[0].File
			checkNamedInvalid(t, err, file, "track 1", "more than the limit of 1000000")
		})
	}
}

// TestIndexSampleBudget guards the per-file limits: samples in all tracks
// against the file size, tracks per file, and trun runs of default-sized
// samples. Each case must fail before it allocates the sample tables.
func TestIndexSampleBudget(t *testing.T) {
	many := make([]audioSpec, maxTracksPerFile+1)
	for i := range many {
		many[i] = audioSpec{timescale: 48000, count: 1, size: 8, dur: 1024}
	}
	shared := make([]audioSpec, 4)
	for i := range shared {
		shared[i] = audioSpec{timescale: 48000, count: 2_000_000, size: 1, dur: 1024}
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error; "" means the file is accepted
	}{
		{"tracks sharing 2 MB of samples", progressiveAudioMP4(t, shared...), "more than 500"},
		{"trun of default size 1", fragmentedAudioMP4(t, 2_000_000, 1, 1024), "more than 500"},
		{"65 tracks", progressiveAudioMP4(t, many...), "more than 64 video and audio tracks"},
		{"64 tracks", progressiveAudioMP4(t, many[:maxTracksPerFile]...), ""},
		{"one sample per 4 bytes", progressiveAudioMP4(t, audioSpec{timescale: 48000, count: 100_000, size: 4, dur: 1024}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := IndexFile(newMemFile(tc.data), "budget.mp4")
			runtime.ReadMemStats(&after)

			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the file accepted", err)
				}
				return
			}
			checkNamedInvalid(t, err, "budget.mp4", tc.want)
			// 4 tracks of 2 million samples would take 256 MB of tables.
			if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
				t.Errorf("indexing allocated %d MB before rejecting the file, want under 32 MB", n>>20)
			}
		})
	}
}

// TestLoaderRejectsPresentationOverBound guards the presentation cache's
// memory bound: a presentation larger than the bound is rejected instead
// of being held outside any bound.
func TestLoaderRejectsPresentationOverBound(t *testing.T) {
	l := NewLoader(16 << 10)
	l.maxPresBytes = 16 << 10 // the sample asset's tables take about 45 KB
	_, err := l.Load(context.Background(), "sample", newDirOpener(sampleDir))
	if !errors.Is(err, ErrInvalidMedia) || !strings.Contains(err.Error(), `presentation "sample"`) {
		t.Fatalf("got %v, want ErrInvalidMedia naming the presentation", err)
	}
	if s := l.Stats(); s.Presentations != 0 || s.PresentationBytes != 0 {
		t.Errorf("got stats %+v, want no cached presentation", s)
	}
}

// TestLoaderEvictsPresentationsPastBound guards the presentation cache's
// byte accounting: two presentations that together exceed the bound are
// not both kept.
func TestLoaderEvictsPresentationsPastBound(t *testing.T) {
	dir := twoManifestAsset(t)
	ctx := context.Background()
	sizes := map[string]int64{}
	for _, name := range []string{"multi", "hd"} {
		l := NewLoader(64 << 20)
		if _, err := l.LoadNamed(ctx, "asset", name, newDirOpener(dir)); err != nil {
			t.Fatal(err)
		}
		sizes[name] = l.Stats().PresentationBytes
	}

	l := NewLoader(64 << 20)
	l.maxPresBytes = max(sizes["multi"], sizes["hd"]) + 1
	for _, name := range []string{"multi", "hd"} {
		if _, err := l.LoadNamed(ctx, "asset", name, newDirOpener(dir)); err != nil {
			t.Fatal(err)
		}
	}
	s := l.Stats()
	if s.Presentations != 1 || s.PresentationBytes != sizes["hd"] {
		t.Errorf("got %d presentations of %d bytes, want only hd (%d bytes) within the bound %d",
			s.Presentations, s.PresentationBytes, sizes["hd"], l.maxPresBytes)
	}
}

// twoManifestAsset returns a copy of the sample asset with two more
// server manifests: multi.ism with the 200k video and hd.ism with the
// 700k video, each with the audio.
func twoManifestAsset(t *testing.T) string {
	t.Helper()
	dir := copyAsset(t)
	manifests := map[string]string{"multi.ism": "video_416x234_200k.mp4", "hd.ism": "video_854x480_700k.mp4"}
	for name, video := range manifests {
		ism := fmt.Sprintf(`<smil><body><switch><video src=%q/><audio src="audio_eng_96k.mp4"/></switch></body></smil>`, video)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(ism), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkNamedInvalid requires an error wrapping ErrInvalidMedia whose
// message contains every one of parts.
func checkNamedInvalid(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrInvalidMedia) {
		t.Fatalf("got %v, want ErrInvalidMedia", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
