package packager

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles are the real files the corruption tests and FuzzIndex start
// from.
func seedFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths := []string{
		filepath.Join(sampleDir, "audio_eng_96k.mp4"),
		filepath.Join(sampleDir, "video_416x234_200k.mp4"),
		mp4ffTestdata(t, "bbb5s_aac_sidx.mp4"),
		mp4ffTestdata(t, "ed_hevc.mp4"),
		mp4ffTestdata(t, "v300_multiple_segments.mp4"),
		mp4ffTestdata(t, "init_prog.mp4"),
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestIndexTruncated(t *testing.T) {
	for name, data := range seedFiles(t) {
		if name == "init_prog.mp4" {
			continue // has no samples at all
		}
		t.Run(name, func(t *testing.T) {
			step := max(len(data)/300, 1)
			for cut := 0; cut < len(data); cut += step {
				_, err := IndexFile(newMemFile(data[:cut]), name)
				if !errors.Is(err, ErrInvalidMedia) {
					t.Fatalf("cut at %d of %d: got %v, want ErrInvalidMedia", cut, len(data), err)
				}
				if !strings.Contains(err.Error(), name) {
					t.Fatalf("cut at %d: error %q does not name the file", cut, err)
				}
			}
		})
	}
}

// TestIndexCorruptBoxSizes overwrites the size field of every box header
// in the moov with values past its container, zero and tiny values.
func TestIndexCorruptBoxSizes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "video_416x234_200k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := topLevelBoxes(newMemFile(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for _, h := range top {
		offsets = append(offsets, h.Start)
		if h.Type == "moov" {
			var walk func(payload []byte, base int64)
			walk = func(payload []byte, base int64) {
				kids, _ := children(payload, base)
				for _, k := range kids {
					offsets = append(offsets, k.Start)
					if strings.Contains("trak mdia minf stbl edts", k.Type) {
						walk(k.Data, k.Start+8)
					}
				}
			}
			walk(data[h.Start+8:h.end()], h.Start+8)
		}
	}

	for _, off := range offsets {
		for _, size := range []uint32{1 << 31, uint32(len(data)) + 1, 3, 7} {
			b := append([]byte{}, data...)
			binary.BigEndian.PutUint32(b[off:], size)
			_, err := IndexFile(newMemFile(b), "corrupt.mp4")
			if err == nil {
				continue // a free box or a size the parent absorbs can stay valid
			}
			if !errors.Is(err, ErrInvalidMedia) || !strings.Contains(err.Error(), "corrupt.mp4") {
				t.Fatalf("size %d at offset %d: got %v, want ErrInvalidMedia naming the file", size, off, err)
			}
		}
	}
}

func TestIndexAbsurdCounts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "audio_eng_96k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"stsz", "stts", "stsc", "stco", "ctts", "elst"} {
		t.Run(typ, func(t *testing.T) {
			i := strings.Index(string(data), typ)
			if i < 0 {
				t.Skipf("no %s box", typ)
			}
			b := append([]byte{}, data...)
			countAt := i + 4 + 4 // after the type and the version and flags
			if typ == "stsz" {
				countAt += 4 // after the uniform sample size
			}
			binary.BigEndian.PutUint32(b[countAt:], 0xffffffff)
			_, err := IndexFile(newMemFile(b), "counts.mp4")
			if !errors.Is(err, ErrInvalidMedia) {
				t.Fatalf("got %v, want ErrInvalidMedia", err)
			}
		})
	}
}

func FuzzIndex(f *testing.F) {
	for _, data := range seedFiles(f) {
		// Seed with the front of each file, where the boxes are; whole
		// files make every fuzz iteration slow.
		f.Add(data[:min(len(data), 64<<10)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := IndexFile(newMemFile(data), "fuzz.mp4")
		if err != nil {
			if !errors.Is(err, ErrInvalidMedia) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("got %v, want ErrInvalidMedia or ErrUnsupported", err)
			}
			return
		}
		for _, tr := range idx.Tracks {
			for _, s := range tr.Samples {
				if s.Time < 0 || s.Offset+int64(s.Size) > int64(len(data)) {
					t.Fatalf("track %d: sample %+v outside the file or before time 0", tr.TrackID, s)
				}
			}
		}
	})
}
