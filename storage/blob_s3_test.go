package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	testBucket      = "media"
	testAccessKeyID = "lockstream-test-id"
	testSecretKey   = "lockstream-test-secret-do-not-print"
)

// faultHandler wraps a fake S3 server and injects faults into ranged
// GETs, the requests ReadAt makes.
type faultHandler struct {
	next http.Handler

	mu       sync.Mutex
	status   int           // answer the next failures ranged GETs with this status
	code     string        // and this S3 error code
	failures int           // -1: every one
	truncate int           // cut the body of the next truncate ranged GETs; -1: every one
	delay    time.Duration // wait before answering each ranged GET
}

func (h *faultHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("Range") == "" {
		h.next.ServeHTTP(w, r)
		return
	}

	h.mu.Lock()
	status, code, delay := 0, h.code, h.delay
	if h.failures != 0 {
		status = h.status
		if h.failures > 0 {
			h.failures--
		}
	}
	truncate := h.truncate != 0
	if h.truncate > 0 {
		h.truncate--
	}
	h.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message></Error>`, code)
		return
	}
	if truncate {
		rec := httptest.NewRecorder()
		h.next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		w.Write(body[:len(body)/2])
		// Aborting the handler closes the connection mid-body.
		panic(http.ErrAbortHandler)
	}
	h.next.ServeHTTP(w, r)
}

func (h *faultHandler) set(f func(h *faultHandler)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// fakeS3 is an in-process S3 server on loopback with the sample asset.
type fakeS3 struct {
	server *httptest.Server
	faults *faultHandler
}

func startFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	// Credentials come from the environment as in production; the shared
	// config files and the instance metadata service are kept out of
	// reach so no request leaves loopback.
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "missing"))

	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	faults := &faultHandler{next: gofakes3.New(backend).Server()}
	srv := httptest.NewServer(faults)
	t.Cleanup(srv.Close)
	return &fakeS3{server: srv, faults: faults}
}

func (f *fakeS3) location(prefix string) string {
	return "s3://" + testBucket + "/" + prefix + "?endpoint=" + f.server.URL + "&use_path_style=true&disable_https=true"
}

func (f *fakeS3) open(t testing.TB, prefix string, opts BlobOptions) *Blob {
	t.Helper()
	s, err := NewBlob(context.Background(), f.location(prefix), opts)
	if err != nil {
		t.Fatalf("NewBlob: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestS3Store(t *testing.T) {
	srv := startFakeS3(t)
	uploadSample(t, srv.open(t, "library", BlobOptions{}))

	checkBlobStore(t, func(t *testing.T) *Blob { return srv.open(t, "library", BlobOptions{}) })
}

// faultOptions keep fault tests short: the bound of one call is
// (2+1)*300ms + 2*20ms.
var faultOptions = BlobOptions{
	RequestTimeout: 300 * time.Millisecond,
	Retry:          RetryPolicy{MaxRetries: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond},
}

const faultBound = 3*300*time.Millisecond + 2*20*time.Millisecond + 500*time.Millisecond

func TestS3Faults(t *testing.T) {
	srv := startFakeS3(t)
	store := srv.open(t, "", faultOptions)
	uploadSample(t, store)
	want, err := os.ReadFile(filepath.Join(sampleDir, "video_416x234_200k.mp4"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		fault       func(h *faultHandler)
		wantErr     error // nil: the read succeeds after retries
		wantRetries uint64
	}{
		{"503 SlowDown twice", func(h *faultHandler) { h.status, h.code, h.failures = 503, "SlowDown", 2 }, nil, 2},
		{"429 once", func(h *faultHandler) { h.status, h.code, h.failures = 429, "TooManyRequests", 1 }, nil, 1},
		{"500 once", func(h *faultHandler) { h.status, h.code, h.failures = 500, "InternalError", 1 }, nil, 1},
		{"body cut once", func(h *faultHandler) { h.truncate = 1 }, nil, 1},
		{"503 always", func(h *faultHandler) { h.status, h.code, h.failures = 503, "SlowDown", -1 }, ErrUnavailable, 2},
		{"body cut always", func(h *faultHandler) { h.truncate = -1 }, ErrUnavailable, 2},
		{"slow responses", func(h *faultHandler) { h.delay = time.Second }, ErrTimeout, 2},
		{"403 not retried", func(h *faultHandler) { h.status, h.code, h.failures = 403, "AccessDenied", -1 }, ErrDenied, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := store.Open(context.Background(), sampleAsset, "video_416x234_200k.mp4")
			if err != nil {
				t.Fatal(err)
			}
			srv.faults.set(tt.fault)
			defer srv.faults.set(func(h *faultHandler) { h.status, h.code, h.failures, h.truncate, h.delay = 0, "", 0, 0, 0 })

			// A read larger than one block bypasses the cache, so every
			// case reaches the server.
			const off, size = 1000, 200 << 10
			buf := make([]byte, size)
			before := store.Stats()
			start := time.Now()
			n, err := obj.ReadAt(buf, off)
			elapsed := time.Since(start)
			retries := store.Stats().Retries - before.Retries

			if tt.wantErr == nil {
				if err != nil || n != size {
					t.Fatalf("ReadAt = %d, %v, want %d, nil", n, err, size)
				}
				if !bytes.Equal(buf, want[off:off+size]) {
					t.Error("ReadAt returned other bytes than the file's")
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadAt error = %v, want %v", err, tt.wantErr)
				}
				if n != 0 {
					t.Errorf("ReadAt returned %d bytes with the error, want 0", n)
				}
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					t.Errorf("ReadAt error %v reads as the end of the file", err)
				}
			}
			if retries != tt.wantRetries {
				t.Errorf("retries = %d, want %d", retries, tt.wantRetries)
			}
			if elapsed > faultBound {
				t.Errorf("ReadAt took %v, more than the retry bound %v", elapsed, faultBound)
			}
			if errors.Is(tt.wantErr, ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout error %v does not wrap context.DeadlineExceeded", err)
			}
		})
	}
}

func TestS3ServerStopped(t *testing.T) {
	srv := startFakeS3(t)
	store := srv.open(t, "", faultOptions)
	uploadSample(t, store)
	obj, err := store.Open(context.Background(), sampleAsset, "video_640x360_400k.mp4")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := obj.ReadAt(buf, 0); err != nil {
		t.Fatalf("ReadAt before the stop: %v", err)
	}

	srv.server.CloseClientConnections()
	srv.server.Close()
	start := time.Now()
	n, err := obj.ReadAt(make([]byte, 200<<10), 100<<10)
	if !errors.Is(err, ErrUnavailable) || n != 0 {
		t.Errorf("ReadAt after the stop = %d, %v, want 0, ErrUnavailable", n, err)
	}
	if elapsed := time.Since(start); elapsed > faultBound {
		t.Errorf("ReadAt took %v, more than the retry bound %v", elapsed, faultBound)
	}
	if _, err := store.Open(context.Background(), sampleAsset, "video_640x360_400k.mp4"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open after the stop: error = %v, want ErrUnavailable", err)
	}
	for _, secret := range []string{testSecretKey, "Signature="} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}

func TestS3BlobReplaced(t *testing.T) {
	srv := startFakeS3(t)
	store := srv.open(t, "", BlobOptions{})
	checkBlobReplaced(t, store)
}

// checkBlobReplaced opens a blob, caches a block of it, replaces it and
// checks that the old object reports ErrChanged for uncached reads while
// a new Open sees the new version.
func checkBlobReplaced(t *testing.T, store *Blob) {
	t.Helper()
	ctx := context.Background()
	oldData := bytes.Repeat([]byte("old!"), 64<<10) // 256 KiB, four blocks
	newData := bytes.Repeat([]byte("NEW?"), 64<<10)
	putBlob(t, store, "replaced/file.mp4", oldData)

	obj, err := store.Open(ctx, "replaced", "file.mp4")
	if err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 100)
	if _, err := obj.ReadAt(small, 10); err != nil {
		t.Fatalf("ReadAt before the replacement: %v", err)
	}

	putBlob(t, store, "replaced/file.mp4", newData)

	// The cached block is of the old version, which is what obj names.
	if _, err := obj.ReadAt(small, 20); err != nil || !bytes.Equal(small, oldData[20:120]) {
		t.Errorf("cached ReadAt after the replacement = %q, %v, want old bytes", small[:8], err)
	}
	for _, size := range []int{100, 100 << 10} {
		n, err := obj.ReadAt(make([]byte, size), 150<<10)
		if !errors.Is(err, ErrChanged) || n != 0 {
			t.Errorf("uncached ReadAt of %d bytes after the replacement = %d, %v, want 0, ErrChanged", size, n, err)
		}
	}

	fresh, err := store.Open(ctx, "replaced", "file.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Info().ETag == obj.Info().ETag {
		t.Errorf("new Open has the old ETag %s", fresh.Info().ETag)
	}
	got := make([]byte, 100)
	if _, err := fresh.ReadAt(got, 10); err != nil || !bytes.Equal(got, newData[10:110]) {
		t.Errorf("ReadAt of the new version = %q, %v, want new bytes", got[:8], err)
	}
}

func TestS3OpenVersion(t *testing.T) {
	srv := startFakeS3(t)
	store := srv.open(t, "", BlobOptions{})
	uploadSample(t, store)
	ctx := context.Background()
	infos, err := store.List(ctx, sampleAsset)
	if err != nil {
		t.Fatal(err)
	}

	before := store.Stats()
	obj, err := store.OpenVersion(ctx, sampleAsset, infos[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.ReadAt(make([]byte, 8), 0); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	if got := store.Stats().Requests - before.Requests; got != 1 {
		t.Errorf("OpenVersion and one read made %d requests, want 1", got)
	}

	stale := infos[0]
	stale.ETag = `"0123456789abcdef0123456789abcdef"`
	obj, err = store.OpenVersion(ctx, sampleAsset, stale)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.ReadAt(make([]byte, 8), 0); !errors.Is(err, ErrChanged) {
		t.Errorf("ReadAt with a stale ETag: error = %v, want ErrChanged", err)
	}
}

func TestS3ConcurrentReadAt(t *testing.T) {
	srv := startFakeS3(t)
	store := srv.open(t, "", BlobOptions{CacheBytes: 256 << 10})
	uploadSample(t, store)
	want, err := os.ReadFile(filepath.Join(sampleDir, "video_854x480_700k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := store.Open(context.Background(), sampleAsset, "video_854x480_700k.mp4")
	if err != nil {
		t.Fatal(err)
	}

	// Small reads at spread offsets overflow the 256 KiB cache, so blocks
	// are fetched, evicted and fetched again while other readers copy.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			buf := make([]byte, 3000)
			for i := range 40 {
				off := int64((g*40+i)*7919) % int64(len(want)-len(buf))
				if _, err := obj.ReadAt(buf, off); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
					errs <- fmt.Errorf("bytes at offset %d differ from the file's", off)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkS3ReadAtCached measures the box-header reads that the block
// cache serves without a request.
func BenchmarkS3ReadAtCached(b *testing.B) {
	srv := startFakeS3(b)
	store := srv.open(b, "", BlobOptions{})
	uploadSample(b, store)
	obj, err := store.Open(context.Background(), sampleAsset, "video_416x234_200k.mp4")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 8)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := obj.ReadAt(buf, int64(i%4096)*8); err != nil {
			b.Fatal(err)
		}
	}
}
