package origin

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lockstream/lockstream/storage"
)

// Open file cache bounds. Opening a local file through os.Root costs an
// openat per path element and an fstat, several times the cost of reading
// a small segment, so segment reads reuse open files. maxOpenFiles keeps
// the number of file descriptors held well below common limits, and
// openFileMaxAge makes a file removed from disk release its space soon
// after its last request.
const (
	maxOpenFiles   = 256
	openFileMaxAge = 30 * time.Second
)

// Bounds of the extra descriptors that responses send sample data from
// with sendfile(2). Linux sendfile reads from a descriptor's file offset,
// so each response needs a descriptor of its own, and the cached one is
// shared. With these bounds the cache holds at most maxOpenFiles +
// maxSendFiles descriptors, plus those of evicted files that requests
// still read. A response that finds no free descriptor reads the data
// into memory instead.
const (
	maxSendFilesPerFile = 8
	maxSendFiles        = 1024
)

// fileKey is one version of one asset file, as an asset listing saw it.
type fileKey struct {
	asset, name, etag string
	size              int64
	modTime           int64 // Unix nanoseconds
}

func fileKeyOf(asset string, info storage.ObjectInfo) fileKey {
	return fileKey{asset: asset, name: info.Name, etag: info.ETag, size: info.Size, modTime: info.ModTime.UnixNano()}
}

// fileCache keeps recently read asset files open, keyed by version, so a
// replaced file is opened anew once the listing shows its new version.
// Files are closed when evicted and no reader holds them any more.
//
// NOTE: files are evicted only when another file is opened, so an idle
// server keeps up to maxOpenFiles descriptors open, including those of
// files deleted from disk since.
type fileCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[fileKey]*list.Element
	lru     *list.List // of *openFile, most recently used at the front
	// sendFiles counts the sendfile descriptors of all files, idle or
	// checked out, and retired holds those evicted and not yet closed.
	sendFiles int
	retired   []storage.Object
}

// openFile is a cached open file with its reference count and its idle
// sendfile descriptors. refs, evicted, spares and sendFiles are guarded
// by fileCache.mu.
type openFile struct {
	key     fileKey
	obj     storage.Object
	opened  time.Time
	refs    int
	evicted bool
	// spares are idle descriptors of the same version for sendfile, and
	// sendFiles counts them together with those checked out.
	spares    []storage.Object
	sendFiles int
}

func newFileCache(now func() time.Time) *fileCache {
	return &fileCache{now: now, entries: map[fileKey]*list.Element{}, lru: list.New()}
}

// objectOpener opens an asset file by name; *assetOpener implements it.
type objectOpener interface {
	open(ctx context.Context, name string) (storage.Object, error)
}

// acquire returns the open file of the version key, opening it with o on
// a miss. The caller must release it. A file whose opened version
// differs from key (it changed since the listing) is returned uncached,
// and release closes it.
func (c *fileCache) acquire(ctx context.Context, key fileKey, o objectOpener) (*openFile, error) {
	now := c.now()
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		f := el.Value.(*openFile)
		if now.Sub(f.opened) < openFileMaxAge {
			f.refs++
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return f, nil
		}
	}
	c.mu.Unlock()

	obj, err := o.open(ctx, key.name)
	if err != nil {
		return nil, err
	}
	f := &openFile{key: key, obj: obj, opened: now, refs: 1}
	if fileKeyOf(key.asset, obj.Info()) != key {
		f.evicted = true
		return f, nil
	}

	var closing []*openFile
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		closing = c.evict(el, closing)
	}
	c.entries[key] = c.lru.PushFront(f)
	closing = c.evictStale(now, closing)
	c.mu.Unlock()

	c.closeEvicted(closing)
	return f, nil
}

// release gives back a file acquire returned, closing it when it was
// evicted and this was its last reader.
func (c *fileCache) release(f *openFile) {
	c.mu.Lock()
	f.refs--
	last := f.evicted && f.refs == 0
	c.mu.Unlock()
	if last {
		f.obj.Close()
	}
}

// forget evicts a file version, after a read found it changed.
func (c *fileCache) forget(key fileKey) {
	var closing []*openFile
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		closing = c.evict(el, closing)
	}
	c.mu.Unlock()
	c.closeEvicted(closing)
}

// evictStale evicts entries past openFileMaxAge and then the least
// recently used ones past maxOpenFiles. c.mu is held.
func (c *fileCache) evictStale(now time.Time, closing []*openFile) []*openFile {
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if now.Sub(el.Value.(*openFile).opened) >= openFileMaxAge {
			closing = c.evict(el, closing)
		}
		el = next
	}
	for c.lru.Len() > maxOpenFiles {
		closing = c.evict(c.lru.Back(), closing)
	}
	return closing
}

// evict removes an entry and adds it to closing when no reader holds it;
// otherwise its last release closes it. Its idle sendfile descriptors
// move to c.retired for closeEvicted, and those checked out close when
// they are checked in. c.mu is held.
func (c *fileCache) evict(el *list.Element, closing []*openFile) []*openFile {
	f := el.Value.(*openFile)
	c.lru.Remove(el)
	delete(c.entries, f.key)
	f.evicted = true
	if f.refs == 0 {
		closing = append(closing, f)
	}

	c.retired = append(c.retired, f.spares...)
	f.sendFiles -= len(f.spares)
	c.sendFiles -= len(f.spares)
	f.spares = nil
	return closing
}

// close closes every file no reader holds and marks the rest to close on
// release.
func (c *fileCache) close() {
	var closing []*openFile
	c.mu.Lock()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		closing = c.evict(el, closing)
		el = next
	}
	c.mu.Unlock()
	c.closeEvicted(closing)
}

// closeEvicted closes the files evict returned and the sendfile
// descriptors it retired. c.mu is not held, so closing never blocks
// other requests.
func (c *fileCache) closeEvicted(closing []*openFile) {
	c.mu.Lock()
	retired := c.retired
	c.retired = nil
	c.mu.Unlock()

	for _, f := range closing {
		f.obj.Close()
	}
	for _, obj := range retired {
		obj.Close()
	}
}

// checkout returns a descriptor of f's version for the caller's exclusive
// use, an idle one or one newly opened with o, which the caller gives
// back with checkin. It returns nil when f is not cached or the bounds
// are reached; the caller then reads the data through f. A newly opened
// file whose version differs from f's returns an error wrapping
// storage.ErrChanged.
func (c *fileCache) checkout(ctx context.Context, f *openFile, o objectOpener) (storage.Object, error) {
	c.mu.Lock()
	if f.evicted {
		c.mu.Unlock()
		return nil, nil
	}
	if n := len(f.spares); n > 0 {
		obj := f.spares[n-1]
		f.spares[n-1] = nil
		f.spares = f.spares[:n-1]
		c.mu.Unlock()
		return obj, nil
	}
	if f.sendFiles >= maxSendFilesPerFile || c.sendFiles >= maxSendFiles {
		c.mu.Unlock()
		return nil, nil
	}
	f.sendFiles++
	c.sendFiles++
	c.mu.Unlock()

	obj, err := o.open(ctx, f.key.name)
	if err != nil {
		c.uncount(f)
		return nil, err
	}
	if fileKeyOf(f.key.asset, obj.Info()) != f.key {
		obj.Close()
		c.uncount(f)
		return nil, fmt.Errorf("opening %q of asset %q again: %w", f.key.name, f.key.asset, errVersionChanged)
	}
	return obj, nil
}

// errVersionChanged reports a local file that differs from the version
// its asset listing saw.
var errVersionChanged = fmt.Errorf("the file differs from the listed version: %w", storage.ErrChanged)

// checkin gives back a descriptor checkout returned. It is kept for the
// next response unless f was evicted since, in which case it is closed.
func (c *fileCache) checkin(f *openFile, obj storage.Object) {
	c.mu.Lock()
	if !f.evicted {
		f.spares = append(f.spares, obj)
		c.mu.Unlock()
		return
	}
	f.sendFiles--
	c.sendFiles--
	c.mu.Unlock()
	obj.Close()
}

// discard closes a descriptor checkout returned, after it turned out to
// belong to another version of the file.
func (c *fileCache) discard(f *openFile, obj storage.Object) {
	c.uncount(f)
	obj.Close()
}

func (c *fileCache) uncount(f *openFile) {
	c.mu.Lock()
	f.sendFiles--
	c.sendFiles--
	c.mu.Unlock()
}
