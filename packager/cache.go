package packager

import (
	"container/list"
	"context"
	"sync"
)

// indexKey identifies one version of one file of one asset.
type indexKey struct {
	asset, name, etag string
	size              int64
	modTime           int64 // Unix nanoseconds
}

func keyOf(asset string, fi FileInfo) indexKey {
	return indexKey{asset: asset, name: fi.Name, etag: fi.ETag, size: fi.Size, modTime: fi.ModTime.UnixNano()}
}

// indexCache holds parsed file indexes, bounded by their estimated memory
// size with least-recently-used eviction. Concurrent misses for one key
// share one parse.
type indexCache struct {
	maxBytes int64

	mu       sync.Mutex
	bytes    int64
	lru      *list.List // of *indexEntry, most recent at the front
	entries  map[indexKey]*list.Element
	inflight map[indexKey]*indexFlight
	hits     uint64
	misses   uint64
}

type indexEntry struct {
	key   indexKey
	idx   *FileIndex
	bytes int64
}

// indexFlight is a parse in progress; done closes when idx and err are set.
type indexFlight struct {
	done chan struct{}
	idx  *FileIndex
	err  error
}

func newIndexCache(maxBytes int64) *indexCache {
	return &indexCache{
		maxBytes: maxBytes,
		lru:      list.New(),
		entries:  map[indexKey]*list.Element{},
		inflight: map[indexKey]*indexFlight{},
	}
}

// get returns the cached index for key, or runs parse once for all
// concurrent callers and caches its result. Errors are not cached.
func (c *indexCache) get(ctx context.Context, key indexKey, parse func() (*FileIndex, error)) (*FileIndex, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		c.hits++
		c.mu.Unlock()
		return el.Value.(*indexEntry).idx, nil
	}
	if f, ok := c.inflight[key]; ok {
		c.hits++
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.idx, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	f := &indexFlight{done: make(chan struct{})}
	c.inflight[key] = f
	c.misses++
	c.mu.Unlock()

	// NOTE: the parse runs under the first caller's context; when that
	// caller goes away, callers waiting on the same parse get its error
	// and the next request parses again.
	f.idx, f.err = parse()

	c.mu.Lock()
	delete(c.inflight, key)
	if f.err == nil {
		c.add(key, f.idx)
	}
	c.mu.Unlock()
	close(f.done)
	return f.idx, f.err
}

// add stores an index and evicts the least recently used ones past the
// bound. An index larger than the whole bound is not stored. c.mu is held.
func (c *indexCache) add(key indexKey, idx *FileIndex) {
	size := estimateIndexBytes(idx)
	if size > c.maxBytes {
		return
	}
	c.entries[key] = c.lru.PushFront(&indexEntry{key: key, idx: idx, bytes: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		e := el.Value.(*indexEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.bytes -= e.bytes
	}
}

// estimateIndexBytes estimates the memory an index holds: the sample
// tables dominate, plus the codec configuration and fixed overheads.
func estimateIndexBytes(idx *FileIndex) int64 {
	n := int64(512 + len(idx.Name))
	for _, t := range idx.Tracks {
		n += estimateTrackBytes(t)
	}
	return n
}

// estimateTrackBytes estimates the memory of one track: its sample table,
// codec configuration and fixed overheads.
func estimateTrackBytes(t *Track) int64 {
	const sampleSize = 32 // unsafe.Sizeof(Sample{}) on 64-bit platforms
	n := 512 + int64(cap(t.Samples))*sampleSize
	n += int64(len(t.SampleEntry) + len(t.DecoderConfig) + len(t.AudioSpecificConfig))
	for _, ps := range t.ParameterSets {
		n += int64(len(ps)) + 24
	}
	return n
}

func (c *indexCache) stats() (hits, misses uint64, entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, len(c.entries), c.bytes
}
