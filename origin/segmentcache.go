package origin

import (
	"container/list"
	"context"
	"sync"
)

// segmentEntryOverhead is the memory an entry costs besides its body: the
// map slot, the list element, the entry and its key strings, estimated.
const segmentEntryOverhead = 256

// segmentCache keeps built media segments and Smooth fragments in memory,
// bounded in bytes and evicted least recently used first, so a repeat
// request for a URL skips reading, packaging and encrypting.
//
// Entries are keyed by the output's entity tag and by the content key.
// The tag covers the request, the asset, the key ID and the version of
// every file of the presentation, so a changed file or key never meets an
// old entry.
// Concurrent misses of one key build it once; the others wait for that
// build.
type segmentCache struct {
	max int64

	mu        sync.Mutex
	entries   map[segmentKey]*list.Element
	lru       *list.List // of *cachedSegment, most recently used at the front
	bytes     int64
	building  map[segmentKey]*segmentBuildCall
	hits      uint64
	misses    uint64
	evictions uint64
}

// segmentKey identifies one built output. key holds the content key
// because the entity tag names only its ID; the map is never logged.
type segmentKey struct {
	etag string
	key  [16]byte
}

// cachedSegment is an immutable built output. Responses write body after
// eviction too; the garbage collector frees it when the last one is done.
type cachedSegment struct {
	key         segmentKey
	body        []byte
	contentType string
}

// segmentBuildCall is a build in progress that other requests for the
// same key wait for. seg stays nil when the build failed or its output
// was not kept.
type segmentBuildCall struct {
	done chan struct{}
	seg  *cachedSegment
}

// SegmentCacheStats is a snapshot of the segment cache's counters.
type SegmentCacheStats struct {
	Hits, Misses, Evictions uint64
	Entries                 int
	Bytes                   int64
}

// newSegmentCache returns a cache bounded to maxBytes, or nil, which
// caches nothing, for maxBytes <= 0.
func newSegmentCache(maxBytes int64) *segmentCache {
	if maxBytes <= 0 {
		return nil
	}
	return &segmentCache{
		max:      maxBytes,
		entries:  map[segmentKey]*list.Element{},
		lru:      list.New(),
		building: map[segmentKey]*segmentBuildCall{},
	}
}

// get returns the output of key from the cache, or builds it with build
// and keeps a copy when it is cacheable and fits. A request that finds a
// build of its key in progress waits for it, up to its own context.
func (c *segmentCache) get(ctx context.Context, key segmentKey, build func() (*Output, error)) (*Output, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.hits++
		c.lru.MoveToFront(el)
		seg := el.Value.(*cachedSegment)
		c.mu.Unlock()
		return seg.output(), nil
	}
	if call, ok := c.building[key]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if call.seg != nil {
			c.mu.Lock()
			c.hits++
			c.mu.Unlock()
			return call.seg.output(), nil
		}
		// The build failed or was not kept: build for this request
		// alone, so an error reaches every request with its own cause.
		return build()
	}
	call := &segmentBuildCall{done: make(chan struct{})}
	c.building[key] = call
	c.misses++
	c.mu.Unlock()

	// The deferred cleanup also runs when build panics, so waiters never
	// hang on a build that is gone.
	defer func() {
		c.mu.Lock()
		delete(c.building, key)
		if call.seg != nil {
			c.insert(call.seg)
		}
		c.mu.Unlock()
		close(call.done)
	}()

	out, err := build()
	if err != nil || !c.admits(out) {
		return out, err
	}
	body := make([]byte, 0, len(out.Body)+len(out.Tail))
	body = append(append(body, out.Body...), out.Tail...)
	call.seg = &cachedSegment{key: key, body: body, contentType: out.ContentType}
	if out.Release != nil {
		out.Release()
	}
	return call.seg.output(), nil
}

// admits reports whether out is worth keeping: built in memory (outputs
// sent from a file cost less to send again than to keep) and small
// enough that one entry never pushes out more than an eighth of the
// cache.
func (c *segmentCache) admits(out *Output) bool {
	if !cacheable(out) {
		return false
	}
	return int64(len(out.Body)+len(out.Tail))+segmentEntryOverhead <= c.max/8
}

// insert adds seg and evicts from the back until the cache fits. c.mu is
// held.
func (c *segmentCache) insert(seg *cachedSegment) {
	if _, ok := c.entries[seg.key]; ok {
		return
	}
	c.entries[seg.key] = c.lru.PushFront(seg)
	c.bytes += seg.cost()
	for c.bytes > c.max {
		back := c.lru.Back()
		old := back.Value.(*cachedSegment)
		c.lru.Remove(back)
		delete(c.entries, old.key)
		c.bytes -= old.cost()
		c.evictions++
	}
}

// stats returns the cache's counters.
func (c *segmentCache) stats() SegmentCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return SegmentCacheStats{Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Entries: c.lru.Len(), Bytes: c.bytes}
}

func (s *cachedSegment) cost() int64 {
	return int64(len(s.body)) + int64(len(s.key.etag)) + segmentEntryOverhead
}

// output returns a response for the cached body. The body is shared and
// must not be modified; the entity tag is the key's.
func (s *cachedSegment) output() *Output {
	return &Output{Body: s.body, ContentType: s.contentType, ETag: s.key.etag}
}

// cacheable reports whether an output is built in memory and so can be
// kept: one sent from a file has its sample data outside Body and Tail.
func cacheable(out *Output) bool {
	return out != nil && out.File == nil
}
