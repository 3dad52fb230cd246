package origin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/policy"
)

// benchOrigin is an origin over the sample asset with one clear and one
// encrypted (Predefined_ClearKey) locator, driven through its handler
// without a network.
type benchOrigin struct {
	handler   http.Handler
	clear     string
	encrypted string
	catalog   *policy.SQLiteStore
	dataDir   string
}

// newBenchOrigin builds the origin as `lockstream serve --log-level warn`
// runs it: SQLite catalog, local media, packaging producer, metrics and
// the request log middleware.
func newBenchOrigin(b *testing.B) *benchOrigin {
	b.Helper()

	cfg := origin.DefaultConfig()
	cfg.Media = sampleMedia(b)
	cfg.DataDir = b.TempDir()
	cfg.AdminToken = origin.Secret(testAdminToken)
	cfg.MasterKey = origin.Secret(testMasterKey)

	masterKey, err := policy.LoadMasterKey(testMasterKey, cfg.DataDir, nil)
	if err != nil {
		b.Fatal(err)
	}
	catalog, err := policy.OpenSQLite(filepath.Join(cfg.DataDir, "catalog.db"), masterKey)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { catalog.Close() })

	ctx := context.Background()
	keyPolicy := testTokenPolicy("bench-policy")
	if err := catalog.CreateContentKeyPolicy(ctx, keyPolicy); err != nil {
		b.Fatalf("creating content key policy: %v", err)
	}
	clear := &policy.Locator{Name: "bench-clear", Asset: "sample", StreamingPolicy: policy.PolicyClearStreamingOnly}
	if err := catalog.CreateLocator(ctx, clear); err != nil {
		b.Fatalf("creating the clear locator: %v", err)
	}
	encrypted := &policy.Locator{Name: "bench-aes", Asset: "sample", StreamingPolicy: policy.PolicyClearKey,
		ContentKeyPolicy: keyPolicy.Name}
	if err := catalog.CreateLocator(ctx, encrypted); err != nil {
		b.Fatalf("creating the encrypted locator: %v", err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := origin.New(cfg, logger, origin.Deps{Catalog: catalog})
	if err != nil {
		b.Fatalf("origin.New: %v", err)
	}
	b.Cleanup(func() { srv.Close() })

	return &benchOrigin{handler: srv.Handler(), clear: clear.ID.String(), encrypted: encrypted.ID.String(),
		catalog: catalog, dataDir: cfg.DataDir}
}

// discardWriter is an http.ResponseWriter that counts the body and keeps
// nothing, so the benchmark measures the server and not a recorder's
// buffer growth.
type discardWriter struct {
	header http.Header
	status int
	bytes  int64
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.bytes += int64(len(p))
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
	w.bytes = 0
}

// segmentCases are the media segments of the highest rendition that the
// side-by-side benchmark compares with nginx, plus Smooth fragments.
// HLS plans 6 s segments and DASH and Smooth 2 s ones over the 12 s
// sample, so each case addresses a segment in the middle.
var segmentCases = []struct {
	name      string
	encrypted bool
	path      string
}{
	{"HLSTSClear", false, "hls-ts/clear/video_700k/2.ts"},
	{"HLSTSAES128", true, "hls-ts/cbc/video_700k/2.ts"},
	{"HLSCMAFAES128", true, "hls-cmaf/cbc/video_700k/2.m4s"},
	{"DASHClear", false, "dash/clear/video_700k/3.m4s"},
	{"DASHCENC", true, "dash/cenc/video_700k/3.m4s"},
	{"DASHCENCAudio", true, "dash/cenc/audio_eng/3.m4s"},
	{"SmoothClear", false, "QualityLevels(697438)/Fragments(video=40000000)"},
	{"SmoothCENC", true, "QualityLevels(697438)/Fragments(video=40000000,encryption=cenc)"},
}

func (o *benchOrigin) segmentURL(encrypted bool, path string) string {
	locator := o.clear
	if encrypted {
		locator = o.encrypted
	}
	return "http://127.0.0.1/" + locator + "/sample.ism/" + path
}

// serveOnce sends one GET through the handler and fails unless it
// answers 200.
func (o *benchOrigin) serveOnce(b *testing.B, w *discardWriter, req *http.Request) {
	w.reset()
	o.handler.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Fatalf("GET %s: status %d", req.URL, w.status)
	}
}

// BenchmarkServeSegment measures one segment request at a time through
// the whole handler: routing, locator lookup, packaging, encryption and
// the response writer.
func BenchmarkServeSegment(b *testing.B) {
	o := newBenchOrigin(b)
	for _, c := range segmentCases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, o.segmentURL(c.encrypted, c.path), nil)
			w := &discardWriter{header: http.Header{}}
			o.serveOnce(b, w, req) // warms the index cache and sizes the output
			b.SetBytes(w.bytes)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				o.serveOnce(b, w, req)
			}
		})
	}
}

// BenchmarkServeSegmentParallel runs the same requests from GOMAXPROCS
// goroutines at once, which shows lock contention and whether the cores
// are used.
func BenchmarkServeSegmentParallel(b *testing.B) {
	o := newBenchOrigin(b)
	for _, c := range segmentCases {
		b.Run(c.name, func(b *testing.B) {
			url := o.segmentURL(c.encrypted, c.path)
			w := &discardWriter{header: http.Header{}}
			o.serveOnce(b, w, httptest.NewRequest(http.MethodGet, url, nil))
			b.SetBytes(w.bytes)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, url, nil)
				w := &discardWriter{header: http.Header{}}
				for pb.Next() {
					w.reset()
					o.handler.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Errorf("GET %s: status %d", url, w.status)
						return
					}
				}
			})
		})
	}
}

// BenchmarkServeSegmentNumbers walks every media segment of the highest
// DASH rendition in turn, as players do, instead of repeating one.
func BenchmarkServeSegmentNumbers(b *testing.B) {
	o := newBenchOrigin(b)
	const segments = 6
	var reqs []*http.Request
	var total int64
	w := &discardWriter{header: http.Header{}}
	for n := 1; n <= segments; n++ {
		req := httptest.NewRequest(http.MethodGet, o.segmentURL(true, "dash/cenc/video_700k/"+strconv.Itoa(n)+".m4s"), nil)
		o.serveOnce(b, w, req)
		total += w.bytes
		reqs = append(reqs, req)
	}
	b.SetBytes(total / segments)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		o.serveOnce(b, w, reqs[i%segments])
		i++
	}
}
