package keydelivery

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// corsPolicy sets the CORS headers for browser players. It always
// echoes the request's Origin with credentials allowed instead of sending
// "*": dash.js switches to credentialed CORS when a license request carries
// an Authorization header, and browsers refuse "*" for those.
type corsPolicy struct {
	allowAll bool
	origins  map[string]bool
	maxAge   string
}

func newCORSPolicy(origins []string, maxAge time.Duration) corsPolicy {
	c := corsPolicy{allowAll: len(origins) == 0, origins: make(map[string]bool), maxAge: strconv.Itoa(int(maxAge.Seconds()))}
	for _, o := range origins {
		if o == "*" {
			c.allowAll = true
		}
		c.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return c
}

// apply sets the CORS response headers for r's Origin, if allowed, and
// reports whether it did.
func (c corsPolicy) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")

	origin := r.Header.Get("Origin")
	if origin == "" || !(c.allowAll || c.origins[strings.ToLower(origin)]) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	return true
}

// ServePreflight responds to a CORS preflight (OPTIONS) for the key and license
// routes with 204. A disallowed origin gets 204 without CORS headers, so
// the browser blocks the request that would follow.
func (h *Handler) ServePreflight(w http.ResponseWriter, r *http.Request) {
	if h.cors.apply(w, r) {
		hdr := w.Header()
		hdr.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		hdr.Set("Access-Control-Max-Age", h.cors.maxAge)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
