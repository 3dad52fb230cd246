package origin

import "net/http"

// CORS header values of streaming responses. Players read Content-Range
// for byte-range requests and ETag for revalidation, which browsers hide
// from scripts unless exposed.
const (
	corsExposeHeaders = "Content-Length, Content-Range, ETag, X-Request-Id"
	corsAllowMethods  = "GET, HEAD, OPTIONS"
	corsAllowHeaders  = "Authorization, Range, If-None-Match, If-Range, Content-Type, X-Request-Id"
	// corsMaxAge is Chromium's upper limit for caching a preflight
	// (2 hours); larger values are cut to it.
	corsMaxAge = "7200"
)

// cors adds CORS headers to streaming responses and answers OPTIONS,
// including preflight requests, with 204.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (s.corsAll || s.corsOrigins[origin])

		if !s.corsAll {
			// The response differs by Origin, so shared caches must key
			// on it.
			h.Add("Vary", "Origin")
		}
		if allowed {
			if s.corsAll {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}

		if r.Method != http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}

		if allowed && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
		}
		h.Set("Allow", corsAllowMethods)
		w.WriteHeader(http.StatusNoContent)
	})
}
