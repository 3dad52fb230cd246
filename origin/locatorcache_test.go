package origin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// countingCatalog is a LocatorStore over a map that counts GetLocator
// calls.
type countingCatalog struct {
	policy.LocatorStore
	locators map[uuid.UUID]*policy.Locator
	gets     int
}

func (c *countingCatalog) GetLocator(_ context.Context, id uuid.UUID) (*policy.Locator, error) {
	c.gets++
	if l, ok := c.locators[id]; ok {
		return l, nil
	}
	return nil, policy.ErrNotFound
}

func TestLocatorCache(t *testing.T) {
	id := uuid.New()
	catalog := &countingCatalog{locators: map[uuid.UUID]*policy.Locator{id: {ID: id, Asset: "sample"}}}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newLocatorCache(catalog)
	c.now = func() time.Time { return now }

	for range 3 {
		if _, err := c.get(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if catalog.gets != 1 {
		t.Errorf("catalog reads within locatorTTL = %d, want 1", catalog.gets)
	}

	delete(catalog.locators, id)
	now = now.Add(locatorTTL - time.Nanosecond)
	if _, err := c.get(t.Context(), id); err != nil {
		t.Errorf("deleted locator within locatorTTL: %v, want the cached locator", err)
	}
	now = now.Add(time.Nanosecond)
	if _, err := c.get(t.Context(), id); !errors.Is(err, policy.ErrNotFound) {
		t.Errorf("deleted locator after locatorTTL: error %v, want ErrNotFound", err)
	}
	if len(c.entries) != 0 {
		t.Errorf("cache holds %d entries after the locator was found deleted, want 0", len(c.entries))
	}

	unknown := uuid.New()
	for range 2 {
		if _, err := c.get(t.Context(), unknown); !errors.Is(err, policy.ErrNotFound) {
			t.Fatalf("unknown locator: error %v, want ErrNotFound", err)
		}
	}
	catalog.locators[unknown] = &policy.Locator{ID: unknown}
	if _, err := c.get(t.Context(), unknown); err != nil {
		t.Errorf("locator created after a miss: %v, want it found at once", err)
	}
}

func TestLocatorCacheSweepsExpired(t *testing.T) {
	old, fresh := uuid.New(), uuid.New()
	catalog := &countingCatalog{locators: map[uuid.UUID]*policy.Locator{
		old:   {ID: old, Asset: "a"},
		fresh: {ID: fresh, Asset: "b"},
	}}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newLocatorCache(catalog)
	c.now = func() time.Time { return now }

	if _, err := c.get(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	now = now.Add(locatorTTL)
	if _, err := c.get(t.Context(), fresh); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.entries[old]; ok {
		t.Errorf("expired locator still cached after an insert one locatorTTL later")
	}
	if _, ok := c.entries[fresh]; !ok {
		t.Errorf("fresh locator not cached")
	}
}
