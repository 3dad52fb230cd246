package storage

import "gocloud.dev/blob"

// driverHooks reach the driver-specific types behind gocloud.dev/blob's
// As functions, for what the portable API lacks: conditional reads, the
// response's ETag and Content-Range, and the ETag of listed blobs.
type driverHooks struct {
	// ifMatch returns a ReaderOptions.BeforeRead that sends If-Match.
	ifMatch func(etag string) func(as func(any) bool) error
	// response returns what a range reader's response said about itself.
	response func(r *blob.Reader) responseMeta
	// listETag returns a listed blob's ETag, or "".
	listETag func(obj *blob.ListObject) string
}

// responseMeta holds the headers of a ranged GET response, empty where
// the driver did not expose them.
type responseMeta struct {
	etag         string
	contentRange string
}
