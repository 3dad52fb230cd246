package origin

import (
	"errors"
	"testing"

	"github.com/lockstream/lockstream/storage"
)

func TestFileCacheSendfileBound(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	before := countOpenFDs(t)
	key := listedKey(t, o, "a.mp4")
	f, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}

	var out []storage.Object
	for range maxSendFilesPerFile {
		obj, err := c.checkout(t.Context(), f, o)
		if err != nil || obj == nil {
			t.Fatalf("checkout %d: object %v, error %v", len(out)+1, obj, err)
		}
		out = append(out, obj)
	}
	if obj, err := c.checkout(t.Context(), f, o); obj != nil || err != nil {
		t.Errorf("checkout past the bound: object %v, error %v, want nil and nil", obj, err)
	}
	if got, want := countOpenFDs(t)-before, 1+maxSendFilesPerFile; got != want {
		t.Errorf("%d descriptors opened, want %d", got, want)
	}

	// Give half back, then evict: the idle half closes at once, the rest
	// when they are checked in.
	for _, obj := range out[:len(out)/2] {
		c.checkin(f, obj)
	}
	c.release(f)
	c.forget(key)
	for i, obj := range out[:len(out)/2] {
		if !isClosed(obj) {
			t.Errorf("idle descriptor %d open after eviction", i)
		}
	}
	for i, obj := range out[len(out)/2:] {
		if isClosed(obj) {
			t.Errorf("checked-out descriptor %d closed while in use", i)
		}
		c.checkin(f, obj)
	}
	if got := countOpenFDs(t); got != before {
		t.Errorf("%d descriptors open after eviction and checkin, want %d as before", got, before)
	}
	if c.sendFiles != 0 || f.sendFiles != 0 {
		t.Errorf("sendfile counts after eviction: cache %d, file %d, want 0 and 0", c.sendFiles, f.sendFiles)
	}
}

func TestFileCacheSendfileClose(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	before := countOpenFDs(t)
	f, err := c.acquire(t.Context(), listedKey(t, o, "a.mp4"), o)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := c.checkout(t.Context(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := c.checkout(t.Context(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	c.checkin(f, idle)
	c.release(f)

	c.close()
	if !isClosed(idle) {
		t.Error("idle descriptor open after close")
	}
	if isClosed(busy) {
		t.Error("checked-out descriptor closed while in use")
	}
	c.checkin(f, busy)
	if !isClosed(busy) {
		t.Error("descriptor checked in after close stayed open")
	}
	if got := countOpenFDs(t); got != before {
		t.Errorf("%d descriptors open after close, want %d as before", got, before)
	}
}

func TestFileCacheSendfileChangedVersion(t *testing.T) {
	c, o, _ := newFileCacheTest(t)
	key := listedKey(t, o, "a.mp4")
	f, err := c.acquire(t.Context(), key, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.release(f)

	f.key.size++ // the file on disk is no longer the cached version
	obj, err := c.checkout(t.Context(), f, o)
	if !errors.Is(err, storage.ErrChanged) {
		t.Errorf("checkout error = %v, want ErrChanged", err)
	}
	if obj != nil {
		t.Errorf("checkout returned %v for a changed file, want nil", obj)
	}
	if c.sendFiles != 0 {
		t.Errorf("cache counts %d sendfile descriptors, want 0", c.sendFiles)
	}
}
