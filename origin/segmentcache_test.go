package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// builtOutput returns a build function that counts its calls and returns
// a pooled-style output of body split into Body and Tail, recording
// whether Release ran.
func builtOutput(body []byte, calls *atomic.Int32, released *atomic.Int32) func() (*Output, error) {
	return func() (*Output, error) {
		calls.Add(1)
		half := len(body) / 2
		return &Output{
			Body:        append([]byte(nil), body[:half]...),
			Tail:        append([]byte(nil), body[half:]...),
			ContentType: "video/mp2t",
			ETag:        `"ignored"`,
			Release:     func() { released.Add(1) },
		}, nil
	}
}

func TestSegmentCacheHitReturnsTheBuiltBytes(t *testing.T) {
	c := newSegmentCache(1 << 20)
	key := segmentKey{etag: `"a"`, key: [16]byte{1}}
	body := bytes.Repeat([]byte("segment!"), 1000)
	var calls, released atomic.Int32

	for i := range 3 {
		out, err := c.get(context.Background(), key, builtOutput(body, &calls, &released))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !bytes.Equal(append(append([]byte(nil), out.Body...), out.Tail...), body) {
			t.Fatalf("request %d: body differs from the built one", i)
		}
		if out.ETag != key.etag || out.ContentType != "video/mp2t" {
			t.Errorf("request %d: ETag %s, type %s; want %s, video/mp2t", i, out.ETag, out.ContentType, key.etag)
		}
		if out.Release != nil {
			t.Errorf("request %d: a cached output must not release pooled buffers", i)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("built %d times, want 1", got)
	}
	if got := released.Load(); got != 1 {
		t.Errorf("pooled buffers released %d times, want 1 after copying", got)
	}
	st := c.stats()
	if st.Hits != 2 || st.Misses != 1 || st.Entries != 1 || st.Bytes < int64(len(body)) {
		t.Errorf("stats %+v, want 2 hits, 1 miss, 1 entry of at least %d bytes", st, len(body))
	}
}

func TestSegmentCacheKeysOnContentKey(t *testing.T) {
	c := newSegmentCache(1 << 20)
	var calls, released atomic.Int32
	for i, key := range []segmentKey{{etag: `"a"`, key: [16]byte{1}}, {etag: `"a"`, key: [16]byte{2}}, {etag: `"b"`, key: [16]byte{1}}} {
		body := []byte(fmt.Sprintf("body %d", i))
		out, err := c.get(context.Background(), key, builtOutput(body, &calls, &released))
		if err != nil {
			t.Fatal(err)
		}
		if got := append(append([]byte(nil), out.Body...), out.Tail...); !bytes.Equal(got, body) {
			t.Errorf("key %d: got %q, want %q", i, got, body)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("built %d times, want 3: each key is a different output", got)
	}
}

func TestSegmentCacheEvictsLeastRecentlyUsed(t *testing.T) {
	const size = 10 << 10
	// Room for three entries: each costs its body, its 3-byte tag and
	// the overhead.
	c := newSegmentCache(3*(size+3+segmentEntryOverhead) + 100)
	var calls, released atomic.Int32
	get := func(name string) {
		t.Helper()
		if _, err := c.get(context.Background(), segmentKey{etag: name}, builtOutput(make([]byte, size), &calls, &released)); err != nil {
			t.Fatal(err)
		}
	}

	// admits rejects entries above an eighth of the cache; bypass that
	// bound here to test eviction order with few entries.
	for _, name := range []string{`"1"`, `"2"`, `"3"`} {
		c.mu.Lock()
		c.insert(&cachedSegment{key: segmentKey{etag: name}, body: make([]byte, size)})
		c.mu.Unlock()
	}
	get(`"1"`) // hit: "1" becomes the most recently used
	c.mu.Lock()
	c.insert(&cachedSegment{key: segmentKey{etag: `"4"`}, body: make([]byte, size)})
	c.mu.Unlock()

	st := c.stats()
	if st.Entries != 3 || st.Evictions != 1 || st.Bytes > c.max {
		t.Fatalf("stats %+v with max %d, want 3 entries, 1 eviction, bytes within max", st, c.max)
	}
	c.mu.Lock()
	_, has2 := c.entries[segmentKey{etag: `"2"`}]
	_, has1 := c.entries[segmentKey{etag: `"1"`}]
	c.mu.Unlock()
	if has2 || !has1 {
		t.Errorf("after using 1 and adding 4: has 1 %v, has 2 %v; want 2 evicted, 1 kept", has1, has2)
	}
	if calls.Load() != 0 {
		t.Errorf("a hit built the output")
	}
}

func TestSegmentCacheSkipsLargeOutputs(t *testing.T) {
	c := newSegmentCache(64 << 10)
	var calls, released atomic.Int32
	big := make([]byte, 16<<10) // above an eighth of 64 KiB
	for range 2 {
		out, err := c.get(context.Background(), segmentKey{etag: `"big"`}, builtOutput(big, &calls, &released))
		if err != nil {
			t.Fatal(err)
		}
		if out.Release == nil {
			t.Error("an output that is not kept must keep its Release")
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("built %d times, want 2: the output is too large to keep", got)
	}
	if st := c.stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("stats %+v, want an empty cache", st)
	}
}

func TestSegmentCacheBuildsConcurrentMissesOnce(t *testing.T) {
	c := newSegmentCache(1 << 20)
	key := segmentKey{etag: `"shared"`}
	body := bytes.Repeat([]byte{7}, 4096)
	release := make(chan struct{})
	var calls atomic.Int32
	build := func() (*Output, error) {
		calls.Add(1)
		<-release
		return &Output{Body: append([]byte(nil), body...)}, nil
	}

	const requests = 32
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for range requests {
		wg.Go(func() {
			out, err := c.get(context.Background(), key, build)
			if err == nil && !bytes.Equal(out.Body, body) {
				err = errors.New("body differs from the built one")
			}
			errs <- err
		})
	}
	// Give the requests time to find the build in progress, then let it
	// finish.
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("built %d times for %d concurrent requests, want 1", got, requests)
	}
}

func TestSegmentCacheDoesNotKeepFailures(t *testing.T) {
	c := newSegmentCache(1 << 20)
	key := segmentKey{etag: `"fails"`}
	var calls atomic.Int32
	failing := func() (*Output, error) {
		calls.Add(1)
		return nil, fmt.Errorf("reading samples of track %q: %w", "video", errTestRead)
	}
	for range 2 {
		if _, err := c.get(context.Background(), key, failing); !errors.Is(err, errTestRead) {
			t.Fatalf("error %v, want the build's error", err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("built %d times, want 2: a failed build is not kept", got)
	}
}

var errTestRead = errors.New("test read failure")

func TestSegmentCacheWaiterSurvivesPanickingBuild(t *testing.T) {
	c := newSegmentCache(1 << 20)
	key := segmentKey{etag: `"panics"`}
	started := make(chan struct{})
	proceed := make(chan struct{})

	go func() {
		defer func() { recover() }()
		c.get(context.Background(), key, func() (*Output, error) {
			close(started)
			<-proceed
			panic("build failed")
		})
	}()
	<-started

	done := make(chan error, 1)
	go func() {
		out, err := c.get(context.Background(), key, func() (*Output, error) {
			return &Output{Body: []byte("rebuilt")}, nil
		})
		if err == nil && string(out.Body) != "rebuilt" {
			err = fmt.Errorf("body %q, want the waiter's own build", out.Body)
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	close(proceed)

	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request waiting for a panicking build never returned")
	}
}

func TestSegmentCacheWaiterHonoursItsContext(t *testing.T) {
	c := newSegmentCache(1 << 20)
	key := segmentKey{etag: `"slow"`}
	started := make(chan struct{})
	proceed := make(chan struct{})
	defer close(proceed)
	go c.get(context.Background(), key, func() (*Output, error) {
		close(started)
		<-proceed
		return &Output{Body: []byte("late")}, nil
	})
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.get(ctx, key, func() (*Output, error) { t.Error("the waiter built"); return nil, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the waiter's deadline", err)
	}
}

func TestSegmentCacheOff(t *testing.T) {
	if c := newSegmentCache(0); c != nil {
		t.Fatalf("newSegmentCache(0) = %v, want nil (off)", c)
	}
}
