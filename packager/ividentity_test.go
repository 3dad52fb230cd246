package packager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sourceSample names one sample of one version of a source file.
type sourceSample struct {
	file     string
	identity uint32
	trackID  uint32
	index    int
}

// TestPresentationsOfOneAssetNeverShareIVs guards the IV rule that no
// (key, counter block) pair encrypts two different plaintexts, across the
// presentations of one asset, which share a locator's key: multi.ism
// (200k video) and hd.ism (700k video) both have their video as track 0.
//
// CENC: a counter block is the sample's 8-byte IV and a 64-bit block
// counter from 0, so distinct IVs for distinct samples mean distinct
// counter blocks. HLS CBC: an IV must name one plaintext, which is fixed
// by the container, track, sample range and segment number.
func TestPresentationsOfOneAssetNeverShareIVs(t *testing.T) {
	dir := twoManifestAsset(t)
	l := NewLoader(64 << 20)
	var presentations []*Presentation
	for _, name := range []string{"multi", "hd", "sample"} {
		p, err := l.LoadNamed(context.Background(), "asset", name, newDirOpener(dir))
		if err != nil {
			t.Fatal(err)
		}
		presentations = append(presentations, p)
	}
	multi, hd := presentations[0].Tracks[0], presentations[1].Tracks[0]
	if multi.Index != hd.Index {
		t.Fatalf("test setup: video tracks have indexes %d and %d, want the same", multi.Index, hd.Index)
	}
	if a, b := SampleIV(multi.IVIdentity, 0), SampleIV(hd.IVIdentity, 0); a == b {
		t.Fatalf("%s and %s encrypt their first sample with the same IV %x", multi.File, hd.File, a)
	}

	cenc := map[[8]byte]sourceSample{}
	cbc := map[[16]byte]string{}
	for _, p := range presentations {
		for _, tr := range p.Tracks {
			for i := range tr.Samples {
				src := sourceSample{tr.File, tr.IVIdentity, tr.TrackID, i}
				iv := SampleIV(tr.IVIdentity, i)
				if prev, ok := cenc[iv]; ok && prev != src {
					t.Fatalf("CENC IV %x is used by %+v and %+v", iv, prev, src)
				}
				cenc[iv] = src
			}
		}
		checkSegmentIVs(t, p, cbc)
	}
}

// checkSegmentIVs adds the HLS IVs of every segment of p, at two targets
// and in both containers, to seen, and fails when one IV names two
// different plaintexts.
func checkSegmentIVs(t *testing.T, p *Presentation, seen map[[16]byte]string) {
	t.Helper()
	for _, target := range []time.Duration{2 * time.Second, 6 * time.Second} {
		plan, err := p.Plan(target)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []Container{ContainerTS, ContainerFMP4} {
			for _, tr := range p.Tracks {
				for i, r := range plan.Ranges[tr.Index] {
					iv := SegmentIV(c, tr, r, i)
					plaintext := fmtPlaintext(c, tr, r, i)
					if prev, ok := seen[iv]; ok && prev != plaintext {
						t.Fatalf("CBC IV %x is used by %s and %s", iv, prev, plaintext)
					}
					seen[iv] = plaintext
				}
			}
		}
	}
}

func fmtPlaintext(c Container, t *Track, r SampleRange, segment int) string {
	return fmt.Sprintf("container %d, %s track %d (identity %08x), samples [%d, %d), segment %d",
		c, t.File, t.TrackID, t.IVIdentity, r.Start, r.End, segment)
}

// TestIVIdentityFollowsFileVersion guards the rule that a new version of a
// file, whose samples may differ, gets new IVs, while the other files
// keep theirs.
func TestIVIdentityFollowsFileVersion(t *testing.T) {
	dir := copyAsset(t)
	ctx := context.Background()
	l := NewLoader(64 << 20)
	before, err := l.Load(ctx, "sample", newDirOpener(dir))
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "audio_eng_96k.mp4"), later, later); err != nil {
		t.Fatal(err)
	}
	after, err := l.Load(ctx, "sample", newDirOpener(dir))
	if err != nil {
		t.Fatal(err)
	}

	for i, b := range before.Tracks {
		a := after.Tracks[i]
		changed := b.IVIdentity != a.IVIdentity
		if want := b.File == "audio_eng_96k.mp4"; changed != want {
			t.Errorf("track %q of %s: IV identity %08x -> %08x, changed = %v, want %v", b.Name, b.File, b.IVIdentity, a.IVIdentity, changed, want)
		}
		if changed && SampleIV(b.IVIdentity, 0) == SampleIV(a.IVIdentity, 0) {
			t.Errorf("track %q: first sample IV unchanged after the file changed", b.Name)
		}
	}
}

// TestLoaderRejectsSharedIVIdentity guards the loader's check that no two
// tracks of an asset share an IV identity. It searches modification times
// that make two files' identities collide, which takes about 2^17 hashes
// per file.
func TestLoaderRejectsSharedIVIdentity(t *testing.T) {
	a := progressiveAudioMP4(t, audioSpec{timescale: 48000, count: 10, size: 8, dur: 1024})
	b := progressiveAudioMP4(t, audioSpec{timescale: 48000, count: 12, size: 8, dur: 1024})
	dir := writeAsset(t, map[string][]byte{"a.mp4": a, "b.mp4": b,
		"a.ism": []byte(`<smil><body><switch><audio src="a.mp4"/></switch></body></smil>`)})

	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	mtimeA, mtimeB, ok := collidingModTimes("asset", FileInfo{Name: "a.mp4", Size: int64(len(a))}, FileInfo{Name: "b.mp4", Size: int64(len(b))}, base)
	if !ok {
		t.Fatal("found no colliding modification times; widen the search")
	}
	setModTime(t, filepath.Join(dir, "a.mp4"), mtimeA)
	setModTime(t, filepath.Join(dir, "b.mp4"), mtimeB)

	for _, name := range []string{"a", ""} {
		_, err := NewLoader(64<<20).LoadNamed(context.Background(), "asset", name, newDirOpener(dir))
		checkNamedInvalid(t, err, "a.mp4", "b.mp4", "same IV identity")
	}
}

// collidingModTimes returns modification times at which track 1 of a and
// track 1 of b get the same IV identity.
func collidingModTimes(asset string, a, b FileInfo, base int64) (time.Time, time.Time, bool) {
	const tries = 1 << 18
	ids := make(map[uint32]int64, tries)
	for k := range int64(tries) {
		a.ModTime = time.Unix(0, base+k)
		ids[ivIdentity(asset, a, 1)] = base + k
	}
	for k := range int64(tries) {
		b.ModTime = time.Unix(0, base+k)
		if at, ok := ids[ivIdentity(asset, b, 1)]; ok {
			return time.Unix(0, at), b.ModTime, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// setModTime sets a file's modification time, skipping the test on a
// file system that does not keep nanoseconds.
func setModTime(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(mtime) {
		t.Skipf("the file system stores modification time %v for %v", st.ModTime(), mtime)
	}
}

// TestSegmentIVNamesEveryInput guards the CBC IV layout: each input that
// determines a segment's plaintext changes the IV on its own.
func TestSegmentIVNamesEveryInput(t *testing.T) {
	track := &Track{IVIdentity: 0x01020304}
	other := &Track{IVIdentity: 0x01020305}
	r := SampleRange{Start: 48, End: 96}
	base := SegmentIV(ContainerFMP4, track, r, 1)
	if want := [16]byte{2, 1, 2, 3, 4, 0, 0, 0, 48, 0, 0, 0, 96, 0, 0, 1}; base != want {
		t.Errorf("got IV %x, want %x", base, want)
	}

	tests := map[string][16]byte{
		"container":   SegmentIV(ContainerTS, track, r, 1),
		"track":       SegmentIV(ContainerFMP4, other, r, 1),
		"first":       SegmentIV(ContainerFMP4, track, SampleRange{Start: 0, End: 96}, 1),
		"end":         SegmentIV(ContainerFMP4, track, SampleRange{Start: 48, End: 144}, 1),
		"segment":     SegmentIV(ContainerFMP4, track, r, 2),
		"max segment": SegmentIV(ContainerFMP4, track, r, MaxSegmentIndex),
	}
	for name, iv := range tests {
		if iv == base {
			t.Errorf("changing the %s leaves the IV %x unchanged", name, iv)
		}
	}
}

func TestSampleIVLayout(t *testing.T) {
	got := SampleIV(0xa1b2c3d4, 1<<32-1)
	if want := [8]byte{0xa1, 0xb2, 0xc3, 0xd4, 0xff, 0xff, 0xff, 0xff}; got != want {
		t.Errorf("got IV %x, want %x", got, want)
	}
}
