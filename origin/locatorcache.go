package origin

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// locatorTTL is how long a locator read from the catalog is reused for
// streaming requests. Every segment request needs its locator, and a
// catalog read costs more than packaging a small segment; in exchange a
// deleted or changed locator keeps streaming for up to this long.
const locatorTTL = time.Second

// maxCachedLocators bounds the locator cache; past it the cache is
// cleared and refills from the catalog.
const maxCachedLocators = 4096

// locatorCache remembers the locators that streaming requests found in
// the catalog. Unknown IDs are not remembered, so a locator is streamable
// as soon as it is created. Start and end times are checked on every
// request by the caller, so they take effect exactly.
type locatorCache struct {
	catalog policy.LocatorStore
	// now is the real clock, not the server's injected one: tests that
	// fix the server's clock still see entries expire.
	now func() time.Time

	mu      sync.Mutex
	entries map[uuid.UUID]locatorEntry
	// sweepAt is when the next insert removes the expired entries.
	sweepAt time.Time
}

type locatorEntry struct {
	loc     *policy.Locator
	expires time.Time
}

func newLocatorCache(catalog policy.LocatorStore) *locatorCache {
	return &locatorCache{catalog: catalog, now: time.Now, entries: map[uuid.UUID]locatorEntry{}}
}

// get returns the locator with the given ID, from the cache when it was
// read less than locatorTTL ago. The returned locator is shared and must
// not be modified.
func (c *locatorCache) get(ctx context.Context, id uuid.UUID) (*policy.Locator, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.loc, nil
	}

	loc, err := c.catalog.GetLocator(ctx, id)
	if err != nil {
		if ok {
			c.mu.Lock()
			delete(c.entries, id)
			c.mu.Unlock()
		}
		return nil, err
	}
	c.mu.Lock()
	c.sweep(now)
	if len(c.entries) >= maxCachedLocators {
		clear(c.entries)
	}
	c.entries[id] = locatorEntry{loc: loc, expires: now.Add(locatorTTL)}
	c.mu.Unlock()
	return loc, nil
}

// sweep removes expired entries, at most once per locatorTTL, so that
// locators that get no further requests leave memory before the cache
// fills. c.mu is held.
func (c *locatorCache) sweep(now time.Time) {
	if now.Before(c.sweepAt) {
		return
	}
	maps.DeleteFunc(c.entries, func(_ uuid.UUID, e locatorEntry) bool { return !now.Before(e.expires) })
	c.sweepAt = now.Add(locatorTTL)
}
