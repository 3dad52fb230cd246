package storage

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
)

// Blob is a Store over a bucket of Azure Blob Storage or an
// S3-compatible server. Each asset is the blob prefix {prefix}{asset}/
// and each blob directly below it is one asset file.
//
// Reads are ranged GETs pinned to the ETag seen when the file was opened.
// Reads smaller than one block go through a RangeCache of aligned blocks,
// so walking box headers costs one request per block, not one per header.
type Blob struct {
	// Configuration.
	name      string // scheme, bucket and prefix, for cache keys and messages
	prefix    string // "" or ending in "/"
	timeout   time.Duration
	retry     RetryPolicy
	blockSize int64
	cache     *RangeCache // nil when caching is off
	hooks     driverHooks

	// State.
	bucket *blob.Bucket
	stats  blobCounters
}

var _ Store = (*Blob)(nil)

// BlobOptions configures a Blob store. The zero value gives the defaults.
type BlobOptions struct {
	// RequestTimeout bounds each attempt of each store request, including
	// the transfer of a GET's body. Default 10 s.
	RequestTimeout time.Duration
	// Retry bounds the attempts after timeouts, 5xx and throttling.
	Retry RetryPolicy
	// BlockSize is the read-ahead unit: a read smaller than one block
	// fetches the aligned blocks around it into the cache. Default 64 KiB.
	BlockSize int64
	// CacheBytes bounds the block cache. Default DefaultCacheBytes. A
	// negative value turns caching off, so every read is one ranged GET.
	CacheBytes int64
	// Cache, when set, is used in place of a new cache of CacheBytes, so
	// several stores can share one bound.
	Cache *RangeCache
	// Getenv reads the credential and endpoint variables. Default
	// os.Getenv.
	Getenv func(string) string
}

const (
	defaultRequestTimeout = 10 * time.Second
	defaultBlockSize      = 64 << 10
	// maxListFiles bounds the files of one asset that List returns, so a
	// prefix holding a whole library cannot exhaust memory.
	maxListFiles = 10000
	listPageSize = 1000
)

// BlobStats are a Blob store's counters since it was opened.
type BlobStats struct {
	// Requests counts store requests: HEAD, GET and list pages, each
	// attempt once.
	Requests uint64
	// Retries counts the attempts that followed a failed one.
	Retries uint64
	// BytesRead counts the body bytes of ranged GETs.
	BytesRead uint64
	// CacheHits and CacheMisses count block lookups of reads smaller
	// than one block.
	CacheHits   uint64
	CacheMisses uint64
}

type blobCounters struct {
	requests, retries, bytesRead, cacheHits, cacheMisses atomic.Uint64
}

// NewBlob opens the bucket of a media location URL:
//
//	azblob://CONTAINER[/PREFIX][?domain=...&protocol=...&localemu=...&storage_account=...]
//	s3://BUCKET[/PREFIX][?region=...&endpoint=...&use_path_style=true&...]
//
// Credentials come from the environment as OpenAzureBucket and
// OpenS3Bucket describe; no request is made until the first Open or List.
func NewBlob(ctx context.Context, location string, opts BlobOptions) (*Blob, error) {
	u, err := url.Parse(location)
	if err != nil {
		// url.Parse quotes the whole input, which may hold a secret.
		return nil, fmt.Errorf("media location is not a valid URL: %w", ErrInvalidLocation)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}

	var bucket *blob.Bucket
	var hooks driverHooks
	switch u.Scheme {
	case "azblob":
		bucket, hooks, err = openAzureBucket(ctx, u, opts.Getenv)
	case "s3":
		bucket, hooks, err = openS3Bucket(ctx, u, opts.Getenv)
	default:
		return nil, fmt.Errorf("media location scheme %q is not a blob store, want azblob:// or s3://: %w", u.Scheme, ErrInvalidLocation)
	}
	if err != nil {
		return nil, err
	}

	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return newBlobStore(bucket, hooks, u.Scheme+"://"+u.Host+"/"+prefix, prefix, opts), nil
}

func newBlobStore(bucket *blob.Bucket, hooks driverHooks, name, prefix string, opts BlobOptions) *Blob {
	s := &Blob{
		name:      name,
		prefix:    prefix,
		timeout:   opts.RequestTimeout,
		retry:     opts.Retry.withDefaults(),
		blockSize: opts.BlockSize,
		cache:     opts.Cache,
		hooks:     hooks,
		bucket:    bucket,
	}
	if s.timeout <= 0 {
		s.timeout = defaultRequestTimeout
	}
	if s.blockSize <= 0 {
		s.blockSize = defaultBlockSize
	}
	if s.cache == nil && opts.CacheBytes >= 0 {
		size := opts.CacheBytes
		if size == 0 {
			size = DefaultCacheBytes
		}
		s.cache = NewRangeCache(size)
	}
	return s
}

// Open reads the size, modification time and ETag of one asset file and
// returns it for ranged reads. Reads run under ctx: once it is done,
// ReadAt fails. Errors wrap ErrInvalidName, ErrNotFound, ErrDenied,
// ErrTimeout or ErrUnavailable.
func (s *Blob) Open(ctx context.Context, asset, name string) (Object, error) {
	if err := checkNames(asset, name); err != nil {
		return nil, err
	}
	key := s.prefix + asset + "/" + name

	var attrs *blob.Attributes
	err := s.call(ctx, fmt.Sprintf("opening %q in asset %q", name, asset), func(ctx context.Context) error {
		var err error
		attrs, err = s.bucket.Attributes(ctx, key)
		return err
	})
	if err != nil {
		return nil, err
	}

	info := ObjectInfo{Name: name, Size: attrs.Size, ModTime: attrs.ModTime, ETag: attrs.ETag}
	return &blobObject{ctx: ctx, store: s, key: key, path: asset + "/" + name, info: info}, nil
}

// OpenVersion returns the file version that info, from List, describes,
// without a request: reads are pinned to info.ETag and fail with
// ErrChanged once the blob was replaced. A caller that indexed the file
// from the same List saves one request per segment this way, and can
// never read bytes of another version than the one it indexed. Without
// an ETag in info it falls back to Open.
func (s *Blob) OpenVersion(ctx context.Context, asset string, info ObjectInfo) (Object, error) {
	if err := checkNames(asset, info.Name); err != nil {
		return nil, err
	}
	if info.ETag == "" {
		return s.Open(ctx, asset, info.Name)
	}
	key := s.prefix + asset + "/" + info.Name
	return &blobObject{ctx: ctx, store: s, key: key, path: asset + "/" + info.Name, info: info}, nil
}

// List returns the blobs directly below the asset's prefix whose names
// CheckName accepts, sorted by name. It returns ErrNotFound when no blob
// has the prefix, and an error when the asset has more than 10000 files.
func (s *Blob) List(ctx context.Context, asset string) ([]ObjectInfo, error) {
	if err := CheckName(asset); err != nil {
		return nil, fmt.Errorf("asset name: %w", err)
	}
	prefix := s.prefix + asset + "/"
	operation := fmt.Sprintf("listing asset %q", asset)

	var infos []ObjectInfo
	seen := 0
	token := blob.FirstPageToken
	for {
		var page []*blob.ListObject
		var next []byte
		err := s.call(ctx, operation, func(ctx context.Context) error {
			var err error
			page, next, err = s.bucket.ListPage(ctx, token, listPageSize, &blob.ListOptions{Prefix: prefix, Delimiter: "/"})
			return err
		})
		if err != nil {
			return nil, err
		}

		seen += len(page)
		if seen > maxListFiles {
			return nil, fmt.Errorf("%s: more than %d entries, the maximum for one asset", operation, maxListFiles)
		}
		for _, obj := range page {
			name := strings.TrimPrefix(obj.Key, prefix)
			if obj.IsDir || CheckName(name) != nil {
				continue
			}
			infos = append(infos, ObjectInfo{Name: name, Size: obj.Size, ModTime: obj.ModTime, ETag: s.hooks.listETag(obj)})
		}
		if len(next) == 0 {
			break
		}
		token = next
	}

	if seen == 0 {
		return nil, fmt.Errorf("%s: %w", operation, ErrNotFound)
	}
	slices.SortFunc(infos, func(a, b ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// Close closes the bucket. Objects still open fail their next read.
func (s *Blob) Close() error {
	return s.bucket.Close()
}

// Stats returns the store's counters.
func (s *Blob) Stats() BlobStats {
	return BlobStats{
		Requests:    s.stats.requests.Load(),
		Retries:     s.stats.retries.Load(),
		BytesRead:   s.stats.bytesRead.Load(),
		CacheHits:   s.stats.cacheHits.Load(),
		CacheMisses: s.stats.cacheMisses.Load(),
	}
}

// String returns the store's scheme, bucket and prefix, without the
// query of its location.
func (s *Blob) String() string { return s.name }
