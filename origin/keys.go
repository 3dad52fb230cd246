package origin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
)

// catalogKeys serves locators' content keys from the catalog store with a
// short-lived cache, so segment requests do not each read and decrypt the
// key from the database.
type catalogKeys struct {
	store policy.ContentKeyStore
	now   func() time.Time

	mu      sync.Mutex
	entries map[keyCacheKey]keyCacheEntry
}

type keyCacheKey struct {
	locator uuid.UUID
	scheme  packager.Scheme
}

type keyCacheEntry struct {
	key     packager.ContentKey
	expires time.Time
}

// keyCacheTTL bounds how long a deleted locator's key keeps encrypting
// segments that are still requested. The locator check before every
// request already refuses deleted locators, so this bound is a second line
// of defence.
const keyCacheTTL = 10 * time.Second

// maxCachedKeys bounds the cache; past it the cache is cleared.
const maxCachedKeys = 4096

func newCatalogKeys(store policy.ContentKeyStore, now func() time.Time) *catalogKeys {
	return &catalogKeys{store: store, now: now, entries: map[keyCacheKey]keyCacheEntry{}}
}

// LocatorContentKey implements KeySource.
func (c *catalogKeys) LocatorContentKey(ctx context.Context, locatorID uuid.UUID, scheme packager.Scheme) (packager.ContentKey, error) {
	now := c.now()
	ck := keyCacheKey{locatorID, scheme}

	c.mu.Lock()
	e, ok := c.entries[ck]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}

	keys, err := c.store.ListContentKeys(ctx, locatorID)
	if err != nil {
		return packager.ContentKey{}, fmt.Errorf("reading content keys of locator %s: %w", locatorID, err)
	}
	k, err := policy.SelectKey(keys, scheme.String())
	if err != nil {
		// An encrypted locator without a usable key is a catalog fault,
		// not a missing resource, so the error is not a not-found.
		return packager.ContentKey{}, fmt.Errorf("locator %s has no content key for %s: %v", locatorID, scheme, err)
	}
	key := packager.ContentKey{ID: k.ID, Value: k.Value}

	c.mu.Lock()
	if len(c.entries) >= maxCachedKeys {
		clear(c.entries)
	}
	c.entries[ck] = keyCacheEntry{key: key, expires: now.Add(keyCacheTTL)}
	c.mu.Unlock()
	return key, nil
}
