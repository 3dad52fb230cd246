package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gocloud.dev/blob"
)

// blobObject is one version of an asset file in a blob store.
type blobObject struct {
	ctx   context.Context // from Open: bounds every read
	store *Blob
	key   string
	path  string // asset/name, for messages
	info  ObjectInfo
}

// errBadRange reports a response whose Content-Range is not the range
// requested, such as a server that ignored the Range header.
var errBadRange = errors.New("the response does not cover the requested range")

// ReadAt reads len(p) bytes at off with at most one ranged GET, or none
// when the cache holds the blocks. It returns io.EOF only at the end of
// the blob. On any other error it returns 0 bytes, never a part of the
// range: a transfer cut short is retried and then fails with
// ErrUnavailable.
func (o *blobObject) ReadAt(p []byte, off int64) (int, error) {
	switch {
	case off < 0:
		return 0, fmt.Errorf("reading %q at offset %d: negative offset", o.path, off)
	case len(p) == 0:
		return 0, nil
	case off >= o.info.Size:
		return 0, io.EOF
	}

	want := p
	if rest := o.info.Size - off; int64(len(p)) > rest {
		want = p[:rest]
	}

	var err error
	if o.store.cache != nil && int64(len(want)) < o.store.blockSize {
		err = o.readCached(want, off)
	} else {
		err = o.fetch(want, off)
	}
	if err != nil {
		return 0, err
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(p), nil
}

// readCached serves a read smaller than one block from the one or two
// aligned blocks it touches, fetching the missing ones with one GET.
func (o *blobObject) readCached(dst []byte, off int64) error {
	bs := o.store.blockSize
	first := off / bs
	last := (off + int64(len(dst)) - 1) / bs

	var blocks [2][]byte
	missFirst, missLast := int64(-1), int64(-1)
	for b := first; b <= last; b++ {
		if data, ok := o.store.cache.get(o.blockKey(b)); ok {
			blocks[b-first] = data
			o.store.stats.cacheHits.Add(1)
			continue
		}
		o.store.stats.cacheMisses.Add(1)
		if missFirst < 0 {
			missFirst = b
		}
		missLast = b
	}

	if missFirst >= 0 {
		// NOTE: concurrent readers that miss the same block each fetch
		// it; an in-flight table would save those duplicate GETs.
		start := missFirst * bs
		end := min((missLast+1)*bs, o.info.Size)
		buf := make([]byte, end-start)
		if err := o.fetch(buf, start); err != nil {
			return err
		}
		for b := missFirst; b <= missLast; b++ {
			lo := (b - missFirst) * bs
			data := buf[lo:min(lo+bs, int64(len(buf)))]
			o.store.cache.add(o.blockKey(b), data)
			blocks[b-first] = data
		}
	}

	n := copy(dst, blocks[0][off-first*bs:])
	if n < len(dst) {
		copy(dst[n:], blocks[1])
	}
	return nil
}

func (o *blobObject) blockKey(block int64) blockKey {
	return blockKey{store: o.store.name, key: o.key, etag: o.info.ETag, blockSize: o.store.blockSize, block: block}
}

// fetch fills dst from off with one ranged GET per attempt, pinned to the
// ETag the object was opened with.
func (o *blobObject) fetch(dst []byte, off int64) error {
	end := off + int64(len(dst)) - 1
	operation := fmt.Sprintf("reading bytes %d-%d of %q", off, end, o.path)
	opts := &blob.ReaderOptions{}
	if o.info.ETag != "" {
		opts.BeforeRead = o.store.hooks.ifMatch(o.info.ETag)
	}

	return o.store.call(o.ctx, operation, func(ctx context.Context) error {
		r, err := o.store.bucket.NewRangeReader(ctx, o.key, off, int64(len(dst)), opts)
		if err != nil {
			return err
		}
		defer r.Close()

		// Servers that ignore If-Match are caught by the response's ETag
		// and total size.
		meta := o.store.hooks.response(r)
		if o.info.ETag != "" && meta.etag != "" && !sameETag(meta.etag, o.info.ETag) {
			return fmt.Errorf("%w: ETag %s, opened as %s", errETagMismatch, meta.etag, o.info.ETag)
		}
		if size := r.Size(); size != o.info.Size {
			return fmt.Errorf("%w: %d bytes, opened with %d", errETagMismatch, size, o.info.Size)
		}
		if err := checkContentRange(meta.contentRange, off, end, o.info.Size); err != nil {
			return err
		}

		n, err := io.ReadFull(r, dst)
		o.store.stats.bytesRead.Add(uint64(n))
		return err
	})
}

// checkContentRange verifies a Content-Range header ("bytes 0-99/1000",
// RFC 9110 section 14.4) against the requested range. A response without
// one is accepted only when the range is the whole blob.
func checkContentRange(header string, first, last, size int64) error {
	if header == "" {
		if first == 0 && last == size-1 {
			return nil
		}
		return fmt.Errorf("%w: no Content-Range header", errBadRange)
	}
	want := "bytes " + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10) + "/"
	if !strings.HasPrefix(header, want) {
		return fmt.Errorf("%w: Content-Range %q", errBadRange, header)
	}
	return nil
}

// sameETag compares two ETags, ignoring the quotes some APIs drop.
func sameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`)
}

func (o *blobObject) Close() error { return nil }

func (o *blobObject) Info() ObjectInfo { return o.info }

// Size returns the blob's size, as the packager's File interface asks.
func (o *blobObject) Size() int64 { return o.info.Size }
