package fmp4

import (
	"crypto/aes"
	"crypto/cipher"
	"sync"

	"github.com/Eyevinn/mp4ff/mp4"
)

// maxCachedCiphers bounds the AES cipher cache. An origin serves a few keys
// at a time (one per streaming locator in use), so the cache normally holds
// them all; when more keys are in use it starts over rather than grow.
const maxCachedCiphers = 256

// cipherCache keeps the expanded AES key schedule of each content key, so
// a segment request does not expand its key again. A crypto/aes Block is
// safe for concurrent use, so one Block serves every goroutine.
var cipherCache = struct {
	sync.RWMutex
	blocks map[[16]byte]cipher.Block
}{blocks: make(map[[16]byte]cipher.Block)}

// blockFor returns the AES-128 block cipher for key, from the cache when
// it is there.
func blockFor(key [16]byte) cipher.Block {
	cipherCache.RLock()
	block, ok := cipherCache.blocks[key]
	cipherCache.RUnlock()
	if ok {
		return block
	}

	// aes.NewCipher fails only for a key length other than 16, 24 or 32.
	block, _ = aes.NewCipher(key[:])

	cipherCache.Lock()
	if len(cipherCache.blocks) >= maxCachedCiphers {
		clear(cipherCache.blocks)
	}
	cipherCache.blocks[key] = block
	cipherCache.Unlock()
	return block
}

// rangeScratch holds the subsample ranges of one fragment while it is
// written; the outer slice is reused across requests.
type rangeScratch struct {
	ranges [][]mp4.SubSamplePattern
}

var rangeScratchPool = sync.Pool{New: func() any { return new(rangeScratch) }}

func getRangeScratch(n int) *rangeScratch {
	s := rangeScratchPool.Get().(*rangeScratch)
	if cap(s.ranges) < n {
		s.ranges = make([][]mp4.SubSamplePattern, n)
	}
	s.ranges = s.ranges[:n]
	return s
}

func putRangeScratch(s *rangeScratch) {
	// Drop the per-sample slices so the pool does not pin them.
	clear(s.ranges)
	rangeScratchPool.Put(s)
}
