package origin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// gatedStore is a local store whose reads of one asset can be made to
// block until the test releases them, or to panic, as a hung or failing
// disk would. Its objects have no File method, so every segment is
// built in memory.
type gatedStore struct {
	storage.Store
	asset string
	// blocking makes ReadAt of the asset wait for release; panicking
	// makes it panic.
	blocking, panicking atomic.Bool
	release             chan struct{}
	releaseOnce         sync.Once
	blocked             atomic.Int32
}

// unblock lets every blocked and later read of the asset go on.
func (s *gatedStore) unblock() {
	s.releaseOnce.Do(func() { close(s.release) })
}

type gatedObject struct {
	storage.Object
	store *gatedStore
	asset string
}

func (s *gatedStore) Open(ctx context.Context, asset, name string) (storage.Object, error) {
	obj, err := s.Store.Open(ctx, asset, name)
	if err != nil {
		return nil, err
	}
	return &gatedObject{Object: obj, store: s, asset: asset}, nil
}

func (o *gatedObject) ReadAt(p []byte, off int64) (int, error) {
	if o.asset == o.store.asset {
		if o.store.panicking.Load() {
			panic("test disk failure")
		}
		if o.store.blocking.Load() {
			o.store.blocked.Add(1)
			<-o.store.release
		}
	}
	return o.Object.ReadAt(p, off)
}

// gatedOrigin is an origin over a gatedStore with the assets "slow",
// whose reads the store gates, and "fast", each a copy of the sample,
// and one clear locator for each.
type gatedOrigin struct {
	store      *gatedStore
	slow, fast string // URL prefixes of the presentations, ending in "/"
	client     *http.Client
}

func startGatedOrigin(t *testing.T, edit func(*Config)) *gatedOrigin {
	t.Helper()
	media := copySample(t)
	if err := os.CopyFS(filepath.Join(media, "slow"), os.DirFS(filepath.Join(media, "sample"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(media, "sample"), filepath.Join(media, "fast")); err != nil {
		t.Fatal(err)
	}
	local, err := storage.NewLocal(media)
	if err != nil {
		t.Fatal(err)
	}
	store := &gatedStore{Store: local, asset: "slow", release: make(chan struct{})}

	cfg := DefaultConfig()
	cfg.Media = media
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = Secret("test-admin-token-0123456789abcdef")
	cfg.MasterKey = Secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if edit != nil {
		edit(&cfg)
	}
	masterKey, err := policy.LoadMasterKey(string(cfg.MasterKey), cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := policy.OpenSQLite(filepath.Join(cfg.DataDir, "catalog.db"), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })

	o := &gatedOrigin{store: store, client: &http.Client{Timeout: 30 * time.Second}}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Deps{Catalog: catalog, Store: store})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		store.unblock()
		o.client.CloseIdleConnections()
		ts.Close()
		srv.Close()
		local.Close()
	})
	for _, asset := range []string{"slow", "fast"} {
		loc := &policy.Locator{Name: asset, Asset: asset, StreamingPolicy: policy.PolicyClearStreamingOnly}
		if err := catalog.CreateLocator(context.Background(), loc); err != nil {
			t.Fatal(err)
		}
		prefix := ts.URL + "/" + loc.ID.String() + "/sample.ism/"
		if asset == "slow" {
			o.slow = prefix
		} else {
			o.fast = prefix
		}
	}
	return o
}

// status sends a GET and returns its status and how long it took.
func (o *gatedOrigin) status(t *testing.T, url string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := o.client.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, time.Since(start)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// segmentPaths returns the HLS TS segment paths of the sample's tracks
// below a presentation prefix: four tracks, two segments each.
func segmentPaths(prefix string) []string {
	var paths []string
	for _, track := range []string{"video_200k", "video_400k", "video_700k", "audio_eng"} {
		for n := 1; n <= 2; n++ {
			paths = append(paths, fmt.Sprintf("%shls-ts/clear/%s/%d.ts", prefix, track, n))
		}
	}
	return paths
}

// TestSegmentCacheWaiterTimesOut blocks the build of one segment and
// checks that a second request for it, which waits for that build in the
// segment cache, gets 504 at the produce timeout.
func TestSegmentCacheWaiterTimesOut(t *testing.T) {
	const timeout = 500 * time.Millisecond
	o := startGatedOrigin(t, func(c *Config) {
		c.SegmentCacheMiB = 16
		c.ProduceTimeout = timeout
	})
	url := segmentPaths(o.slow)[0]
	if code, _ := o.status(t, o.slow+"manifest(format=m3u8-aapl)"); code != http.StatusOK {
		t.Fatalf("manifest: status %d", code)
	}

	o.store.blocking.Store(true)
	leader := make(chan int, 1)
	go func() {
		code, _ := o.status(t, url)
		leader <- code
	}()
	for o.store.blocked.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	code, took := o.status(t, url)
	if code != http.StatusGatewayTimeout {
		t.Errorf("waiting request: status %d, want 504", code)
	}
	if took > timeout+2*time.Second {
		t.Errorf("waiting request took %v, want about the produce timeout %v", took, timeout)
	}

	o.store.blocking.Store(false)
	o.store.unblock()
	<-leader
	if code, _ := o.status(t, url); code != http.StatusOK {
		t.Errorf("after the disk recovered: status %d, want 200", code)
	}
}

// TestBuildSlotsReleasedOnPanic makes more builds panic than there are
// build slots, then checks that builds still run.
func TestBuildSlotsReleasedOnPanic(t *testing.T) {
	for _, cacheMiB := range []int{0, 16} {
		t.Run(fmt.Sprintf("segment cache %d MiB", cacheMiB), func(t *testing.T) {
			o := startGatedOrigin(t, func(c *Config) {
				c.SegmentCacheMiB = cacheMiB
				c.ProduceTimeout = 2 * time.Second
			})
			if code, _ := o.status(t, o.slow+"manifest(format=m3u8-aapl)"); code != http.StatusOK {
				t.Fatalf("manifest: status %d", code)
			}

			o.store.panicking.Store(true)
			slots := buildSlotsPerCore * runtime.GOMAXPROCS(0)
			paths := segmentPaths(o.slow)
			for i := range slots + 2 {
				if code, _ := o.status(t, paths[i%len(paths)]); code != http.StatusInternalServerError {
					t.Errorf("build %d with a panicking read: status %d, want 500", i, code)
				}
			}
			o.store.panicking.Store(false)

			for _, url := range paths[:2] {
				if code, took := o.status(t, url); code != http.StatusOK {
					t.Errorf("GET %s after the panics: status %d after %v, want 200", url, code, took)
				}
			}
		})
	}
}

// TestBuildSlotsHungDiskSparesOtherAssets fills every build slot with
// builds whose reads hang, as on a stuck network mount below the media
// root, and requests a segment of another asset on a healthy disk.
func TestBuildSlotsHungDiskSparesOtherAssets(t *testing.T) {
	const timeout = time.Second
	o := startGatedOrigin(t, func(c *Config) { c.ProduceTimeout = timeout })
	for _, prefix := range []string{o.slow, o.fast} {
		if code, _ := o.status(t, prefix+"manifest(format=m3u8-aapl)"); code != http.StatusOK {
			t.Fatalf("manifest: status %d", code)
		}
	}

	o.store.blocking.Store(true)
	slots := buildSlotsPerCore * runtime.GOMAXPROCS(0)
	paths := segmentPaths(o.slow)
	var wg sync.WaitGroup
	for i := range slots {
		wg.Go(func() { o.status(t, paths[i%len(paths)]) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for int(o.store.blocked.Load()) < slots && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	code, took := o.status(t, segmentPaths(o.fast)[0])
	o.store.unblock()
	wg.Wait()
	if code != http.StatusOK {
		t.Errorf("segment of a healthy asset while %d builds hang: status %d after %v, want 200", slots, code, took)
	}
}
