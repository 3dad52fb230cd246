package smooth

import (
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

// TestIndexForConcurrentLoadsAndCollections builds presentations and
// indexes them from many goroutines while the collector runs, as the
// origin does when the loader evicts presentations under load. Callers
// of one plan must share one Index that returns correct lookups, and every memo
// entry must go once the presentations are unreachable.
func TestIndexForConcurrentLoadsAndCollections(t *testing.T) {
	const rounds, callers = 40, 8
	var (
		mu    sync.Mutex
		weaks []weak.Pointer[packager.Presentation]
	)
	stop := make(chan struct{})
	collector := make(chan struct{})
	go func() {
		defer close(collector)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()

	for round := range rounds {
		p, _ := fixture.Build(fixture.Options{})
		plan, err := p.Plan(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		bitrate := p.Tracks[0].Bitrate
		got := make([]*Index, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				x, err := IndexFor(p, plan)
				if err != nil {
					t.Errorf("round %d: IndexFor: %v", round, err)
					return
				}
				if _, segment, err := x.Lookup("video", bitrate, 0); err != nil || segment != 0 {
					t.Errorf("round %d: Lookup at 0: segment %d, error %v; want segment 0", round, segment, err)
				}
				got[i] = x
			})
		}
		wg.Wait()
		for i := range got {
			if got[i] != got[0] {
				t.Errorf("round %d: caller %d got another Index for the same plan", round, i)
			}
		}
		mu.Lock()
		weaks = append(weaks, weak.Make(p))
		mu.Unlock()
	}
	close(stop)
	<-collector

	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		left := 0
		for _, w := range weaks {
			left += countIndexes(w)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d memo entries left 5 s after %d presentations became unreachable, want 0", left, rounds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
