package origin

import (
	"container/list"
	"context"
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
}

// openFile is a cached open file with its reference count. refs and
// evicted are guarded by fileCache.mu.
type openFile struct {
	key     fileKey
	obj     storage.Object
	opened  time.Time
	refs    int
	evicted bool
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

	closeFiles(closing)
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
	closeFiles(closing)
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
// otherwise its last release closes it. c.mu is held.
func (c *fileCache) evict(el *list.Element, closing []*openFile) []*openFile {
	f := el.Value.(*openFile)
	c.lru.Remove(el)
	delete(c.entries, f.key)
	f.evicted = true
	if f.refs == 0 {
		closing = append(closing, f)
	}
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
	closeFiles(closing)
}

func closeFiles(files []*openFile) {
	for _, f := range files {
		f.obj.Close()
	}
}
