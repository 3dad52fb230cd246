package storage

import (
	"bytes"
	"testing"
)

func TestRangeCacheEviction(t *testing.T) {
	c := NewRangeCache(3 * 10)
	key := func(block int64) blockKey {
		return blockKey{store: "s3://b/", key: "a/f", etag: `"1"`, blockSize: 10, block: block}
	}
	for b := range int64(3) {
		c.add(key(b), bytes.Repeat([]byte{byte(b)}, 10))
	}
	if _, ok := c.get(key(0)); !ok { // block 0 becomes the most recent
		t.Fatal("block 0 missing before the bound was reached")
	}
	c.add(key(3), make([]byte, 10))

	if _, ok := c.get(key(1)); ok {
		t.Error("block 1, the least recently used, was not evicted")
	}
	for _, b := range []int64{0, 2, 3} {
		if _, ok := c.get(key(b)); !ok {
			t.Errorf("block %d was evicted", b)
		}
	}
	if blocks, size := c.Len(); blocks != 3 || size != 30 {
		t.Errorf("Len = %d blocks, %d bytes, want 3, 30", blocks, size)
	}
}

func TestRangeCacheKeysOnETag(t *testing.T) {
	c := NewRangeCache(1 << 20)
	old := blockKey{store: "s3://b/", key: "a/f", etag: `"1"`, blockSize: 10}
	c.add(old, []byte("old"))
	changed := old
	changed.etag = `"2"`
	if _, ok := c.get(changed); ok {
		t.Error("a block of the old ETag was returned for the new one")
	}
}

func TestRangeCacheTooLarge(t *testing.T) {
	c := NewRangeCache(5)
	c.add(blockKey{block: 1}, make([]byte, 6))
	if blocks, _ := c.Len(); blocks != 0 {
		t.Errorf("a block larger than the bound was stored")
	}
}
