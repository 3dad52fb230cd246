// Package player serves the demo player page: one HTML page and one ES module
// that play HLS with hls.js, DASH with Shaka Player or dash.js and Smooth
// Streaming with dash.js, from copies of those libraries embedded in the
// binary.
//
// Mount the handler under a path prefix with http.StripPrefix, for example
//
//	mux.Handle("/player/", http.StripPrefix("/player", player.Handler()))
//	mux.Handle("/player", http.StripPrefix("/player", player.Handler()))
//
// and open /player/?url=<manifest URL>&token=<jwt>. The page's query
// parameters are documented at the top of web/player.js.
package player

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
)

//go:embed web/index.html web/player.js web/player.css web/lib
var webFiles embed.FS

// asset is one embedded file with the headers it is served with.
type asset struct {
	body         []byte
	contentType  string
	etag         string
	cacheControl string
}

// contentTypes lists the only extensions the handler serves. Browsers refuse
// module scripts served with a non-JavaScript type, so .js and .mjs are
// text/javascript (RFC 9239) rather than whatever the system MIME table contains.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".md":   "text/plain; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// Cache lifetimes. The page and its script change with every release of the
// binary, so browsers revalidate them. The libraries change only when
// update-libs.sh runs, so an hour of reuse saves megabytes per page load.
const (
	cachePage    = "no-cache"
	cacheLibrary = "public, max-age=3600"
)

// Handler returns the handler of the player page. It serves the page at "/"
// and its script, stylesheet and libraries below it, and nothing else: no
// directory listings and no files outside the embedded set.
func Handler() http.Handler {
	assets, err := loadAssets()
	if err != nil {
		// The files are embedded at build time, so this fails only if the
		// embed pattern and the folder disagree, which every test of the
		// handler would catch.
		panic("player: reading embedded web files: " + err.Error())
	}
	return &handler{assets: assets}
}

type handler struct {
	assets map[string]*asset
}

var _ http.Handler = (*handler)(nil)

func loadAssets() (map[string]*asset, error) {
	assets := make(map[string]*asset)
	err := fs.WalkDir(webFiles, "web", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		contentType, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		body, err := webFiles.ReadFile(name)
		if err != nil {
			return err
		}

		sum := sha256.Sum256(body)
		rel := strings.TrimPrefix(name, "web/")
		cache := cachePage
		if strings.HasPrefix(rel, "lib/") {
			cache = cacheLibrary
		}
		assets[rel] = &asset{
			body:         body,
			contentType:  contentType,
			etag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
			cacheControl: cache,
		}
		return nil
	})
	return assets, err
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the player page supports GET and HEAD", http.StatusMethodNotAllowed)
		return
	}

	// After http.StripPrefix("/player", ...) a request for "/player" arrives
	// with an empty path. The page loads its script with relative URLs, so
	// send the browser to the folder form first.
	if r.URL.Path == "" {
		redirectToFolder(w, r)
		return
	}

	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}

	header := w.Header()
	header.Set("Content-Type", a.contentType)
	header.Set("Cache-Control", a.cacheControl)
	header.Set("ETag", a.etag)
	header.Set("X-Content-Type-Options", "nosniff")
	// The page URL can carry a token until the script removes it, so no
	// request made from the page may repeat it in a Referer header.
	header.Set("Referrer-Policy", "no-referrer")
	if name == "index.html" {
		header.Set("Content-Security-Policy", contentSecurityPolicy(r.URL.Query().Get("url")))
	}

	// ServeContent handles If-None-Match and Range requests with the ETag.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// redirectToFolder sends a request for ".../player" to ".../player/" with the
// query unchanged. The Location is relative to the request path, so it is
// right whatever prefix the handler is mounted under.
func redirectToFolder(w http.ResponseWriter, r *http.Request) {
	requestPath := r.RequestURI
	if i := strings.IndexByte(requestPath, '?'); i >= 0 {
		requestPath = requestPath[:i]
	}
	target := path.Base(requestPath) + "/"
	if requestPath == "" || requestPath == "/" {
		target = "./"
	}
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}

	// http.Redirect would resolve the relative target against the stripped
	// path and lose the prefix, so the header is written directly.
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}

// originPattern accepts only the characters a scheme, host and port can
// contain, so a manifest URL from the query can never inject a CSP directive.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// contentSecurityPolicy returns the page's policy. Scripts come only from
// the page's own origin and never inline. The players fetch manifests,
// segments, keys and licenses from any origin with fetch or XHR (connect-src
// *), feed the media through Media Source Extensions (media-src blob:), and
// hls.js starts its transmuxing worker from a blob: URL. The manifest's own
// origin is added to media-src for browsers that play HLS natively.
func contentSecurityPolicy(manifestURL string) string {
	media := "'self' blob:"
	if u, err := url.Parse(manifestURL); err == nil && u.Host != "" {
		origin := u.Scheme + "://" + u.Host
		if originPattern.MatchString(origin) {
			media += " " + origin
		}
	}
	return "default-src 'none'; " +
		"script-src 'self'; " +
		"style-src 'self'; " +
		"img-src 'self' data: blob:; " +
		"media-src " + media + "; " +
		"connect-src *; " +
		"worker-src 'self' blob:; " +
		"base-uri 'none'; " +
		"form-action 'self'; " +
		"frame-ancestors 'self'"
}
