package packager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// copyAsset copies the sample asset into a temporary folder, without the
// files skip names.
func copyAsset(t *testing.T, skip ...string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
outer:
	for _, e := range entries {
		for _, s := range skip {
			if e.Name() == s {
				continue outer
			}
		}
		b, err := os.ReadFile(filepath.Join(sampleDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadSampleAsset(t *testing.T) {
	l := NewLoader(64 << 20)
	p, err := l.Load(context.Background(), "sample", newDirOpener(sampleDir))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "sample" || p.Asset != "sample" {
		t.Errorf("got name %q asset %q, want sample", p.Name, p.Asset)
	}
	want := []string{"video_200k", "video_400k", "video_700k", "audio_eng"}
	if len(p.Tracks) != len(want) {
		t.Fatalf("got %d tracks, want %d", len(p.Tracks), len(want))
	}
	for i, tr := range p.Tracks {
		if tr.Name != want[i] || tr.Index != i {
			t.Errorf("track %d: got name %q index %d, want %q", i, tr.Name, tr.Index, want[i])
		}
		if tr.MaxBitrate < tr.Bitrate {
			t.Errorf("track %q: max bitrate %d below average %d", tr.Name, tr.MaxBitrate, tr.Bitrate)
		}
	}
	if p.Tracks[3].Language != "eng" {
		t.Errorf("audio language %q, want eng from systemLanguage", p.Tracks[3].Language)
	}
	if p.Duration < 11900*time.Millisecond || p.Duration > 12100*time.Millisecond {
		t.Errorf("duration %v, want about 12 s", p.Duration)
	}

	plan, err := p.Plan(6 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, plan)
	if plan.SegmentCount() != 2 {
		t.Errorf("got %d segments at 6 s, want 2", plan.SegmentCount())
	}
}

func TestLoadSynthesized(t *testing.T) {
	dir := copyAsset(t, "sample.ism")
	p, err := NewLoader(64<<20).Load(context.Background(), "movie", newDirOpener(dir))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "movie" {
		t.Errorf("got name %q, want the asset name", p.Name)
	}
	want := []string{"video_198k", "video_399k", "video_697k", "audio_und_96k"}
	for i, tr := range p.Tracks {
		if i >= len(want) || tr.Name != want[i] {
			t.Errorf("track %d: got %q, want %q", i, tr.Name, want)
		}
	}
}

func TestLoadNamed(t *testing.T) {
	l := NewLoader(64 << 20)
	o := newDirOpener(sampleDir)
	ctx := context.Background()
	for _, name := range []string{"", "sample", "asset1"} {
		p, err := l.LoadNamed(ctx, "asset1", name, o)
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		if p.Name != "sample" {
			t.Errorf("name %q: got presentation %q, want the only manifest", name, p.Name)
		}
	}
	if _, err := l.LoadNamed(ctx, "asset1", "other", o); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown name: got %v, want ErrNotFound", err)
	}
}

func TestLoaderReindexesChangedFile(t *testing.T) {
	dir := copyAsset(t)
	o := newDirOpener(dir)
	l := NewLoader(64 << 20)
	ctx := context.Background()
	p1, err := l.Load(ctx, "sample", o)
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := l.Load(ctx, "sample", o); p2 != p1 {
		t.Error("unchanged asset: got a new presentation, want the cached one")
	}

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "audio_eng_96k.mp4"), later, later); err != nil {
		t.Fatal(err)
	}
	p3, err := l.Load(ctx, "sample", o)
	if err != nil {
		t.Fatal(err)
	}
	if p3 == p1 {
		t.Error("changed file: got the cached presentation")
	}
	if got := o.openCount("audio_eng_96k.mp4"); got != 2 {
		t.Errorf("audio file opened %d times, want 2 (indexed again)", got)
	}
	if got := o.openCount("video_416x234_200k.mp4"); got != 1 {
		t.Errorf("unchanged video opened %d times, want 1", got)
	}
}

func TestLoaderConcurrentParsesOnce(t *testing.T) {
	o := newDirOpener(sampleDir)
	l := NewLoader(64 << 20)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := l.Load(context.Background(), "sample", o); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, f := range []string{"audio_eng_96k.mp4", "video_854x480_700k.mp4"} {
		if got := o.openCount(f); got != 1 {
			t.Errorf("%s parsed %d times, want 1", f, got)
		}
	}
	if s := l.Stats(); s.IndexMisses != 4 || s.IndexEntries != 4 {
		t.Errorf("got stats %+v, want 4 misses and 4 entries", s)
	}
}

func TestLoaderEvictsPastBound(t *testing.T) {
	o := newDirOpener(sampleDir)
	// One video index of 288 samples takes about 10 KiB; 16 KiB holds one.
	l := NewLoader(16 << 10)
	if _, err := l.Load(context.Background(), "sample", o); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.IndexBytes > 16<<10 || s.IndexEntries >= 4 || s.IndexEntries == 0 {
		t.Errorf("got stats %+v, want fewer than 4 entries within 16 KiB", s)
	}
}

func BenchmarkIndexFile(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "video_854x480_700k.mp4"))
	if err != nil {
		b.Fatal(err)
	}
	f := newMemFile(data)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := IndexFile(f, "video.mp4"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTrackNamesFitURLs guards maxTrackName: the origin's URL parser
// accepts track names of at most 64 characters, so long .ism trackName
// values are cut, and names that become equal stay unique.
func TestTrackNamesFitURLs(t *testing.T) {
	long := strings.Repeat("v", 100)
	dir := copyAsset(t, "sample.ism")
	ism := `<smil><body><switch>
<video src="video_416x234_200k.mp4"><param name="trackName" value="` + long + `"/></video>
<video src="video_854x480_700k.mp4"><param name="trackName" value="` + long + `x"/></video>
<audio src="audio_eng_96k.mp4" systemLanguage="` + strings.Repeat("abcdefgh-", 3) + `abcdefgh"/>
</switch></body></smil>`
	if err := os.WriteFile(filepath.Join(dir, "long.ism"), []byte(ism), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := NewLoader(64<<20).Load(context.Background(), "long", newDirOpener(dir))
	if err != nil {
		t.Fatal(err)
	}

	want := []string{strings.Repeat("v", 64), strings.Repeat("v", 62) + "_2", "audio_abcdefgh-abcdefgh-abcdefgh-abcdefgh_96k"}
	for i, tr := range p.Tracks {
		if len(tr.Name) > maxTrackName {
			t.Errorf("track %d: name %q has %d characters, more than %d", i, tr.Name, len(tr.Name), maxTrackName)
		}
		if i < len(want) && tr.Name != want[i] {
			t.Errorf("track %d: got name %q, want %q", i, tr.Name, want[i])
		}
	}
}

func TestUniqueNameWithinLimit(t *testing.T) {
	used := map[string]bool{}
	base := strings.Repeat("a", maxTrackName)
	var got []string
	for range 12 {
		got = append(got, uniqueName(base, used))
	}
	for i, n := range got {
		if len(n) > maxTrackName {
			t.Errorf("name %d: %q has %d characters, more than %d", i, n, len(n), maxTrackName)
		}
	}
	if len(used) != len(got) {
		t.Errorf("got %d distinct names of %d: %q", len(used), len(got), got)
	}
	if want := strings.Repeat("a", maxTrackName-3) + "_12"; got[11] != want {
		t.Errorf("twelfth name %q, want %q", got[11], want)
	}
}
