package packager

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// cacheTestFiles returns progressive and fragmented test files by case
// name.
func cacheTestFiles(t *testing.T) []struct{ name, path string } {
	t.Helper()
	return []struct{ name, path string }{
		{"sample video", filepath.Join(sampleDir, "video_854x480_700k.mp4")},
		{"sample audio with edit list", filepath.Join(sampleDir, "audio_eng_96k.mp4")},
		{"progressive video and audio", mp4ffTestdata(t, "bbb_prog_10s.mp4")},
		{"fragmented audio", mp4ffTestdata(t, "bbb5s_aac_sidx.mp4")},
	}
}

// retainedIndexBytes returns the heap memory that one index of data
// keeps alive, measured over n indexes held at once.
func retainedIndexBytes(t *testing.T, data []byte, name string) (int64, *FileIndex) {
	t.Helper()
	const n = 128
	keep := make([]*FileIndex, 0, n)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := int64(ms.HeapAlloc)
	for range n {
		idx, err := IndexFile(newMemFile(data), name)
		if err != nil {
			t.Fatalf("indexing %s: %v", name, err)
		}
		keep = append(keep, idx)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	after := int64(ms.HeapAlloc)

	// Without these, the collection above could free data, which the
	// measurement must not count, or the indexes, which it must.
	runtime.KeepAlive(data)
	runtime.KeepAlive(keep)
	return (after - before) / n, keep[0]
}

// TestIndexEstimateMatchesHeap checks that the index cache's size
// estimate covers the heap an index keeps alive, so that the cache stays
// within its bound (index_cache_mib). An estimate that leaves out a
// buffer the index still references lets the cache grow past it.
func TestIndexEstimateMatchesHeap(t *testing.T) {
	for _, tc := range cacheTestFiles(t) {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			retainedIndexBytes(t, data, filepath.Base(tc.path)) // warms up the runtime's caches
			measured, idx := retainedIndexBytes(t, data, filepath.Base(tc.path))
			estimate := estimateIndexBytes(idx)

			// The GC's own bookkeeping varies by a few bytes per object.
			if float64(estimate) < 0.97*float64(measured) {
				t.Errorf("estimate %d bytes is below the measured %d bytes", estimate, measured)
			}
			if float64(estimate) > 1.25*float64(measured) {
				t.Errorf("estimate %d bytes is more than 1.25 times the measured %d bytes", estimate, measured)
			}
		})
	}
}

// TestIndexCodecConfigDetached checks that the codec configuration of an
// index is a copy with no spare capacity, not a window into the moov box
// that would keep the whole box alive.
func TestIndexCodecConfigDetached(t *testing.T) {
	for _, tc := range cacheTestFiles(t) {
		t.Run(tc.name, func(t *testing.T) {
			idx := indexPath(t, tc.path)
			for _, tr := range idx.Tracks {
				fields := map[string][]byte{
					"SampleEntry":         tr.SampleEntry,
					"DecoderConfig":       tr.DecoderConfig,
					"AudioSpecificConfig": tr.AudioSpecificConfig,
				}
				for i, ps := range tr.ParameterSets {
					fields[fmt.Sprintf("ParameterSets[%d]", i)] = ps
				}
				for field, b := range fields {
					if cap(b) != len(b) {
						t.Errorf("track %d %s has length %d and capacity %d, want equal", tr.TrackID, field, len(b), cap(b))
					}
				}
				if len(tr.SampleEntry) == 0 {
					t.Errorf("track %d has an empty SampleEntry", tr.TrackID)
				}
			}
		})
	}
}

func TestClipSamples(t *testing.T) {
	tests := []struct {
		name          string
		length, spare int
		wantCap       int
	}{
		{"no spare capacity", 64, 0, 64},
		{"small spare kept", 64, 4, 68},
		{"large spare cut", 64, 16, 64},
		{"empty", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Track{Samples: make([]Sample, tc.length, tc.length+tc.spare)}
			for i := range tr.Samples {
				tr.Samples[i].Offset = int64(i)
			}
			clipSamples(tr)
			if got := cap(tr.Samples); got != tc.wantCap {
				t.Errorf("capacity %d, want %d", got, tc.wantCap)
			}
			if got := len(tr.Samples); got != tc.length {
				t.Fatalf("length %d, want %d", got, tc.length)
			}
			for i, s := range tr.Samples {
				if s.Offset != int64(i) {
					t.Fatalf("sample %d has offset %d after clipping, want %d", i, s.Offset, i)
				}
			}
		})
	}
}

func TestAllocBytes(t *testing.T) {
	tests := []struct {
		n, want int64
	}{
		{0, 0},
		{1, 16},
		{288, 320},
		{9216, 10240},
		{32 << 10, 32 << 10},
		{32<<10 + 1, 40 << 10},
		{1 << 20, 1 << 20},
	}
	for _, tc := range tests {
		if got := allocBytes(tc.n); got != tc.want {
			t.Errorf("allocBytes(%d) = %d, want %d", tc.n, got, tc.want)
		}
		if got := allocBytes(tc.n); got < tc.n {
			t.Errorf("allocBytes(%d) = %d, below the request", tc.n, got)
		}
	}
}
