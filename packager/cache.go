package packager

import (
	"container/list"
	"context"
	"math/bits"
	"sync"
	"unsafe"
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

// Sizes for estimateIndexBytes, in bytes.
const (
	sampleBytes  = int64(unsafe.Sizeof(Sample{}))
	trackBytes   = int64(unsafe.Sizeof(Track{}))
	indexBytes   = int64(unsafe.Sizeof(FileIndex{}))
	pointerBytes = int64(unsafe.Sizeof((*Track)(nil)))
	// editMapBytes estimates a FileIndex.Edits map of up to eight
	// entries: its header and one group of eight slots, the unit in
	// which Go's swiss-table maps (Go 1.24 and later) grow.
	editMapBytes = 512
	// sliceHeaderBytes is one element of ParameterSets.
	sliceHeaderBytes = int64(unsafe.Sizeof([]byte(nil)))
)

// estimateIndexBytes estimates the heap memory an index keeps alive: its
// sample tables, which dominate, and the structures and codec
// configuration around them. It relies on IndexFile copying the codec
// configuration out of the moov box (detachCodecConfig), so that no
// parse buffer stays referenced.
func estimateIndexBytes(idx *FileIndex) int64 {
	n := indexBytes + int64(len(idx.Name)) + pointerBytes*int64(cap(idx.Tracks))
	if len(idx.Edits) > 0 {
		n += editMapBytes * int64((len(idx.Edits)+7)/8)
	}
	for _, t := range idx.Tracks {
		n += estimateTrackBytes(t)
	}
	return n
}

// estimateTrackBytes estimates the memory of one track: its sample table,
// codec configuration, strings and the Track itself.
func estimateTrackBytes(t *Track) int64 {
	n := trackBytes + allocBytes(int64(cap(t.Samples))*sampleBytes)
	config := int64(len(t.SampleEntry) + len(t.DecoderConfig) + len(t.AudioSpecificConfig))
	for _, ps := range t.ParameterSets {
		config += int64(len(ps)) + sliceHeaderBytes
	}
	n += allocBytes(config)
	n += int64(len(t.Name) + len(t.CodecString) + len(t.Language))
	return n
}

// allocBytes estimates the heap an allocation of n bytes takes. Objects
// of more than 32 KiB take whole 8 KiB pages. Smaller ones take a size
// class, modelled here as a multiple of an eighth of the next power of
// two. The real classes (Go 1.26) differ by a few percent either way.
func allocBytes(n int64) int64 {
	const page, maxSmall = 8 << 10, 32 << 10
	if n > maxSmall {
		return (n + page - 1) &^ (page - 1)
	}
	step := max(int64(1)<<bits.Len64(uint64(n))/8, 16)
	return (n + step - 1) / step * step
}

func (c *indexCache) stats() (hits, misses uint64, entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, len(c.entries), c.bytes
}
