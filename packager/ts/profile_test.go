package ts

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/lockstream/lockstream/packager"
)

// The profile cache must not keep a Track alive: once the Track is
// collected, its entry goes away. The test looks for its own track's
// entry, because tracks of other tests may be collected meanwhile.
func TestProfileCacheReleasesTrack(t *testing.T) {
	track, file := loadTrack(t, filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio)
	samples := track.Samples[:10]
	if _, err := Segment(nil, track, samples, sampleData(file, samples)); err != nil {
		t.Fatal(err)
	}
	key := weak.Make(track)
	if _, ok := profiles.Load(key); !ok {
		t.Fatal("no cached profile after a segment of the track")
	}

	track = nil
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		if _, ok := profiles.Load(key); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("profile still cached 5 s after the track was dropped")
}
