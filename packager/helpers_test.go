package packager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// dirOpener opens the files of one folder: the asset layout of the local
// store.
type dirOpener struct {
	dir string

	mu    sync.Mutex
	opens map[string]int
}

type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

func newDirOpener(dir string) *dirOpener { return &dirOpener{dir: dir, opens: map[string]int{}} }

func (o *dirOpener) Open(_ context.Context, name string) (File, FileInfo, error) {
	if !isPlainFileName(name) {
		return nil, FileInfo{}, fmt.Errorf("invalid name %q", name)
	}
	f, err := os.Open(filepath.Join(o.dir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, FileInfo{}, fmt.Errorf("opening %q: %w", name, ErrNotFound)
		}
		return nil, FileInfo{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, FileInfo{}, err
	}
	o.mu.Lock()
	o.opens[name]++
	o.mu.Unlock()
	return osFile{f, st.Size()}, FileInfo{Name: name, Size: st.Size(), ModTime: st.ModTime()}, nil
}

func (o *dirOpener) List(context.Context) ([]FileInfo, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, e := range entries {
		st, err := e.Info()
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		out = append(out, FileInfo{Name: e.Name(), Size: st.Size(), ModTime: st.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (o *dirOpener) openCount(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opens[name]
}

// memFile is an in-memory File.
type memFile struct{ *bytes.Reader }

func (f memFile) Size() int64 { return f.Reader.Size() }

func newMemFile(b []byte) memFile { return memFile{bytes.NewReader(b)} }

const sampleDir = "../testdata/media/sample"

// mp4ffTestdata returns the path of a file in mp4ff's testdata folder in
// the module cache.
func mp4ffTestdata(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("locating the module cache: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "github.com", "!eyevinn", "mp4ff@v0.56.0", "mp4", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("mp4ff test file %s: %v", name, err)
	}
	return p
}

// requireFFmpeg skips the test when ffmpeg is missing, unless CI=true.
func requireFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ffmpeg is required in CI: %v", err)
		}
		t.Skip("ffmpeg not found; skipping a test that encodes media")
	}
}

// ffmpeg runs ffmpeg with the given arguments.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	requireFFmpeg(t)
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// indexPath indexes a file from disk.
func indexPath(t testing.TB, path string) *FileIndex {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := IndexFile(newMemFile(data), filepath.Base(path))
	if err != nil {
		t.Fatalf("indexing %s: %v", path, err)
	}
	return idx
}

// encodeTestVideo encodes a short H.264 clip with B-frames and a fixed
// GOP, and returns the ffmpeg input arguments for it.
func testSourceArgs(seconds int) []string {
	d := fmt.Sprint(seconds)
	return []string{
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=" + d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=" + d,
	}
}

var x264Args = []string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"}
