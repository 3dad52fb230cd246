package origin

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lockstream/lockstream/policy"
)

// Cache lifetimes. Segments never change for a given URL, so caches may
// keep them for a year. Manifests change when a locator or asset does, so
// they are cached for 2 s: long enough to absorb a burst of players
// starting at once, short enough to pick up changes quickly.
const (
	segmentMaxAge  = 365 * 24 * time.Hour
	manifestMaxAge = 2 * time.Second
)

// segmentCacheControl is the Cache-Control of segments of a locator
// without an end time.
var segmentCacheControl = "public, max-age=" + strconv.FormatInt(int64(segmentMaxAge/time.Second), 10) + ", immutable"

// writeOutput sends out with its headers. A plain GET or HEAD gets the
// body written directly, with the headers http.ServeContent would send.
// Requests with Range or a precondition go through http.ServeContent,
// which handles Range (206 and 416) and the conditional headers against
// the ETag; a zero modtime keeps Last-Modified out, so only the ETag
// validates.
func (s *Server) writeOutput(w http.ResponseWriter, r *http.Request, req *StreamRequest, loc *policy.Locator, out *Output) {
	h := w.Header()
	contentType := out.ContentType
	if contentType == "" {
		contentType = defaultContentType(req)
	}
	h["Content-Type"] = headerValue(contentType)
	h["X-Content-Type-Options"] = nosniffValue
	if out.ETag != "" {
		h["Etag"] = []string{out.ETag}
	}
	if out.Private {
		h["Cache-Control"] = privateCacheControl
	} else {
		h["Cache-Control"] = headerValue(s.cacheControl(req, loc, out.Manifest))
	}

	if needsServeContent(r) {
		if out.File != nil {
			http.ServeContent(w, r, "", time.Time{}, out.File.reader(out.Body))
			return
		}
		body := out.Body
		if len(out.Tail) > 0 {
			body = append(append(make([]byte, 0, len(out.Body)+len(out.Tail)), out.Body...), out.Tail...)
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		return
	}

	h["Accept-Ranges"] = acceptRangesValue
	h["Content-Length"] = []string{strconv.FormatInt(int64(len(out.Body)+len(out.Tail))+out.File.length(), 10)}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// A write error means the client went away; there is nobody left to
	// tell, and the access log records the bytes that were sent.
	if _, err := w.Write(out.Body); err != nil {
		return
	}
	if out.File != nil {
		out.File.send(w)
		return
	}
	if len(out.Tail) > 0 {
		w.Write(out.Tail)
	}
}

// needsServeContent reports whether the request carries a header that
// http.ServeContent evaluates: Range, If-Range or a precondition.
func needsServeContent(r *http.Request) bool {
	for _, name := range [...]string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := r.Header[name]; ok {
			return true
		}
	}
	return false
}

// Header values shared by every response. net/http only reads them, and
// a handler that adds a value to one of these headers appends to a slice
// of capacity 1, which copies it.
var (
	nosniffValue      = []string{"nosniff"}
	acceptRangesValue = []string{"bytes"}
	// privateCacheControl keeps responses that carry a key token out of
	// shared caches and out of the browser's disk cache.
	privateCacheControl = []string{"private, no-store"}
	sharedValues        = map[string][]string{}
)

func init() {
	for _, v := range []string{
		"video/mp2t", "video/mp4", "audio/mp4",
		"application/vnd.apple.mpegurl", "application/dash+xml", "application/vnd.ms-sstr+xml",
		segmentCacheControl,
	} {
		sharedValues[v] = []string{v}
	}
}

// headerValue returns the one-value slice of a header, shared for the
// common values so a response does not allocate it.
func headerValue(v string) []string {
	if shared, ok := sharedValues[v]; ok {
		return shared
	}
	return []string{v}
}

// answerNotModified answers 304 when the request has If-None-Match, the
// producer can compute its ETag without building, and the tags match. It
// reports whether it answered.
func (s *Server) answerNotModified(ctx context.Context, w http.ResponseWriter, r *http.Request, req *StreamRequest, loc *policy.Locator) (bool, error) {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false, nil
	}
	tagger, ok := s.producer.(ETagger)
	if !ok {
		return false, nil
	}

	etag, err := tagger.ETag(ctx, req, loc, req.Scheme)
	if err != nil {
		return false, err
	}
	if etag == "" || !etagListMatches(inm, etag) {
		return false, nil
	}

	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", s.cacheControl(req, loc, false))
	w.WriteHeader(http.StatusNotModified)
	return true, nil
}

// etagListMatches applies the weak comparison that RFC 9110 section
// 13.1.2 prescribes for If-None-Match: "*" matches any tag, and W/
// prefixes are ignored on both sides.
func etagListMatches(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for candidate := range strings.SplitSeq(list, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// cacheControl returns the Cache-Control value for a response: long and
// immutable for segments, short for manifests, and never past the
// locator's end time, so caches stop serving the content when the locator
// does.
func (s *Server) cacheControl(req *StreamRequest, loc *policy.Locator, manifest bool) string {
	manifest = manifest || req.Kind == ResourceManifest || req.Kind == ResourcePlaylist
	maxAge := segmentMaxAge
	if manifest {
		maxAge = manifestMaxAge
	}
	if loc.End != nil {
		maxAge = min(maxAge, loc.End.Sub(s.now()))
	}

	seconds := int64(maxAge / time.Second)
	if seconds <= 0 {
		return "no-store"
	}
	if maxAge == segmentMaxAge {
		return segmentCacheControl
	}
	if manifest {
		return "public, max-age=" + strconv.FormatInt(seconds, 10)
	}
	return "public, max-age=" + strconv.FormatInt(seconds, 10) + ", immutable"
}

// defaultContentType returns the media type of a request kind. Audio fMP4
// is audio/mp4, which only the producer can tell, so it overrides this.
func defaultContentType(req *StreamRequest) string {
	switch req.Kind {
	case ResourceManifest:
		switch req.Protocol() {
		case ProtocolHLS:
			return "application/vnd.apple.mpegurl"
		case ProtocolDASH:
			return "application/dash+xml"
		}
		// The hosted service sends this type for Smooth manifests;
		// dash.js and Silverlight-era clients parse the body whatever
		// the type.
		return "application/vnd.ms-sstr+xml"
	case ResourcePlaylist:
		return "application/vnd.apple.mpegurl"
	case ResourceSegment:
		if req.Format == FormatHLSTS || req.Format == FormatHLSTSv3 {
			return "video/mp2t"
		}
		return "video/mp4"
	}
	return "video/mp4"
}
