package storage

import (
	"container/list"
	"sync"
)

// DefaultCacheBytes is the default bound of a RangeCache: room for 1024
// blocks of 64 KiB, the box headers and moov boxes of many files.
const DefaultCacheBytes = 64 << 20

// RangeCache is a bounded in-memory cache of aligned blocks of blob
// content with least-recently-used eviction. Blocks are keyed by store,
// blob key, ETag and block number, so a new version of a blob never hits
// blocks of the old one. It is safe for concurrent use and may be shared
// by several Blob stores.
type RangeCache struct {
	maxBytes int64

	mu      sync.Mutex
	bytes   int64
	lru     *list.List // of *cacheBlock, most recent at the front
	entries map[blockKey]*list.Element
}

type blockKey struct {
	store     string // scheme and bucket, such as "s3://media"
	key       string
	etag      string
	blockSize int64
	block     int64 // offset / blockSize
}

type cacheBlock struct {
	key  blockKey
	data []byte
}

// NewRangeCache returns a cache that holds at most maxBytes of block
// data. A maxBytes of 0 or less gives a cache that stores nothing.
func NewRangeCache(maxBytes int64) *RangeCache {
	return &RangeCache{maxBytes: maxBytes, lru: list.New(), entries: map[blockKey]*list.Element{}}
}

// get returns the cached block. The returned slice is never written to
// again, so callers may copy from it without the lock.
func (c *RangeCache) get(k blockKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheBlock).data, true
}

// add stores a block, which the caller must not modify afterwards, and
// evicts the least recently used blocks past the bound.
func (c *RangeCache) add(k blockKey, data []byte) {
	size := int64(len(data))
	if size > c.maxBytes {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheBlock{key: k, data: data})
	c.bytes += size
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		b := el.Value.(*cacheBlock)
		c.lru.Remove(el)
		delete(c.entries, b.key)
		c.bytes -= int64(len(b.data))
	}
}

// Len returns the number of cached blocks and their total size in bytes.
func (c *RangeCache) Len() (blocks int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}
