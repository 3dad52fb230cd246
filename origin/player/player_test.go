package player

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()

	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// mounted returns the handler as the origin mounts it, under /player.
func mounted() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player", Handler()))
	mux.Handle("/player", http.StripPrefix("/player", Handler()))
	return mux
}

func TestHandlerContentTypes(t *testing.T) {
	h := mounted()
	tests := []struct {
		path      string
		wantType  string
		wantCache string
	}{
		{"/player/", "text/html; charset=utf-8", "no-cache"},
		{"/player/?url=http://127.0.0.1:9/a.mpd", "text/html; charset=utf-8", "no-cache"},
		{"/player/index.html", "text/html; charset=utf-8", "no-cache"},
		{"/player/player.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/player/player.css", "text/css; charset=utf-8", "no-cache"},
		{"/player/lib/hls.min.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/player/lib/dash.all.min.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/player/lib/dash.mss.min.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/player/lib/shaka-player.compiled.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/player/lib/README.md", "text/plain; charset=utf-8", "public, max-age=3600"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp := serve(t, h, http.MethodGet, tc.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.wantCache)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", got)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("ETag is missing")
			}
		})
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := mounted()
	for _, path := range []string{
		"/player/lib/",
		"/player/lib",
		"/player/web/index.html",
		"/player/../go.mod",
		"/player/%2e%2e/player.go",
		"/player/player.go",
		"/player/lib/hls.min.js.map",
		"/player/lib/hls.js.LICENSE",
	} {
		t.Run(path, func(t *testing.T) {
			resp := serve(t, h, http.MethodGet, path, nil)
			// ServeMux handles a path with ".." with a redirect to the
			// cleaned path, which leaves the player's prefix.
			redirect := resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusTemporaryRedirect
			if resp.StatusCode != http.StatusNotFound && !redirect {
				t.Errorf("status = %d, want 404 or a clean-path redirect", resp.StatusCode)
			}
			if redirect && strings.Contains(resp.Header.Get("Location"), "..") {
				t.Errorf("redirect to %q keeps the traversal", resp.Header.Get("Location"))
			}
		})
	}
}

func TestHandlerContentSecurityPolicy(t *testing.T) {
	h := mounted()
	tests := []struct {
		name      string
		query     string
		wantMedia string
	}{
		{"no url", "", "media-src 'self' blob:;"},
		{"http origin", "?url=" + "http%3A%2F%2F127.0.0.1%3A8080%2Fx%2Fa.ism%2Fmanifest", "media-src 'self' blob: http://127.0.0.1:8080;"},
		{"ipv6 origin", "?url=" + "http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Fa.mpd", "media-src 'self' blob: http://[::1]:8080;"},
		{"directive injection", "?url=" + "http%3A%2F%2Fa.example%3B%20script-src%20*%2Fx", "media-src 'self' blob:;"},
		{"other scheme", "?url=" + "javascript%3Aalert(1)", "media-src 'self' blob:;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, http.MethodGet, "/player/"+tc.query, nil)
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none';", "script-src 'self';", "connect-src *;", "worker-src 'self' blob:;", tc.wantMedia} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy = %q, want it to contain %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("Content-Security-Policy = %q allows inline or eval script", csp)
			}
		})
	}
}

func TestHandlerPageHasNoInlineScript(t *testing.T) {
	body, err := webFiles.ReadFile("web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(body)
	if strings.Count(page, "<script") != 1 || !strings.Contains(page, `<script type="module" src="player.js"></script>`) {
		t.Errorf("index.html must load exactly one external module script and no inline script")
	}
	for _, attr := range []string{" style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(page, attr) {
			t.Errorf("index.html contains %q, which the policy blocks", attr)
		}
	}
}

func TestHandlerRedirectsMountPath(t *testing.T) {
	h := mounted()
	tests := []struct {
		target string
		want   string
	}{
		{"/player", "player/"},
		{"/player?url=http://127.0.0.1/a.m3u8&token=x", "player/?url=http://127.0.0.1/a.m3u8&token=x"},
	}
	for _, tc := range tests {
		resp := serve(t, h, http.MethodGet, tc.target, nil)
		if resp.StatusCode != http.StatusMovedPermanently {
			t.Fatalf("%s: status = %d, want 301", tc.target, resp.StatusCode)
		}
		if got := resp.Header.Get("Location"); got != tc.want {
			t.Errorf("%s: Location = %q, want %q", tc.target, got, tc.want)
		}
	}
}

func TestHandlerMethodsAndConditional(t *testing.T) {
	h := mounted()

	resp := serve(t, h, http.MethodPost, "/player/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status = %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST Allow = %q, want %q", got, "GET, HEAD")
	}

	resp = serve(t, h, http.MethodHead, "/player/player.js", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD status = %d, want 200", resp.StatusCode)
	}

	etag := serve(t, h, http.MethodGet, "/player/lib/hls.min.js", nil).Header.Get("ETag")
	resp = serve(t, h, http.MethodGet, "/player/lib/hls.min.js", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET status = %d, want 304", resp.StatusCode)
	}
}
