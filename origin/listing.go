package origin

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/storage"
)

// listingTTL is how long an asset's file listing is reused. Every request
// needs the listing to find the current file versions, and on blob storage
// a listing is a round trip to the store. A replaced file is noticed
// within this time.
const listingTTL = 2 * time.Second

// maxListings bounds the listing cache; past it the cache is cleared.
const maxListings = 4096

// listingCache remembers recent asset listings.
type listingCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]listingEntry
	// sweepAt is when the next insert removes the expired entries.
	sweepAt time.Time
}

type listingEntry struct {
	infos []storage.ObjectInfo
	// files is infos converted for the packager once, shared read-only
	// by every request until the entry expires.
	files   []packager.FileInfo
	expires time.Time
}

func newListingCache(now func() time.Time) *listingCache {
	return &listingCache{now: now, entries: map[string]listingEntry{}}
}

func (c *listingCache) list(ctx context.Context, store storage.Store, asset string) ([]storage.ObjectInfo, error) {
	e, err := c.entry(ctx, store, asset)
	return e.infos, err
}

// files returns the listing in the packager's form. The slice is shared
// and must not be modified.
func (c *listingCache) files(ctx context.Context, store storage.Store, asset string) ([]packager.FileInfo, error) {
	e, err := c.entry(ctx, store, asset)
	return e.files, err
}

func (c *listingCache) entry(ctx context.Context, store storage.Store, asset string) (listingEntry, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[asset]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}

	infos, err := store.List(ctx, asset)
	if err != nil {
		return listingEntry{}, err
	}
	e = listingEntry{infos: infos, files: make([]packager.FileInfo, len(infos)), expires: now.Add(listingTTL)}
	for i, info := range infos {
		e.files[i] = fileInfo(info)
	}
	c.mu.Lock()
	c.sweep(now)
	if len(c.entries) >= maxListings {
		clear(c.entries)
	}
	c.entries[asset] = e
	c.mu.Unlock()
	return e, nil
}

// sweep removes expired entries, at most once per listingTTL, so that the
// listings of assets that get no further requests leave memory before the
// cache fills. c.mu is held.
func (c *listingCache) sweep(now time.Time) {
	if now.Before(c.sweepAt) {
		return
	}
	maps.DeleteFunc(c.entries, func(_ string, e listingEntry) bool { return !now.Before(e.expires) })
	c.sweepAt = now.Add(listingTTL)
}

// forget drops an asset's listing, after a read found a file changed.
func (c *listingCache) forget(asset string) {
	c.mu.Lock()
	delete(c.entries, asset)
	c.mu.Unlock()
}

// versionOpener is implemented by stores that can open the exact version a
// listing saw without asking the store again (storage.Blob): reads are
// pinned to that version, so the bytes always match the cached index.
type versionOpener interface {
	OpenVersion(ctx context.Context, asset string, info storage.ObjectInfo) (storage.Object, error)
}

// assetOpener adapts a storage.Store to the packager's Opener for one
// asset, through the listing cache.
type assetOpener struct {
	store    storage.Store
	asset    string
	listings *listingCache
}

var _ packager.Opener = assetOpener{}

func (a assetOpener) Open(ctx context.Context, name string) (packager.File, packager.FileInfo, error) {
	obj, err := a.open(ctx, name)
	if err != nil {
		return nil, packager.FileInfo{}, err
	}
	return objectFile{obj}, fileInfo(obj.Info()), nil
}

func (a assetOpener) open(ctx context.Context, name string) (storage.Object, error) {
	if vo, ok := a.store.(versionOpener); ok {
		infos, err := a.listings.list(ctx, a.store, a.asset)
		if err != nil {
			return nil, err
		}
		for _, info := range infos {
			if info.Name == name {
				return vo.OpenVersion(ctx, a.asset, info)
			}
		}
	}
	return a.store.Open(ctx, a.asset, name)
}

// List returns the asset's listing from the listing cache. The slice is
// shared and must not be modified; the packager only reads it.
func (a assetOpener) List(ctx context.Context) ([]packager.FileInfo, error) {
	return a.listings.files(ctx, a.store, a.asset)
}

func fileInfo(info storage.ObjectInfo) packager.FileInfo {
	return packager.FileInfo{Name: info.Name, Size: info.Size, ModTime: info.ModTime, ETag: info.ETag}
}

// objectFile gives a storage.Object the packager.File shape.
type objectFile struct{ storage.Object }

func (f objectFile) Size() int64 { return f.Info().Size }
