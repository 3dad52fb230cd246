package origin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstream/lockstream/storage"
)

// countingOpener opens files of one asset of a real local store and
// counts the opens.
type countingOpener struct {
	store *storage.Local
	asset string
	opens int
}

func (o *countingOpener) open(ctx context.Context, name string) (storage.Object, error) {
	obj, err := o.store.Open(ctx, o.asset, name)
	if err != nil {
		return nil, err
	}
	o.opens++
	return obj, nil
}

// newFileCacheTest returns a cache with a settable clock and an opener
// over a media root with one asset holding files a.mp4 and b.mp4.
func newFileCacheTest(t *testing.T) (*fileCache, *countingOpener, *time.Time) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "asset"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.mp4", "b.mp4"} {
		if err := os.WriteFile(filepath.Join(root, "asset", name), []byte("data of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newFileCache(func() time.Time { return now })
	return c, &countingOpener{store: store, asset: "asset"}, &now
}

// listedKey returns the version key of a file as a listing sees it.
func listedKey(t *testing.T, o *countingOpener, name string) fileKey {
	t.Helper()
	infos, err := o.store.List(t.Context(), o.asset)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Name == name {
			return fileKeyOf(o.asset, info)
		}
	}
	t.Fatalf("%s not listed", name)
	return fileKey{}
}

// isClosed reports whether a local object's file was closed.
func isClosed(obj storage.Object) bool {
	_, err := obj.ReadAt(make([]byte, 1), 0)
	return errors.Is(err, os.ErrClosed)
}

func TestFileCacheReusesOpenFile(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	key := listedKey(t, o, "a.mp4")

	first, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	c.release(first)
	second, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.release(second)

	if o.opens != 1 {
		t.Errorf("opens = %d, want 1", o.opens)
	}
	if first != second {
		t.Error("second acquire returned another file")
	}
	if isClosed(second.obj) {
		t.Error("cached file is closed")
	}
}

func TestFileCacheChangedVersionNotCached(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	key := listedKey(t, o, "a.mp4")
	key.size++ // the listing saw another version than the one on disk

	f, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	c.release(f)
	if !isClosed(f.obj) {
		t.Error("file of a version the listing did not see stayed open after release")
	}
	if len(c.entries) != 0 {
		t.Errorf("cache holds %d entries, want 0", len(c.entries))
	}
}

func TestFileCacheMaxAge(t *testing.T) {
	c, o, now := newFileCacheTest(t)
	key := listedKey(t, o, "a.mp4")

	old, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	c.release(old)
	*now = now.Add(openFileMaxAge)

	fresh, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.release(fresh)
	if o.opens != 2 {
		t.Errorf("opens = %d, want 2: a file past openFileMaxAge is opened again", o.opens)
	}
	if !isClosed(old.obj) {
		t.Error("file past openFileMaxAge was not closed")
	}
}

func TestFileCacheEvictionWaitsForReaders(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	key := listedKey(t, o, "a.mp4")

	held, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	c.forget(key)
	if isClosed(held.obj) {
		t.Fatal("forget closed a file a reader still holds")
	}
	c.release(held)
	if !isClosed(held.obj) {
		t.Error("evicted file stayed open after its last release")
	}
}

func TestFileCacheBound(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	a := listedKey(t, o, "a.mp4")
	first, err := c.acquire(t.Context(), a, o)
	if err != nil {
		t.Fatal(err)
	}
	c.release(first)

	// The folder has two files, so entries for more files are added
	// directly; they share a's object, which the test never closes.
	for i := range maxOpenFiles {
		f := &openFile{key: fileKey{asset: "asset", name: "x", size: int64(i)}, obj: first.obj, opened: first.opened}
		c.mu.Lock()
		c.entries[f.key] = c.lru.PushFront(f)
		closing := c.evictStale(first.opened, nil)
		c.mu.Unlock()
		for _, e := range closing {
			if e != first {
				t.Fatalf("evicted %v, want only the least recently used file", e.key)
			}
		}
	}
	if _, ok := c.entries[a]; ok {
		t.Error("least recently used file still cached past maxOpenFiles")
	}
	if c.lru.Len() != maxOpenFiles {
		t.Errorf("cache holds %d files, want %d", c.lru.Len(), maxOpenFiles)
	}
}

func TestFileCacheClose(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	idle, err := c.acquire(t.Context(), listedKey(t, o, "a.mp4"), o)
	if err != nil {
		t.Fatal(err)
	}
	c.release(idle)
	busy, err := c.acquire(t.Context(), listedKey(t, o, "b.mp4"), o)
	if err != nil {
		t.Fatal(err)
	}

	c.close()
	if !isClosed(idle.obj) {
		t.Error("idle file stayed open after close")
	}
	if isClosed(busy.obj) {
		t.Error("close closed a file a reader still holds")
	}
	c.release(busy)
	if !isClosed(busy.obj) {
		t.Error("held file stayed open after its release")
	}
}
