package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrInvalidLocation reports a media location that names no usable
// store: an unknown scheme, a missing bucket or region, a bad parameter.
var ErrInvalidLocation = errors.New("invalid media location")

// OpenLocation opens the store of a media location: a folder path or a
// file:///absolute/path URL opens a Local store, and azblob://CONTAINER
// and s3://BUCKET URLs, with an optional /PREFIX path, open a Blob store
// as NewBlob describes. opts applies to blob stores only.
func OpenLocation(ctx context.Context, location string, opts BlobOptions) (Store, error) {
	if location == "" {
		return nil, fmt.Errorf("media location is empty: give a folder path, a file:// URL, azblob:// or s3://: %w", ErrInvalidLocation)
	}
	scheme, _, ok := strings.Cut(location, "://")
	if !ok {
		return NewLocal(location)
	}

	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(location)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return nil, fmt.Errorf("file URL %q is not of the form file:///absolute/path: %w", location, ErrInvalidLocation)
		}
		return NewLocal(u.Path)
	case "azblob", "s3":
		return NewBlob(ctx, location, opts)
	}
	return nil, fmt.Errorf("media location scheme %q is unknown, want a folder path, file://, azblob:// or s3://: %w", scheme, ErrInvalidLocation)
}
