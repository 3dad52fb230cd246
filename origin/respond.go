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

// writeOutput sends out with its headers. http.ServeContent handles HEAD,
// Range (206 and 416) and If-None-Match against the ETag; a zero modtime
// keeps Last-Modified out, so only the ETag validates.
func (s *Server) writeOutput(w http.ResponseWriter, r *http.Request, req *StreamRequest, loc *policy.Locator, out *Output) {
	h := w.Header()
	contentType := out.ContentType
	if contentType == "" {
		contentType = defaultContentType(req)
	}
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if out.ETag != "" {
		h.Set("ETag", out.ETag)
	}
	h.Set("Cache-Control", s.cacheControl(req, loc, out.Manifest))

	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(out.Body))
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
