package origin

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstream/lockstream/storage"
)

// newListingStore returns a local store with one file in each of the
// given asset folders.
func newListingStore(t *testing.T, assets ...string) storage.Store {
	t.Helper()
	dir := t.TempDir()
	for _, a := range assets {
		if err := os.Mkdir(filepath.Join(dir, a), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, a, "v.mp4"), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func TestListingCacheSweepsExpired(t *testing.T) {
	store := newListingStore(t, "old", "fresh")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newListingCache(func() time.Time { return now })

	if _, err := c.files(t.Context(), store, "old"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(listingTTL)
	files, err := c.files(t.Context(), store, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != "v.mp4" {
		t.Errorf("listing of fresh: got %+v, want one file v.mp4", files)
	}
	if _, ok := c.entries["old"]; ok {
		t.Errorf("expired listing still cached after an insert one listingTTL later")
	}
	if _, ok := c.entries["fresh"]; !ok {
		t.Errorf("fresh listing not cached")
	}
}

func TestListingCacheKeepsUnexpired(t *testing.T) {
	store := newListingStore(t, "a", "b")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newListingCache(func() time.Time { return now })

	if _, err := c.files(t.Context(), store, "a"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(listingTTL - time.Nanosecond)
	if _, err := c.files(t.Context(), store, "b"); err != nil {
		t.Fatal(err)
	}
	if got := len(c.entries); got != 2 {
		t.Errorf("cache holds %d listings within listingTTL, want 2", got)
	}
}
