package origin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/policy"
)

func TestStreamStatusAndHeaders(t *testing.T) {
	env := newTestEnv(t, nil)
	clear := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/"
	keyed := "/" + env.addLocator(t, "keyed", policy.PolicyClearKey, nil, nil).String() + "/sample.ism/"
	expired := "/" + env.addLocator(t, "expired", policy.PolicyClearStreamingOnly, nil, timePtr(testNow.Add(-time.Hour))).String() + "/sample.ism/"
	future := "/" + env.addLocator(t, "future", policy.PolicyClearStreamingOnly, timePtr(testNow.Add(time.Hour)), nil).String() + "/sample.ism/"
	ending := "/" + env.addLocator(t, "ending", policy.PolicyClearStreamingOnly, nil, timePtr(testNow.Add(90*time.Second))).String() + "/sample.ism/"
	unknown := "/00000000-0000-4000-8000-000000000000/sample.ism/"

	cases := []struct {
		name        string
		path        string
		status      int
		contentType string
		cache       string
		// body, when set, must appear in the response body.
		body string
	}{
		{"hls manifest default clear", clear + "manifest(format=m3u8-aapl)", 200, "application/vnd.apple.mpegurl", "public, max-age=2", "scheme=clear"},
		{"dash manifest", clear + "manifest(format=mpd-time-csf).mpd", 200, "application/dash+xml", "public, max-age=2", "format=mpd-time-csf"},
		{"smooth manifest", clear + "manifest", 200, "application/vnd.ms-sstr+xml", "public, max-age=2", "format=smooth"},
		{"playlist", clear + "hls-ts/clear/video.m3u8", 200, "application/vnd.apple.mpegurl", "public, max-age=2", "kind=playlist"},
		{"ts segment", clear + "hls-ts/clear/video/1.ts", 200, "video/mp2t", "public, max-age=31536000, immutable", "segment=1"},
		{"fmp4 segment", clear + "dash/clear/video/2.m4s", 200, "video/mp4", "public, max-age=31536000, immutable", "segment=2"},
		{"fragment", clear + "QualityLevels(1000)/Fragments(video=0)", 200, "video/mp4", "public, max-age=31536000, immutable", "kind=fragment"},
		{"base url from host", clear + "manifest", 200, "", "", "base=http://example.com"},
		{"keyed default cbc", keyed + "manifest(format=m3u8-aapl)", 200, "", "", "scheme=cbc"},
		{"keyed dash default cenc", keyed + "manifest(format=mpd-time-cmaf)", 200, "", "", "scheme=cenc"},
		{"keyed segment cenc", keyed + "dash/cenc/video/1.m4s", 200, "", "", "scheme=cenc"},
		{"segment cache capped at end", ending + "dash/clear/video/1.m4s", 200, "", "public, max-age=90, immutable", ""},

		{"keyed clear forbidden", keyed + "manifest(format=m3u8-aapl,encryption=clear)", 403, "text/plain; charset=utf-8", "no-store", "available: cbc"},
		{"keyed clear segment forbidden", keyed + "hls-ts/clear/video/1.ts", 403, "", "", "available: cbc"},
		{"clear cbc forbidden", clear + "manifest(format=m3u8-aapl,encryption=cbc)", 403, "", "", "available: clear"},
		{"unknown locator", unknown + "manifest", 404, "", "no-store", "streaming locator not found"},
		{"expired locator", expired + "manifest", 404, "", "", "streaming locator not found"},
		{"future locator", future + "manifest", 404, "", "", "streaming locator not found"},
		{"bad url", clear + "hls-ts/clear/video/0.ts", 400, "", "", "segment number"},
		{"unknown track", clear + "dash/clear/missing/1.m4s", 404, "", "", `track "missing"`},
		{"invalid media", clear + "dash/clear/corrupt/1.m4s", 422, "", "", "video.mp4"},
		{"unsupported", clear + "hls-ts/clear/hevc/1.ts", 415, "", "", "m3u8-cmaf"},
		{"internal error hidden", clear + "dash/clear/boom/1.m4s", 500, "", "", "internal server error"},
		{"timeout", clear + "dash/clear/slow/1.m4s", 504, "", "", "timed out"},
		{"panic", clear + "dash/clear/panic/1.m4s", 500, "", "", "internal server error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.do(t, http.MethodGet, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tc.status, rec.Body.String())
			}
			if tc.contentType != "" {
				if got := rec.Header().Get("Content-Type"); got != tc.contentType {
					t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
				}
			}
			if tc.cache != "" {
				if got := rec.Header().Get("Cache-Control"); got != tc.cache {
					t.Errorf("Cache-Control = %q, want %q", got, tc.cache)
				}
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body = %q, want it to contain %q", rec.Body.String(), tc.body)
			}
			if strings.Contains(rec.Body.String(), "secret internal detail") || strings.Contains(rec.Body.String(), "origin.") {
				t.Errorf("body %q leaks an internal error", rec.Body.String())
			}
		})
	}
}

// TestStreamLocatorBodiesAlike guards that a client cannot tell unknown,
// expired and not yet started locators apart.
func TestStreamLocatorBodiesAlike(t *testing.T) {
	env := newTestEnv(t, nil)
	paths := []string{
		"/00000000-0000-4000-8000-000000000000/sample.ism/manifest",
		"/" + env.addLocator(t, "expired", policy.PolicyClearStreamingOnly, nil, timePtr(testNow)).String() + "/sample.ism/manifest",
		"/" + env.addLocator(t, "future", policy.PolicyClearStreamingOnly, timePtr(testNow.Add(time.Second)), nil).String() + "/sample.ism/manifest",
	}
	deleted := env.addLocator(t, "deleted", policy.PolicyClearStreamingOnly, nil, nil)
	if err := env.catalog.DeleteLocator(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, "/"+deleted.String()+"/sample.ism/manifest")

	var first string
	for i, p := range paths {
		rec := env.do(t, http.MethodGet, p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", p, rec.Code)
		}
		if i == 0 {
			first = rec.Body.String()
		} else if rec.Body.String() != first {
			t.Errorf("%s: body %q differs from %q", p, rec.Body.String(), first)
		}
	}
}

func TestStreamConditionalAndRange(t *testing.T) {
	env := newTestEnv(t, nil)
	base := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/"
	segment := base + "dash/clear/big/1.m4s"

	full := env.do(t, http.MethodGet, segment, nil)
	etag := full.Header().Get("ETag")
	if full.Code != 200 || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("GET status %d ETag %q, want 200 and a strong ETag", full.Code, etag)
	}
	if got := full.Header().Get("Content-Length"); got != "10000" {
		t.Errorf("Content-Length = %q, want 10000", got)
	}
	if got := full.Header().Get("Last-Modified"); got != "" {
		t.Errorf("Last-Modified = %q, want none", got)
	}

	t.Run("304 without building", func(t *testing.T) {
		before := env.producer.builds.Load()
		rec := env.do(t, http.MethodGet, base+"dash/clear/video/1.m4s", http.Header{"If-None-Match": {`"x", ` + etagOf(t, env, base+"dash/clear/video/1.m4s")}})
		if rec.Code != http.StatusNotModified {
			t.Fatalf("status = %d, want 304", rec.Code)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("304 body is %d bytes, want none", rec.Body.Len())
		}
		if got := env.producer.builds.Load() - before; got != 1 {
			t.Errorf("producer built %d times, want 1 (only the request that fetched the ETag)", got)
		}
	})

	t.Run("stale etag", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, segment, http.Header{"If-None-Match": {`"other"`}})
		if rec.Code != 200 {
			t.Errorf("status = %d, want 200", rec.Code)
		}
	})

	t.Run("range", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, segment, http.Header{"Range": {"bytes=10-19"}})
		if rec.Code != http.StatusPartialContent {
			t.Fatalf("status = %d, want 206", rec.Code)
		}
		if got := rec.Header().Get("Content-Range"); got != "bytes 10-19/10000" {
			t.Errorf("Content-Range = %q, want bytes 10-19/10000", got)
		}
		if got := rec.Body.String(); got != "0123456789" {
			t.Errorf("body = %q, want 0123456789", got)
		}
	})

	t.Run("unsatisfiable range", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, segment, http.Header{"Range": {"bytes=20000-"}})
		if rec.Code != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("status = %d, want 416", rec.Code)
		}
	})

	t.Run("head", func(t *testing.T) {
		rec := env.do(t, http.MethodHead, segment, nil)
		if rec.Code != 200 || rec.Body.Len() != 0 {
			t.Errorf("HEAD status %d body %d bytes, want 200 and none", rec.Code, rec.Body.Len())
		}
		if got := rec.Header().Get("Content-Length"); got != "10000" {
			t.Errorf("HEAD Content-Length = %q, want 10000", got)
		}
	})

	t.Run("post rejected", func(t *testing.T) {
		rec := env.do(t, http.MethodPost, segment, nil)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", rec.Code)
		}
	})
}

func etagOf(t *testing.T, env *testEnv, path string) string {
	t.Helper()
	rec := env.do(t, http.MethodGet, path, nil)
	if rec.Code != 200 {
		t.Fatalf("GET %s: status %d", path, rec.Code)
	}
	return rec.Header().Get("ETag")
}

func TestStreamCORS(t *testing.T) {
	t.Run("any origin", func(t *testing.T) {
		env := newTestEnv(t, nil)
		path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/manifest"

		rec := env.do(t, http.MethodGet, path, http.Header{"Origin": {"https://player.example"}})
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
		}
		if got := rec.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Content-Range") || !strings.Contains(got, "ETag") {
			t.Errorf("Access-Control-Expose-Headers = %q, want Content-Range and ETag", got)
		}

		pre := env.do(t, http.MethodOptions, path, http.Header{
			"Origin":                         {"https://player.example"},
			"Access-Control-Request-Method":  {"GET"},
			"Access-Control-Request-Headers": {"range"},
		})
		if pre.Code != http.StatusNoContent {
			t.Errorf("preflight status = %d, want 204", pre.Code)
		}
		if got := pre.Header().Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Range") {
			t.Errorf("Access-Control-Allow-Headers = %q, want Range", got)
		}
		if got := pre.Header().Get("Access-Control-Max-Age"); got == "" {
			t.Error("preflight has no Access-Control-Max-Age")
		}
	})

	t.Run("listed origins", func(t *testing.T) {
		env := newTestEnv(t, func(c *Config) { c.CORSOrigins = []string{"https://good.example"} })
		path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/manifest"

		good := env.do(t, http.MethodGet, path, http.Header{"Origin": {"https://good.example"}})
		if got := good.Header().Get("Access-Control-Allow-Origin"); got != "https://good.example" {
			t.Errorf("allowed origin: Access-Control-Allow-Origin = %q, want the origin", got)
		}
		if got := good.Header().Get("Vary"); got != "Origin" {
			t.Errorf("Vary = %q, want Origin", got)
		}
		bad := env.do(t, http.MethodGet, path, http.Header{"Origin": {"https://evil.example"}})
		if got := bad.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("other origin: Access-Control-Allow-Origin = %q, want none", got)
		}
	})
}

func TestStreamPublicBaseURL(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.PublicBaseURL = "https://media.example.com/" })
	path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/manifest"
	rec := env.do(t, http.MethodGet, path, nil)
	if want := "base=https://media.example.com\n"; !strings.HasSuffix(rec.Body.String(), want) {
		t.Errorf("body = %q, want it to end with %q", rec.Body.String(), want)
	}
}
