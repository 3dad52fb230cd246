package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/packager"
)

const (
	sampleDir   = "../testdata/media/sample"
	sampleAsset = "sample"
	// segmentTarget is the segment duration the measurements plan for; the
	// sample media has a 2 s GOP.
	segmentTarget = 4 * time.Second
)

// storeOpener gives a Store the packager's Opener shape for one asset,
// as the origin does.
type storeOpener struct {
	store Store
	asset string
}

type objectFile struct{ Object }

func (f objectFile) Size() int64 { return f.Info().Size }

func (o storeOpener) Open(ctx context.Context, name string) (packager.File, packager.FileInfo, error) {
	obj, err := o.store.Open(ctx, o.asset, name)
	if err != nil {
		return nil, packager.FileInfo{}, err
	}
	return objectFile{obj}, toFileInfo(obj.Info()), nil
}

func (o storeOpener) List(ctx context.Context) ([]packager.FileInfo, error) {
	infos, err := o.store.List(ctx, o.asset)
	if err != nil {
		return nil, err
	}
	out := make([]packager.FileInfo, len(infos))
	for i, info := range infos {
		out[i] = toFileInfo(info)
	}
	return out, nil
}

func toFileInfo(info ObjectInfo) packager.FileInfo {
	return packager.FileInfo{Name: info.Name, Size: info.Size, ModTime: info.ModTime, ETag: info.ETag}
}

// uploadSample writes the sample media to asset "sample" of the store's
// bucket, bypassing the store's counters.
func uploadSample(t testing.TB, s *Blob) {
	t.Helper()
	entries, err := os.ReadDir(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(sampleDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		putBlob(t, s, sampleAsset+"/"+e.Name(), data)
	}
}

func putBlob(t testing.TB, s *Blob, key string, data []byte) {
	t.Helper()
	if err := s.bucket.WriteAll(context.Background(), s.prefix+key, data, nil); err != nil {
		t.Fatalf("uploading %s: %v", key, err)
	}
}

// checkBlobStore runs the checks every blob backend must pass against a
// store whose bucket holds the sample asset.
func checkBlobStore(t *testing.T, newStore func(t *testing.T) *Blob) {
	t.Run("list matches local", func(t *testing.T) { checkList(t, newStore(t)) })
	t.Run("index matches local", func(t *testing.T) { checkIndexes(t, newStore(t)) })
	t.Run("segments match local", func(t *testing.T) { checkSegments(t, newStore) })
	t.Run("errors", func(t *testing.T) { checkErrors(t, newStore(t)) })
}

func checkList(t *testing.T, s *Blob) {
	ctx := context.Background()
	local, err := NewLocal(filepath.Dir(sampleDir))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	want, err := local.List(ctx, sampleAsset)
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.List(ctx, sampleAsset)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("List returned %d files, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Size != want[i].Size {
			t.Errorf("file %d = %s (%d bytes), want %s (%d bytes)", i, got[i].Name, got[i].Size, want[i].Name, want[i].Size)
		}
		if got[i].ETag == "" {
			t.Errorf("file %s has no ETag", got[i].Name)
		}

		obj, err := s.Open(ctx, sampleAsset, got[i].Name)
		if err != nil {
			t.Fatalf("Open %s: %v", got[i].Name, err)
		}
		if info := obj.Info(); !sameETag(info.ETag, got[i].ETag) || info.Size != got[i].Size {
			t.Errorf("Open %s: info %+v, List said %+v", got[i].Name, info, got[i])
		}
	}
}

func checkIndexes(t *testing.T, s *Blob) {
	ctx := context.Background()
	for _, name := range sampleMP4s(t) {
		path := filepath.Join(sampleDir, name)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		want, err := packager.IndexFile(localFile{f, st.Size()}, name)
		f.Close()
		if err != nil {
			t.Fatalf("indexing local %s: %v", name, err)
		}

		obj, err := s.Open(ctx, sampleAsset, name)
		if err != nil {
			t.Fatalf("Open %s: %v", name, err)
		}
		before := s.Stats()
		got, err := packager.IndexFile(objectFile{obj}, name)
		if err != nil {
			t.Fatalf("indexing %s from the store: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("index of %s from the store differs from the local index", name)
		}
		after := s.Stats()
		t.Logf("indexing %s (%d bytes): %d requests, %d bytes read, %d cache hits", name, st.Size(), after.Requests-before.Requests, after.BytesRead-before.BytesRead, after.CacheHits-before.CacheHits)
		if after.BytesRead-before.BytesRead >= uint64(st.Size()) && st.Size() > s.blockSize {
			t.Errorf("indexing %s read %d bytes, the whole file", name, after.BytesRead-before.BytesRead)
		}
	}
}

type localFile struct {
	*os.File
	size int64
}

func (f localFile) Size() int64 { return f.size }

func sampleMP4s(t *testing.T) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(sampleDir, "*.mp4"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no sample MP4 files in %s: %v", sampleDir, err)
	}
	for i := range matches {
		matches[i] = filepath.Base(matches[i])
	}
	return matches
}

// passStats are the store's costs for serving every segment once.
type passStats struct {
	segments  int
	requests  uint64
	bytesRead uint64
	served    uint64
}

func (p passStats) requestsPerSegment() float64 { return float64(p.requests) / float64(p.segments) }
func (p passStats) readRatio() float64          { return float64(p.bytesRead) / float64(p.served) }

// checkSegments loads the presentation through a store as the origin
// does, then reads every segment of every track three times and compares
// the bytes with the local files: through the same store, whose cache
// holds the blocks indexing read; through a new store with an empty
// cache; and through that store again, with a warm cache.
func checkSegments(t *testing.T, newStore func(t *testing.T) *Blob) {
	ctx := context.Background()
	s := newStore(t)
	loader := packager.NewLoader(64 << 20)
	pres, err := loader.Load(ctx, sampleAsset, storeOpener{s, sampleAsset})
	if err != nil {
		t.Fatalf("loading the presentation: %v", err)
	}
	plan, err := pres.Plan(segmentTarget)
	if err != nil {
		t.Fatal(err)
	}
	loaded := s.Stats()
	t.Logf("loading the presentation: %d requests, %d bytes read", loaded.Requests, loaded.BytesRead)

	local := map[string][]byte{}
	for _, tr := range pres.Tracks {
		if local[tr.File] == nil {
			data, err := os.ReadFile(filepath.Join(sampleDir, tr.File))
			if err != nil {
				t.Fatal(err)
			}
			local[tr.File] = data
		}
	}

	pass := func(name string, s *Blob) passStats {
		before := s.Stats()
		var p passStats
		var buf []byte
		for ti, tr := range pres.Tracks {
			for i, r := range plan.Ranges[ti] {
				obj, err := s.Open(ctx, sampleAsset, tr.File)
				if err != nil {
					t.Fatalf("%s pass: opening %s: %v", name, tr.File, err)
				}
				buf, err = packager.ReadSamples(obj, tr, r, buf[:0])
				if err != nil {
					t.Fatalf("%s pass: segment %d of %s: %v", name, i, tr.Name, err)
				}
				var want []byte
				for _, smp := range tr.Samples[r.Start:r.End] {
					want = append(want, local[tr.File][smp.Offset:smp.Offset+int64(smp.Size)]...)
				}
				if !bytes.Equal(buf, want) {
					t.Fatalf("%s pass: segment %d of %s: %d bytes differ from the local file's %d", name, i, tr.Name, len(buf), len(want))
				}
				p.segments++
				p.served += uint64(len(buf))
			}
		}
		after := s.Stats()
		p.requests = after.Requests - before.Requests
		p.bytesRead = after.BytesRead - before.BytesRead
		t.Logf("%s pass: %d track segments, %.2f requests per segment, %d bytes read for %d served (ratio %.3f), cache %d hits %d misses",
			name, p.segments, p.requestsPerSegment(), p.bytesRead, p.served, p.readRatio(), after.CacheHits-before.CacheHits, after.CacheMisses-before.CacheMisses)
		return p
	}

	fresh := newStore(t)
	for _, p := range []struct {
		name string
		got  passStats
	}{
		{"after indexing", pass("after indexing", s)},
		{"cold", pass("cold", fresh)},
		{"warm", pass("warm", fresh)},
	} {
		if ratio := p.got.readRatio(); ratio > 1.05 {
			t.Errorf("%s pass read %.3f bytes per byte served, want at most 1.05", p.name, ratio)
		}
		// One HEAD to open and at most one GET per byte-adjacent run.
		if rps := p.got.requestsPerSegment(); rps > 2 {
			t.Errorf("%s pass made %.2f requests per segment, want at most 2", p.name, rps)
		}
	}
}

func checkErrors(t *testing.T, s *Blob) {
	ctx := context.Background()
	tests := []struct {
		name        string
		asset, file string
		want        error
	}{
		{"missing file", sampleAsset, "missing.mp4", ErrNotFound},
		{"missing asset", "missing", "video.mp4", ErrNotFound},
		{"traversal", "..", "video.mp4", ErrInvalidName},
		{"hidden file", sampleAsset, ".hidden", ErrInvalidName},
		{"separator", sampleAsset, "a/b.mp4", ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(ctx, tt.asset, tt.file)
			if !errors.Is(err, tt.want) {
				t.Errorf("Open(%q, %q) error = %v, want %v", tt.asset, tt.file, err, tt.want)
			}
		})
	}

	if _, err := s.List(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("List of a missing asset: error = %v, want ErrNotFound", err)
	}

	obj, err := s.Open(ctx, sampleAsset, "sample.ism")
	if err != nil {
		t.Fatal(err)
	}
	size := obj.Info().Size
	buf := make([]byte, 100)
	n, err := obj.ReadAt(buf, size-10)
	if n != 10 || err != io.EOF {
		t.Errorf("ReadAt across the end = %d, %v, want 10, io.EOF", n, err)
	}
	if n, err := obj.ReadAt(buf, size); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v, want 0, io.EOF", n, err)
	}
	if _, err := obj.ReadAt(buf, -1); err == nil || strings.Contains(err.Error(), "EOF") {
		t.Errorf("ReadAt at a negative offset: error = %v, want a negative offset error", err)
	}
}
