package packager

import "errors"

// Sentinel errors. Functions wrap them with the file, track or value at
// fault, so callers classify with errors.Is and show the wrapped message.
var (
	// ErrInvalidMedia reports a source file that is truncated, corrupt or
	// inconsistent (a box past the end of the file, an absurd sample count,
	// video renditions whose sync samples do not line up).
	ErrInvalidMedia = errors.New("invalid media")
	// ErrUnsupported reports a codec or feature the packager cannot
	// output, such as an unknown sample entry.
	ErrUnsupported = errors.New("unsupported")
	// ErrNotFound reports an unknown track or segment number.
	ErrNotFound = errors.New("not found")
)
