package ts

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lockstream/lockstream/packager"
)

// The profile cache must not keep a Track alive: once the Track is
// collected, its entry goes away.
func TestProfileCacheReleasesTrack(t *testing.T) {
	countProfiles := func() int {
		n := 0
		profiles.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	before := countProfiles()

	track, file := loadTrack(t, filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio)
	samples := track.Samples[:10]
	if _, err := Segment(nil, track, samples, sampleData(file, samples)); err != nil {
		t.Fatal(err)
	}
	if got := countProfiles(); got != before+1 {
		t.Fatalf("%d cached profiles after one track, want %d", got, before+1)
	}

	track = nil
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		if countProfiles() == before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d cached profiles after the track was dropped, want %d", countProfiles(), before)
}
