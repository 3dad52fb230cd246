package origin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

const testAdminToken = "test-admin-token-0123456789"

// testNow is the injected clock of every test server.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeProducer is the test side of the Producer seam: it answers from the
// request alone, so each test can tell what the server passed in. Track
// names select failures.
type fakeProducer struct {
	builds atomic.Int64
	// block, when not nil, is waited on before answering; waiting counts
	// the requests that reached it.
	block   chan struct{}
	waiting atomic.Int64
}

func (p *fakeProducer) body(req *StreamRequest, scheme packager.Scheme) []byte {
	return fmt.Appendf(nil, "kind=%s format=%s scheme=%s track=%s segment=%d name=%s base=%s\n",
		req.Kind, req.Format, scheme, req.Track, req.Segment, req.Name, req.BaseURL)
}

func (p *fakeProducer) ETag(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (string, error) {
	sum := sha256.Sum256(p.body(req, scheme))
	return `"` + hex.EncodeToString(sum[:8]) + `"`, nil
}

func (p *fakeProducer) Produce(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (*Output, error) {
	if scheme != req.Scheme {
		return nil, fmt.Errorf("scheme argument %v differs from req.Scheme %v", scheme, req.Scheme)
	}
	if p.block != nil {
		p.waiting.Add(1)
		select {
		case <-p.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	switch req.Track {
	case "missing":
		return nil, fmt.Errorf("track %q of %q: %w", req.Track, req.Name, packager.ErrNotFound)
	case "corrupt":
		return nil, fmt.Errorf("reading moov of %q: box past the end of the file: %w", "video.mp4", packager.ErrInvalidMedia)
	case "hevc":
		return nil, fmt.Errorf("HEVC in MPEG-TS is not supported; request format=m3u8-cmaf: %w", packager.ErrUnsupported)
	case "boom":
		return nil, fmt.Errorf("secret internal detail")
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "panic":
		panic("producer panicked")
	}

	p.builds.Add(1)
	body := p.body(req, scheme)
	if req.Track == "big" {
		body = bytes.Repeat([]byte("0123456789"), 1000)
	}
	etag, _ := p.ETag(ctx, req, loc, scheme)
	return &Output{Body: body, ETag: etag}, nil
}

// testEnv is a server over a real SQLite catalog and a media folder with
// one asset, "sample".
type testEnv struct {
	server   *Server
	catalog  *policy.SQLiteStore
	producer *fakeProducer
	logs     *syncBuffer
	media    string
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a log
// handler.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestEnv(t *testing.T, edit func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	media := filepath.Join(dir, "media")
	if err := os.MkdirAll(filepath.Join(media, "sample"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(media, "sample", "video.mp4"), []byte("not really mp4"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(media, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Media = media
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.AdminToken = testAdminToken
	// Short, so the timeout case does not slow the suite down.
	cfg.ProduceTimeout = 300 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}

	key := bytes.Repeat([]byte{7}, policy.MasterKeySize)
	catalog, err := policy.OpenSQLite(filepath.Join(dir, "catalog.db"), key)
	if err != nil {
		t.Fatalf("opening catalog: %v", err)
	}
	t.Cleanup(func() { catalog.Close() })

	store, err := storage.NewLocal(media)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	env := &testEnv{catalog: catalog, producer: &fakeProducer{}, logs: &syncBuffer{}, media: media}
	logger := slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.server, err = New(cfg, logger, Deps{
		Store:    store,
		Catalog:  catalog,
		Producer: env.producer,
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	if err := catalog.CreateContentKeyPolicy(context.Background(), &policy.ContentKeyPolicy{
		Name:    "open",
		Options: []policy.ContentKeyPolicyOption{{Restriction: policy.Restriction{Type: policy.RestrictionOpen}}},
	}); err != nil {
		t.Fatalf("creating content key policy: %v", err)
	}
	return env
}

// addLocator stores a locator for asset "sample" and returns its ID.
func (env *testEnv) addLocator(t *testing.T, name, streamingPolicy string, start, end *time.Time) uuid.UUID {
	t.Helper()
	loc := &policy.Locator{ID: uuid.New(), Name: name, Asset: "sample", StreamingPolicy: streamingPolicy, Start: start, End: end}
	if streamingPolicy == policy.PolicyClearKey {
		loc.ContentKeyPolicy = "open"
	}
	if err := env.catalog.CreateLocator(context.Background(), loc); err != nil {
		t.Fatalf("creating locator %q: %v", name, err)
	}
	return loc.ID
}

// do sends one request through the server's handler.
func (env *testEnv) do(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	env.server.Handler().ServeHTTP(rec, req)
	return rec
}

func timePtr(t time.Time) *time.Time { return &t }
