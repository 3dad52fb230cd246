package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/lockstream/lockstream/packager"
)

// osFile is implemented by the objects of storage.Local: it returns the
// open file behind the object, which net/http can pass to sendfile(2).
type osFile interface {
	File() *os.File
}

// fileRun is a contiguous byte range of a file.
type fileRun struct {
	offset, size int64
}

// fileBody is the sample data of a response, sent from the track's file
// instead of memory. On a plain TCP connection net/http passes each run
// to sendfile(2), so the bytes never enter user space. On other
// connections (TLS, HTTP/2) it copies them through a buffer.
//
// The descriptor belongs to this response alone until Output.Release
// returns it to the file cache, because Linux sendfile reads from the
// descriptor's file offset, which send moves.
type fileBody struct {
	file *os.File
	runs []fileRun
	size int64

	// limited is reused for every run, so sending allocates nothing.
	limited io.LimitedReader

	// cache, listings and key let a response that finds the file shorter
	// than listed evict that version, so the next request lists the
	// asset again.
	cache    *fileCache
	listings *listingCache
	key      fileKey
}

// fileBodies recycles fileBody values and their run slices.
var fileBodies = sync.Pool{New: func() any { return new(fileBody) }}

// setSamples sets the runs to the byte ranges of samples, merging samples
// that follow each other in the file, as packager.ReadSamples does.
func (b *fileBody) setSamples(samples []packager.Sample) {
	b.runs = b.runs[:0]
	b.size = 0
	for _, s := range samples {
		size := int64(s.Size)
		if n := len(b.runs); n > 0 && b.runs[n-1].offset+b.runs[n-1].size == s.Offset {
			b.runs[n-1].size += size
		} else {
			b.runs = append(b.runs, fileRun{offset: s.Offset, size: size})
		}
		b.size += size
	}
}

// checkBounds returns an error when a run lies outside a file of size
// bytes, which means the index does not describe this file.
func (b *fileBody) checkBounds(size int64) error {
	for _, run := range b.runs {
		if run.offset < 0 || run.offset+run.size > size {
			return fmt.Errorf("sample data at offset %d (%d bytes) of %q in asset %q lies outside the file's %d bytes: %w",
				run.offset, run.size, b.key.name, b.key.asset, size, packager.ErrInvalidMedia)
		}
	}
	return nil
}

// length returns the number of bytes the body adds to a response; a nil
// body adds none.
func (b *fileBody) length() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// send writes the runs to w. It first flushes what w buffers, so
// net/http's ReadFrom does not copy the first 512 bytes of the data to
// sniff a content type that is already set. A file that turns out
// shorter than its runs aborts the response with http.ErrAbortHandler,
// which closes the connection, because the status and Content-Length are
// already sent. On a write error send returns: the client has gone, and
// net/http closes a connection whose body is shorter than its
// Content-Length.
func (b *fileBody) send(w http.ResponseWriter) {
	// A writer without Flush returns http.ErrNotSupported; the runs are
	// then copied after the buffered bytes all the same.
	http.NewResponseController(w).Flush()

	for _, run := range b.runs {
		if _, err := b.file.Seek(run.offset, io.SeekStart); err != nil {
			panic(http.ErrAbortHandler)
		}
		b.limited = io.LimitedReader{R: b.file, N: run.size}
		n, err := io.Copy(w, &b.limited)
		if err != nil {
			return
		}
		if n < run.size {
			b.evict()
			panic(http.ErrAbortHandler)
		}
	}
}

// evict drops the file version and the asset listing after the file
// turned out shorter than its listed size.
func (b *fileBody) evict() {
	b.cache.forget(b.key)
	b.listings.forget(b.key.asset)
}

// release returns b to the pool. The caller gives the descriptor back to
// the file cache.
func (b *fileBody) release() {
	b.file = nil
	b.limited = io.LimitedReader{}
	b.cache, b.listings = nil, nil
	fileBodies.Put(b)
}

// reader returns an io.ReadSeeker over head followed by the runs, for
// http.ServeContent, which handles Range and conditional requests. It
// reads with ReadAt, so it does not depend on the descriptor's offset.
func (b *fileBody) reader(head []byte) io.ReadSeeker {
	return &fileBodyReader{head: head, body: b}
}

// fileBodyReader reads a response made of a header in memory and a
// fileBody.
type fileBodyReader struct {
	head []byte
	body *fileBody
	pos  int64
}

func (r *fileBodyReader) Read(p []byte) (int, error) {
	headLen := int64(len(r.head))
	if r.pos < headLen {
		n := copy(p, r.head[r.pos:])
		r.pos += int64(n)
		return n, nil
	}

	off := r.pos - headLen
	for _, run := range r.body.runs {
		if off >= run.size {
			off -= run.size
			continue
		}
		want := int(min(int64(len(p)), run.size-off))
		n, err := r.body.file.ReadAt(p[:want], run.offset+off)
		r.pos += int64(n)
		if n < want {
			r.body.evict()
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("reading %q of asset %q at offset %d: %w", r.body.key.name, r.body.key.asset, run.offset+off, err)
		}
		return n, nil
	}
	return 0, io.EOF
}

func (r *fileBodyReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += int64(len(r.head)) + r.body.size
	default:
		return r.pos, fmt.Errorf("seek whence %d is invalid", whence)
	}
	if offset < 0 {
		return r.pos, fmt.Errorf("seek to negative position %d", offset)
	}
	r.pos = offset
	return offset, nil
}

// copyBuffers recycles the buffers that responseRecorder.ReadFrom copies
// through when the wrapped writer cannot take a reader.
var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// writerOnly hides every method of a writer but Write, so io.CopyBuffer
// does not call back into ReadFrom.
type writerOnly struct{ io.Writer }

// fileOutput builds a clear fMP4 segment or Smooth fragment of a local
// file whose sample data is sent from a descriptor of that file:
// writeHeader writes the boxes before the data from the sample table. It
// returns a nil Output and no error when the data cannot be sent that
// way (a blob store, or every descriptor the cache allows is in use), and
// the caller then reads the data into memory.
//
// A file that differs from its listed version in size or modification
// time gives an error wrapping storage.ErrChanged, before anything is
// written.
func (p *producer) fileOutput(ctx context.Context, j *job, t *packager.Track, r packager.SampleRange,
	contentType string, writeHeader func(dst []byte) ([]byte, error)) (*Output, error) {
	if _, ok := p.store.(versionOpener); ok {
		return nil, nil
	}
	f, err := p.openTrackFile(ctx, j, t)
	if err != nil {
		return nil, err
	}
	defer p.files.release(f)
	if _, ok := f.obj.(osFile); !ok {
		return nil, nil
	}

	obj, err := p.files.checkout(ctx, f, &j.opener)
	if err != nil {
		p.files.forget(f.key)
		return nil, err
	}
	if obj == nil {
		return nil, nil
	}
	local, ok := obj.(osFile)
	if !ok {
		p.files.discard(f, obj)
		return nil, nil
	}
	file := local.File()
	if err := checkFileVersion(file, f.key); err != nil {
		p.files.discard(f, obj)
		p.files.forget(f.key)
		return nil, err
	}

	body := fileBodies.Get().(*fileBody)
	body.file, body.cache, body.listings, body.key = file, p.files, p.listings, f.key
	body.setSamples(t.Samples[r.Start:r.End])
	if err := body.checkBounds(f.key.size); err != nil {
		body.release()
		p.files.checkin(f, obj)
		return nil, err
	}

	head := p.getHeadBuffer()
	if head.data, err = writeHeader(head.data[:0]); err != nil {
		p.putBuffer(head)
		body.release()
		p.files.checkin(f, obj)
		return nil, err
	}

	return &Output{
		Body:        head.data,
		File:        body,
		ContentType: contentType,
		ETag:        j.etag,
		Release: func() {
			p.putBuffer(head)
			body.release()
			p.files.checkin(f, obj)
		},
	}, nil
}
