package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

const secret = "outside the media root"

// newTestRoot lays out a media root and a folder beside it that no lookup
// may reach:
//
//	outside/secret.mp4
//	media/a/f.mp4, media/a/g.mp4, media/a/sub/, media/a/.hidden
//	media/a/link-in.mp4         -> f.mp4              (relative, inside)
//	media/a/link-in-abs.mp4     -> /abs/media/a/f.mp4 (absolute, inside)
//	media/a/link-out.mp4        -> ../../outside/secret.mp4
//	media/a/link-out-abs.mp4    -> /abs/outside/secret.mp4
//	media/a/dangling.mp4        -> missing.mp4
//	media/a/loop.mp4            -> loop.mp4
//	media/shared                -> a                  (asset alias, inside)
//	media/escape                -> ../outside         (asset outside)
//	media/notdir                   a regular file where an asset is expected
//	media/%2e%2e/f.mp4             a literal name that looks encoded
func newTestRoot(t testing.TB) (mediaDir string) {
	t.Helper()
	base := t.TempDir()
	mediaDir = filepath.Join(base, "media")
	outside := filepath.Join(base, "outside")

	mustMkdir(t, outside)
	mustWrite(t, filepath.Join(outside, "secret.mp4"), secret)
	mustMkdir(t, filepath.Join(mediaDir, "a", "sub"))
	mustWrite(t, filepath.Join(mediaDir, "a", "f.mp4"), "file f")
	mustWrite(t, filepath.Join(mediaDir, "a", "g.mp4"), "file g, longer")
	mustWrite(t, filepath.Join(mediaDir, "a", ".hidden"), "hidden")
	mustWrite(t, filepath.Join(mediaDir, "notdir"), "not a folder")
	mustMkdir(t, filepath.Join(mediaDir, "%2e%2e"))
	mustWrite(t, filepath.Join(mediaDir, "%2e%2e", "f.mp4"), "literal")

	mustSymlink(t, "f.mp4", filepath.Join(mediaDir, "a", "link-in.mp4"))
	mustSymlink(t, filepath.Join(mediaDir, "a", "f.mp4"), filepath.Join(mediaDir, "a", "link-in-abs.mp4"))
	mustSymlink(t, "../../outside/secret.mp4", filepath.Join(mediaDir, "a", "link-out.mp4"))
	mustSymlink(t, filepath.Join(outside, "secret.mp4"), filepath.Join(mediaDir, "a", "link-out-abs.mp4"))
	mustSymlink(t, "missing.mp4", filepath.Join(mediaDir, "a", "dangling.mp4"))
	mustSymlink(t, "loop.mp4", filepath.Join(mediaDir, "a", "loop.mp4"))
	mustSymlink(t, "a", filepath.Join(mediaDir, "shared"))
	mustSymlink(t, "../outside", filepath.Join(mediaDir, "escape"))
	return mediaDir
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
}

func newTestLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(newTestRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func readAll(t *testing.T, o Object) string {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(o, 0, o.Info().Size))
	if err != nil {
		t.Fatalf("reading %q: %v", o.Info().Name, err)
	}
	return string(b)
}

func TestLocalOpen(t *testing.T) {
	l := newTestLocal(t)
	tests := []struct {
		asset, name string
		want        string // content on success
		wantErr     error
	}{
		{asset: "a", name: "f.mp4", want: "file f"},
		{asset: "a", name: "link-in.mp4", want: "file f"},
		{asset: "shared", name: "g.mp4", want: "file g, longer"},
		{asset: "%2e%2e", name: "f.mp4", want: "literal"},

		{asset: "a", name: "missing.mp4", wantErr: ErrNotFound},
		{asset: "missing", name: "f.mp4", wantErr: ErrNotFound},
		{asset: "a", name: "sub", wantErr: ErrNotFound},
		{asset: "a", name: "dangling.mp4", wantErr: ErrNotFound},
		{asset: "notdir", name: "f.mp4", wantErr: ErrNotFound},
		{asset: "a", name: "%2e%2e%2foutside%2fsecret.mp4", wantErr: ErrNotFound},
		{asset: "%252e%252e", name: "f.mp4", wantErr: ErrNotFound},

		{asset: "..", name: "outside", wantErr: ErrInvalidName},
		{asset: "a", name: "..", wantErr: ErrInvalidName},
		{asset: "a", name: ".", wantErr: ErrInvalidName},
		{asset: ".", name: "a", wantErr: ErrInvalidName},
		{asset: "", name: "f.mp4", wantErr: ErrInvalidName},
		{asset: "a", name: "", wantErr: ErrInvalidName},
		{asset: "..", name: "outside/secret.mp4", wantErr: ErrInvalidName},
		{asset: "a", name: "../../outside/secret.mp4", wantErr: ErrInvalidName},
		{asset: "a", name: "../f.mp4", wantErr: ErrInvalidName},
		{asset: "a", name: "/etc/passwd", wantErr: ErrInvalidName},
		{asset: "/etc", name: "passwd", wantErr: ErrInvalidName},
		{asset: "a", name: `..\..\outside\secret.mp4`, wantErr: ErrInvalidName},
		{asset: "a", name: "f.mp4\x00.txt", wantErr: ErrInvalidName},
		{asset: "a", name: ".hidden", wantErr: ErrInvalidName},
		{asset: "a", name: "link-out.mp4", wantErr: ErrInvalidName},
		{asset: "a", name: "link-out-abs.mp4", wantErr: ErrInvalidName},
		{asset: "escape", name: "secret.mp4", wantErr: ErrInvalidName},
		{asset: "escape", name: "missing.mp4", wantErr: ErrInvalidName},
		// os.Root rejects absolute link targets even when they point
		// inside the root.
		{asset: "a", name: "link-in-abs.mp4", wantErr: ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.asset+"|"+tc.name, func(t *testing.T) {
			o, err := l.Open(context.Background(), tc.asset, tc.name)
			if tc.wantErr != nil {
				if o != nil {
					t.Errorf("Open returned content %q", readAll(t, o))
					o.Close()
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open(%q, %q) error = %v, want %v", tc.asset, tc.name, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q, %q) error = %v, want nil", tc.asset, tc.name, err)
			}
			defer o.Close()
			if got := readAll(t, o); got != tc.want {
				t.Errorf("content = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLocalOpenSymlinkLoop(t *testing.T) {
	l := newTestLocal(t)
	_, err := l.Open(context.Background(), "a", "loop.mp4")
	if err == nil {
		t.Fatal("Open of a link loop succeeded, want an error")
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("Open of a link loop = %v, want an error other than ErrNotFound", err)
	}
}

func TestLocalOpenInfo(t *testing.T) {
	dir := newTestRoot(t)
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	o, err := l.Open(context.Background(), "a", "g.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()

	st, err := os.Stat(filepath.Join(dir, "a", "g.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	got := o.Info()
	want := ObjectInfo{Name: "g.mp4", Size: st.Size(), ModTime: st.ModTime()}
	if got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
}

func TestLocalOpenCanceled(t *testing.T) {
	l := newTestLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Open(ctx, "a", "f.mp4"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open error = %v, want context.Canceled", err)
	}
	if _, err := l.List(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("List error = %v, want context.Canceled", err)
	}
}

func TestLocalObjectOutlivesClose(t *testing.T) {
	l, err := NewLocal(newTestRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	o, err := l.Open(context.Background(), "a", "f.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got := readAll(t, o); got != "file f" {
		t.Errorf("content after Close = %q, want %q", got, "file f")
	}
}

func TestLocalList(t *testing.T) {
	l := newTestLocal(t)
	tests := []struct {
		asset   string
		want    []string
		wantErr error
	}{
		// Hidden files, folders, dangling links, loops and links leading
		// outside the root are left out.
		{asset: "a", want: []string{"f.mp4", "g.mp4", "link-in.mp4"}},
		{asset: "shared", want: []string{"f.mp4", "g.mp4", "link-in.mp4"}},
		{asset: "%2e%2e", want: []string{"f.mp4"}},
		{asset: "missing", wantErr: ErrNotFound},
		{asset: "notdir", wantErr: ErrNotFound},
		{asset: "escape", wantErr: ErrInvalidName},
		{asset: "..", wantErr: ErrInvalidName},
		{asset: "a/sub", wantErr: ErrInvalidName},
		{asset: "", wantErr: ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.asset, func(t *testing.T) {
			infos, err := l.List(context.Background(), tc.asset)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("List(%q) error = %v, want %v", tc.asset, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("List(%q) error = %v", tc.asset, err)
			}
			var got []string
			for _, info := range infos {
				got = append(got, info.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.asset, got, tc.want)
			}
		})
	}
}

func TestLocalListSizes(t *testing.T) {
	l := newTestLocal(t)
	infos, err := l.List(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		o, err := l.Open(context.Background(), "a", info.Name)
		if err != nil {
			t.Fatalf("Open(%q) after List: %v", info.Name, err)
		}
		if got := o.Info(); got != info {
			t.Errorf("Open(%q).Info() = %+v, List gave %+v", info.Name, got, info)
		}
		o.Close()
	}
}

func TestLocalListSample(t *testing.T) {
	l, err := NewLocal(filepath.Join("..", "testdata", "media"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	infos, err := l.List(context.Background(), "sample")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, info := range infos {
		got = append(got, info.Name)
	}
	want := []string{
		"audio_eng_96k.mp4",
		"sample.ism",
		"video_416x234_200k.mp4",
		"video_640x360_400k.mp4",
		"video_854x480_700k.mp4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("List(sample) = %q, want %q", got, want)
	}
}

func TestNewLocalMissingRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := NewLocal(dir)
	if err == nil {
		t.Fatalf("NewLocal(%q) succeeded, want an error", dir)
	}
}

func TestLocalConcurrentReadAt(t *testing.T) {
	dir := t.TempDir()
	mustMkdir(t, filepath.Join(dir, "a"))
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i * 7 / 3)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "big.mp4"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o, err := l.Open(context.Background(), "a", "big.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()

	const readers, reads = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			buf := make([]byte, 4096)
			for range reads {
				off := rng.Int64N(int64(len(content) - len(buf)))
				n, err := o.ReadAt(buf, off)
				if err != nil || n != len(buf) {
					errs <- fmt.Errorf("ReadAt(%d) = %d, %v", off, n, err)
					return
				}
				if !bytes.Equal(buf, content[off:off+int64(len(buf))]) {
					errs <- fmt.Errorf("ReadAt(%d) returned wrong bytes", off)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A read past the end returns io.EOF with the bytes that exist.
	buf := make([]byte, 10)
	n, err := o.ReadAt(buf, int64(len(content)-4))
	if n != 4 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v, want 4, io.EOF", n, err)
	}
}

// FuzzLocalOpen asserts that no asset and file name pair reaches the file
// beside the media root, whatever bytes the names hold.
func FuzzLocalOpen(f *testing.F) {
	for _, tc := range nameCases {
		f.Add("a", tc.name)
		f.Add(tc.name, "secret.mp4")
	}
	f.Add("escape", "secret.mp4")
	f.Add("a", "link-out.mp4")

	dir := newTestRoot(f)
	l, err := NewLocal(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })

	f.Fuzz(func(t *testing.T, asset, name string) {
		o, err := l.Open(context.Background(), asset, name)
		if err != nil {
			return
		}
		defer o.Close()
		if got := readAll(t, o); got == secret {
			t.Fatalf("Open(%q, %q) read the file outside the media root", asset, name)
		}
	})
}
