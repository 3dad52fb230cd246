package origin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/fmp4"
	"github.com/lockstream/lockstream/packager/smooth"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// sendfileOrigin is a full origin over local media on a loopback test
// server, with one clear locator for the asset "sample".
type sendfileOrigin struct {
	base     string // URL prefix of the presentation, ending in "/"
	server   *Server
	producer *producer
	client   *http.Client
	http     *httptest.Server
}

func startSendfileOrigin(t testing.TB, media string) *sendfileOrigin {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Media = media
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = Secret("test-admin-token-0123456789abcdef")
	cfg.MasterKey = Secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")

	masterKey, err := policy.LoadMasterKey(string(cfg.MasterKey), cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := policy.OpenSQLite(filepath.Join(cfg.DataDir, "catalog.db"), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })
	loc := &policy.Locator{Name: "sendfile-clear", Asset: "sample", StreamingPolicy: policy.PolicyClearStreamingOnly}
	if err := catalog.CreateLocator(context.Background(), loc); err != nil {
		t.Fatalf("creating the clear locator: %v", err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg, logger, Deps{Catalog: catalog})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p, ok := srv.producer.(*producer)
	if !ok {
		t.Fatalf("producer is %T, want *producer", srv.producer)
	}
	ts := httptest.NewServer(srv.Handler())
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ts.Close()
		srv.Close()
	})
	return &sendfileOrigin{base: ts.URL + "/" + loc.ID.String() + "/sample.ism/", server: srv, producer: p, client: client, http: ts}
}

// fetch sends one request and returns the response with its body read.
func (o *sendfileOrigin) fetch(t testing.TB, method, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, o.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := o.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, body
}

// copySample copies the sample asset into a new media root.
func copySample(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "testdata", "media", "sample")
	root := t.TempDir()
	dst := filepath.Join(root, "sample")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return root
}

// expectedSegment is a clear fMP4 segment or Smooth fragment as the
// whole-segment writers build it from the file's bytes.
type expectedSegment struct {
	path string
	file string
	body []byte
}

// buildExpected builds every clear fMP4 segment and Smooth fragment of
// the asset "sample" below media with fmp4.Segment and
// fmp4.SmoothFragment, from a fresh index, with the targets cfg sets.
func buildExpected(t testing.TB, media string) []expectedSegment {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	store, err := storage.NewLocal(media)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opener := assetOpener{store: store, asset: "sample", listings: newListingCache(time.Now)}
	pres, err := packager.NewLoader(64<<20).LoadNamed(ctx, "sample", "sample", opener)
	if err != nil {
		t.Fatalf("loading the sample presentation: %v", err)
	}

	sampleData := func(tr *packager.Track, r packager.SampleRange) []byte {
		obj, err := store.Open(ctx, "sample", tr.File)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		data, err := packager.ReadSamples(obj, tr, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	var out []expectedSegment
	for _, f := range []struct {
		prefix string
		target time.Duration
	}{{"dash/clear/", cfg.DASHTargetDuration}, {"hls-cmaf/clear/", cfg.HLSTargetDuration}} {
		plan, err := pres.Plan(f.target)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range pres.Tracks {
			if tr.Kind != packager.KindVideo && tr.Kind != packager.KindAudio {
				continue
			}
			for i, r := range plan.Ranges[tr.Index] {
				body, err := fmp4.Segment(nil, tr, uint32(i+1), r.Start, tr.Samples[r.Start:r.End], sampleData(tr, r), packager.Protection{})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, expectedSegment{path: f.prefix + tr.Name + "/" + strconv.Itoa(i+1) + ".m4s", file: tr.File, body: body})
			}
		}
	}

	plan, err := pres.Plan(cfg.SmoothTargetDuration)
	if err != nil {
		t.Fatal(err)
	}
	m, err := smooth.New(pres, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, si := range m.Media().Streams {
		var start int64
		for k, c := range si.Chunk {
			if c.T != nil {
				start = *c.T
			}
			for _, level := range si.Levels {
				trackIndex, index, err := m.Lookup(si.Name, level.Bitrate, start)
				if err != nil {
					t.Fatal(err)
				}
				tr := pres.Tracks[trackIndex]
				r := plan.Ranges[trackIndex][index]
				body, err := fmp4.SmoothFragment(nil, tr, uint32(index+1), r.Start, tr.Samples[r.Start:r.End], sampleData(tr, r), smooth.TimeScale, packager.Protection{})
				if err != nil {
					t.Fatal(err)
				}
				path := fmt.Sprintf("QualityLevels(%d)/Fragments(%s=%d)", level.Bitrate, si.Name, start)
				out = append(out, expectedSegment{path: path, file: tr.File, body: body})
			}
			start += c.D
			_ = k
		}
	}
	return out
}

// sendFileCount returns the sendfile descriptors the producer's file
// cache holds, idle or checked out.
func (o *sendfileOrigin) sendFileCount() int {
	c := o.producer.files
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendFiles
}

func TestSendfileSegmentsMatchWholeSegment(t *testing.T) {
	media := copySample(t)
	want := buildExpected(t, media)
	o := startSendfileOrigin(t, media)

	for _, seg := range want {
		t.Run(seg.path, func(t *testing.T) {
			resp, body := o.fetch(t, http.MethodGet, seg.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET status = %d, want 200; body %q", resp.StatusCode, body)
			}
			if !bytes.Equal(body, seg.body) {
				t.Errorf("GET body (%d bytes) differs from the whole segment (%d bytes)", len(body), len(seg.body))
			}
			if got := resp.ContentLength; got != int64(len(seg.body)) {
				t.Errorf("GET Content-Length = %d, want %d", got, len(seg.body))
			}

			resp, body = o.fetch(t, http.MethodHead, seg.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HEAD status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(seg.body)) {
				t.Errorf("HEAD Content-Length = %q, want %d", got, len(seg.body))
			}
			if len(body) != 0 {
				t.Errorf("HEAD body is %d bytes, want none", len(body))
			}

			// The range starts in the boxes and ends in the sample data.
			lo, hi := 100, len(seg.body)-10
			resp, body = o.fetch(t, http.MethodGet, seg.path, http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", lo, hi)}})
			if resp.StatusCode != http.StatusPartialContent {
				t.Errorf("Range status = %d, want 206", resp.StatusCode)
			}
			if !bytes.Equal(body, seg.body[lo:hi+1]) {
				t.Errorf("Range body (%d bytes) differs from bytes %d-%d of the segment", len(body), lo, hi)
			}

			resp, body = o.fetch(t, http.MethodGet, seg.path, http.Header{"Range": {"bytes=-1000"}})
			if resp.StatusCode != http.StatusPartialContent {
				t.Errorf("suffix Range status = %d, want 206", resp.StatusCode)
			}
			if !bytes.Equal(body, seg.body[len(seg.body)-1000:]) {
				t.Errorf("suffix Range body (%d bytes) differs from the last 1000 bytes", len(body))
			}

			etag := resp.Header.Get("ETag")
			resp, _ = o.fetch(t, http.MethodGet, seg.path, http.Header{"If-None-Match": {etag}})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status = %d, want 304", etag, resp.StatusCode)
			}
		})
	}

	// The bodies above must have come from sendfile descriptors, not
	// from the in-memory path.
	if n := o.sendFileCount(); n == 0 {
		t.Error("file cache holds no sendfile descriptors after serving clear segments")
	}
}

func TestSendfileConcurrentSegments(t *testing.T) {
	media := copySample(t)
	var want []expectedSegment
	for _, seg := range buildExpected(t, media) {
		if seg.file == "video_854x480_700k.mp4" {
			want = append(want, seg)
		}
	}
	o := startSendfileOrigin(t, media)

	const workers, rounds = 64, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				seg := want[(w*rounds+i)%len(want)]
				req, _ := http.NewRequest(http.MethodGet, o.base+seg.path, nil)
				resp, err := o.client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("GET %s: %w", seg.path, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- fmt.Errorf("GET %s: reading body: %w", seg.path, err)
				case resp.StatusCode != http.StatusOK:
					errs <- fmt.Errorf("GET %s: status %d", seg.path, resp.StatusCode)
				case !bytes.Equal(body, seg.body):
					errs <- fmt.Errorf("GET %s: body (%d bytes) differs from the whole segment (%d bytes)", seg.path, len(body), len(seg.body))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A handler gives its descriptor back after the last byte is sent,
	// which can be just after the client has read it, so wait briefly
	// for the last handlers to finish.
	c := o.producer.files
	deadline := time.Now().Add(5 * time.Second)
	for {
		busy := c.busySendFiles()
		if busy == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		f := el.Value.(*openFile)
		if f.sendFiles > maxSendFilesPerFile {
			t.Errorf("%s holds %d sendfile descriptors, want at most %d", f.key.name, f.sendFiles, maxSendFilesPerFile)
		}
		if len(f.spares) != f.sendFiles {
			t.Errorf("%s: %d idle sendfile descriptors of %d after all responses, want all idle", f.key.name, len(f.spares), f.sendFiles)
		}
	}
}

// busySendFiles returns the number of sendfile descriptors that
// responses hold.
func (c *fileCache) busySendFiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	busy := 0
	for el := c.lru.Front(); el != nil; el = el.Next() {
		f := el.Value.(*openFile)
		busy += f.sendFiles - len(f.spares)
	}
	return busy
}

// countOpenFDs returns the number of descriptors the process has open on
// files under the test's temporary folders. Other tests running at the
// same time open files elsewhere, so they do not change the count.
func countOpenFDs(t testing.TB) int {
	t.Helper()
	return len(openFDs(t))
}

// openFDs returns the targets of the descriptors countOpenFDs counts.
func openFDs(t testing.TB) []string {
	t.Helper()
	// Every t.TempDir of a test is a folder in one parent folder.
	parent := filepath.Dir(t.TempDir()) + string(filepath.Separator)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("counting open descriptors needs /proc: %v", err)
	}
	var targets []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, parent) {
			targets = append(targets, strings.TrimPrefix(target, parent))
		}
	}
	return targets
}

func TestSendfileDescriptorsClosedOnClose(t *testing.T) {
	media := copySample(t)
	want := buildExpected(t, media)
	before := countOpenFDs(t)
	o := startSendfileOrigin(t, media)

	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(want); i += 16 {
				req, _ := http.NewRequest(http.MethodGet, o.base+want[i].path, nil)
				if resp, err := o.client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()

	held := o.sendFileCount()
	if held == 0 {
		t.Fatal("no sendfile descriptors held after serving clear segments")
	}
	files := o.producer.files.lru.Len()
	if max := files * maxSendFilesPerFile; held > max {
		t.Errorf("%d sendfile descriptors for %d files, want at most %d", held, files, max)
	}

	o.client.CloseIdleConnections()
	o.http.Close()
	o.server.Close()
	if n := o.sendFileCount(); n != 0 {
		t.Errorf("%d sendfile descriptors counted after Close, want 0", n)
	}
	// The SQLite catalog closes in cleanup, so its files are left out.
	var open []string
	for _, target := range openFDs(t) {
		if !strings.Contains(filepath.Base(target), "catalog.db") {
			open = append(open, target)
		}
	}
	if len(open) > before {
		t.Errorf("%d descriptors open after Close, %d before the server started: %q", len(open), before, open)
	}
}

func TestSendfileReplacedFile(t *testing.T) {
	const name = "video_854x480_700k.mp4"
	cases := []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"truncated in place", func(t *testing.T, path string) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"renamed over", func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "video_640x360_400k.mp4")
			data, err := os.ReadFile(other)
			if err != nil {
				t.Fatal(err)
			}
			tmp := path + ".new"
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			media := copySample(t)
			var before []expectedSegment
			for _, seg := range buildExpected(t, media) {
				if seg.file == name {
					before = append(before, seg)
				}
			}
			o := startSendfileOrigin(t, media)
			// Warm the listing, the index and the descriptor pool.
			for _, seg := range before {
				o.fetch(t, http.MethodGet, seg.path, nil)
			}

			tc.replace(t, filepath.Join(media, "sample", name))

			// Requests within the listing's lifetime use the old index.
			// Each response is an error status, or the bytes of the version
			// the index describes.
			for _, seg := range before {
				resp, body := o.fetch(t, http.MethodGet, seg.path, nil)
				if resp.StatusCode == http.StatusOK && !bytes.Equal(body, seg.body) {
					t.Errorf("GET %s after the file changed: 200 with %d bytes that are not the listed version's segment", seg.path, len(body))
				}
				if resp.StatusCode == http.StatusOK && resp.ContentLength != int64(len(body)) {
					t.Errorf("GET %s: Content-Length %d, body %d bytes", seg.path, resp.ContentLength, len(body))
				}
			}
		})
	}
}
