package smooth

import (
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

func TestIndexForMatchesManifest(t *testing.T) {
	p, plan, m, _ := build(t, fixture.Options{StartTicks: 1024, AudioLangs: []string{"eng", "fra"}}, false)
	x, err := IndexFor(p, plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, si := range m.Media().Streams {
		for _, l := range si.Levels {
			var at int64
			for _, c := range si.Chunk {
				if c.T != nil {
					at = *c.T
				}
				wantTrack, wantSegment, wantErr := m.Lookup(si.Name, l.Bitrate, at)
				track, segment, err := x.Lookup(si.Name, l.Bitrate, at)
				if track != wantTrack || segment != wantSegment || (err == nil) != (wantErr == nil) {
					t.Errorf("%s: got track %d segment %d error %v, want track %d segment %d error %v",
						fragmentURL(si.Name, l.Bitrate, at), track, segment, err, wantTrack, wantSegment, wantErr)
				}
				at += c.D
			}
		}
	}
	if _, _, err := x.Lookup("video", 1, 0); !errors.Is(err, packager.ErrNotFound) {
		t.Errorf("Lookup of an unknown bitrate: error %v, want packager.ErrNotFound", err)
	}
}

func TestIndexForMemoizesPerPlan(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	first, err := IndexFor(p, plan)
	if err != nil {
		t.Fatal(err)
	}
	again, err := IndexFor(p, plan)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("second call returned another Index for the same plan")
	}

	_, other := fixture.Build(fixture.Options{Boundaries: []int{0, 6, 13}})
	otherIndex, err := IndexFor(p, other)
	if err != nil {
		t.Fatal(err)
	}
	if otherIndex == first {
		t.Errorf("another plan got the first plan's Index")
	}
	if _, segment, err := otherIndex.Lookup("video", p.Tracks[0].Bitrate, 6*TimeScale); err != nil || segment != 1 {
		t.Errorf("Lookup at 6 s under the second plan: segment %d, error %v; want segment 1", segment, err)
	}
}

func TestIndexForRejectsMissingPlan(t *testing.T) {
	p, _ := fixture.Build(fixture.Options{})
	if _, err := IndexFor(p, nil); !errors.Is(err, packager.ErrNotFound) {
		t.Errorf("error %v, want packager.ErrNotFound", err)
	}
}

// memoizedIndex builds a presentation and its plan as the origin does,
// through Presentation.Plan, whose memo keeps the plan as long as the
// presentation. It indexes them and returns only weak pointers, so
// nothing in the test keeps them alive.
func memoizedIndex(t *testing.T) (weak.Pointer[packager.Presentation], weak.Pointer[packager.SegmentPlan]) {
	t.Helper()
	p, _ := fixture.Build(fixture.Options{})
	plan, err := p.Plan(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := IndexFor(p, plan); err != nil {
		t.Fatal(err)
	}
	return weak.Make(p), weak.Make(plan)
}

func countIndexes(pres weak.Pointer[packager.Presentation]) int {
	n := 0
	indexes.Range(func(k, _ any) bool {
		if k.(indexKey).pres == pres {
			n++
		}
		return true
	})
	return n
}

// TestIndexForReleasesPresentation checks that the memo neither keeps a
// presentation alive nor keeps its entry once the plan is gone.
func TestIndexForReleasesPresentation(t *testing.T) {
	pres, plan := memoizedIndex(t)
	if got := countIndexes(pres); got != 1 {
		t.Fatalf("%d memo entries for the presentation, want 1", got)
	}

	// Cleanups run on their own goroutine after a collection: poll for
	// at most 2 s.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		if pres.Value() == nil && plan.Value() == nil && countIndexes(pres) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("after 2 s: presentation collected %v, plan collected %v, %d memo entries left; want both collected and none left",
		pres.Value() == nil, plan.Value() == nil, countIndexes(pres))
}
