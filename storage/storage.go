// Package storage reads asset files: from a local folder today, from blob
// storage through the same interface. An asset is a folder (or blob prefix)
// below the media root; its files are addressed by plain names.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

var (
	// ErrNotFound reports an asset or file that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidName reports an asset or file name that is not a single
	// plain path element, or that would resolve outside the media root.
	ErrInvalidName = errors.New("invalid name")
)

// Store gives access to the assets below one media root.
type Store interface {
	// Open opens one file of an asset for random access.
	Open(ctx context.Context, asset, name string) (Object, error)
	// List returns the files of an asset, sorted by name.
	List(ctx context.Context, asset string) ([]ObjectInfo, error)
	Close() error
}

// Object is an open asset file. ReadAt may be called concurrently.
type Object interface {
	io.ReaderAt
	io.Closer
	Info() ObjectInfo
}

// ObjectInfo identifies one version of a file.
type ObjectInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	ETag    string // the store's version tag, empty for local files
}
