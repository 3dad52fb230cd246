package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Local is a Store over a folder on the local file system. Each
// sub-folder of the root is one asset, and each regular file in it is one
// asset file. Deeper folders are not part of any asset.
//
// Every lookup goes through an os.Root, which confines path resolution to
// the media root. A symbolic link is followed when its target is a relative
// path that stays inside the root, so assets may share rendition files.
// Links with an absolute target, and links that lead outside the root,
// are rejected with ErrInvalidName.
type Local struct {
	dir  string
	root *os.Root
}

var _ Store = (*Local)(nil)

// NewLocal opens the media root dir, which must exist. The folder stays
// open until Close.
func NewLocal(dir string) (*Local, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening media root %q: %w", dir, err)
	}
	return &Local{dir: dir, root: root}, nil
}

// Open opens file name of asset for concurrent random access.
// It returns ErrInvalidName for a name that CheckName rejects or that
// resolves outside the root, and ErrNotFound when the asset or file does
// not exist or is not a regular file.
func (l *Local) Open(ctx context.Context, asset, name string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkNames(asset, name); err != nil {
		return nil, err
	}

	rel := filepath.Join(asset, name)
	f, err := l.root.Open(rel)
	if err != nil {
		return nil, l.classify(asset, name, err)
	}

	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading file info of %q in asset %q: %w", name, asset, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%q in asset %q is not a regular file: %w", name, asset, ErrNotFound)
	}

	info := ObjectInfo{Name: name, Size: st.Size(), ModTime: st.ModTime()}
	return &localObject{file: f, info: info}, nil
}

// List returns the regular files of asset that Open accepts, sorted by
// name. Hidden files, sub-folders and links that lead outside the root are
// left out. It returns ErrNotFound when the asset folder does not exist.
func (l *Local) List(ctx context.Context, asset string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := CheckName(asset); err != nil {
		return nil, fmt.Errorf("asset name: %w", err)
	}

	dir, err := l.root.Open(asset)
	if err != nil {
		return nil, l.classify(asset, "", err)
	}
	defer dir.Close()

	entries, err := dir.ReadDir(-1)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("asset %q is not a folder: %w", asset, ErrNotFound)
		}
		return nil, fmt.Errorf("listing asset %q: %w", asset, err)
	}

	infos := make([]ObjectInfo, 0, len(entries))
	for _, e := range entries {
		if CheckName(e.Name()) != nil {
			continue
		}
		// Stat through the root follows links that stay inside it and
		// fails for those that leave it, which are skipped.
		st, err := l.root.Stat(filepath.Join(asset, e.Name()))
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		infos = append(infos, ObjectInfo{Name: e.Name(), Size: st.Size(), ModTime: st.ModTime()})
	}
	slices.SortFunc(infos, func(a, b ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// Close releases the media root. Objects already open stay readable.
func (l *Local) Close() error {
	return l.root.Close()
}

func checkNames(asset, name string) error {
	if err := CheckName(asset); err != nil {
		return fmt.Errorf("asset name: %w", err)
	}
	if err := CheckName(name); err != nil {
		return fmt.Errorf("file name in asset %q: %w", asset, err)
	}
	return nil
}

// classify turns an error from os.Root into ErrNotFound or ErrInvalidName
// where one of them applies. name is empty when the asset folder itself
// was opened.
func (l *Local) classify(asset, name string, err error) error {
	target := fmt.Sprintf("asset %q", asset)
	if name != "" {
		target = fmt.Sprintf("%q in asset %q", name, asset)
	}

	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("opening %s: %w", target, ErrNotFound)
	case isRootEscape(err):
		return fmt.Errorf("opening %s: a symbolic link leads outside the media root: %w", target, ErrInvalidName)
	}
	return fmt.Errorf("opening %s below %q: %w", target, l.dir, err)
}

// isRootEscape reports whether err is os.Root's rejection of a path that
// resolves outside the root. The os package keeps that error unexported
// (Go 1.26). For the reads Local makes with names that passed CheckName,
// it is the only error os.Root returns whose cause is not a syscall.Errno.
func isRootEscape(err error) bool {
	var pathErr *fs.PathError
	if !errors.As(err, &pathErr) {
		return false
	}
	var errno syscall.Errno
	return !errors.As(pathErr.Err, &errno)
}

// localObject is an open asset file. *os.File's ReadAt uses pread, which
// is safe for concurrent use.
type localObject struct {
	file *os.File
	info ObjectInfo
}

func (o *localObject) ReadAt(p []byte, off int64) (int, error) { return o.file.ReadAt(p, off) }

func (o *localObject) Close() error { return o.file.Close() }

func (o *localObject) Info() ObjectInfo { return o.info }

// File returns the open file, for a caller that sends its bytes with
// sendfile(2), which Go's net package does only from an *os.File. The
// object keeps ownership, so the caller must not close the file. Linux
// sendfile reads from the file's offset, so a caller that seeks or reads
// through the file must be the object's only user; ReadAt is unaffected.
// Other packages reach this method through an interface assertion on the
// Object that Local.Open returns.
func (o *localObject) File() *os.File { return o.file }
