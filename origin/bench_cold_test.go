package origin_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lockstream/lockstream/origin"
)

// BenchmarkServeCold measures the first request a new server gets for
// the sample asset: listing the asset folder, opening and indexing its
// four MP4 files, planning the segments and building the response.
// Each iteration starts a new server on one shared catalog outside the
// timer. The files come from the page cache, so this is the cost of a
// cold index, not of a cold disk.
func BenchmarkServeCold(b *testing.B) {
	shared := newBenchOrigin(b)
	cfg := origin.DefaultConfig()
	cfg.Media = sampleMedia(b)
	cfg.DataDir = shared.dataDir
	cfg.MasterKey = origin.Secret(testMasterKey)
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))

	cases := []struct {
		name      string
		encrypted bool
		path      string
	}{
		{"HLSManifest", false, "manifest(format=m3u8-aapl)"},
		{"DASHManifest", false, "manifest(format=mpd-time-cmaf)"},
		{"HLSTSAES128", true, "hls-ts/cbc/video_700k/2.ts"},
		{"DASHCENC", true, "dash/cenc/video_700k/3.m4s"},
		{"DASHClear", false, "dash/clear/video_700k/3.m4s"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := &discardWriter{header: http.Header{}}
			req := httptest.NewRequest(http.MethodGet, shared.segmentURL(c.encrypted, c.path), nil)
			for b.Loop() {
				b.StopTimer()
				srv, err := origin.New(cfg, logger, origin.Deps{Catalog: shared.catalog})
				if err != nil {
					b.Fatalf("origin.New: %v", err)
				}
				o := &benchOrigin{handler: srv.Handler()}
				b.StartTimer()

				o.serveOnce(b, w, req)

				b.StopTimer()
				srv.Close()
				b.StartTimer()
			}
		})
	}
}
