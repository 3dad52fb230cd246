package keydelivery

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// failure is a refused request. respond turns it into the status, the
// generic body, one log line, one metric count and a failure count.
type failure struct {
	status int
	reason string
	// message is the client-facing detail of a 400 or 413; empty for
	// every other status, whose body is generic.
	message   string
	kid       uuid.UUID
	locatorID uuid.UUID
	// err is the internal cause of a 500, for the log only.
	err error
}

// classify maps an Authorizer (or derived token) error for key to a
// failure.
func classify(err error, key *policy.ContentKey) *failure {
	f := &failure{kid: key.ID, locatorID: key.LocatorID}
	var te *policy.TokenError
	switch {
	case errors.As(err, &te) && te.Class == policy.Forbidden:
		f.status, f.reason = http.StatusForbidden, te.Reason
	case errors.As(err, &te):
		f.status, f.reason = http.StatusUnauthorized, te.Reason
	case errors.Is(err, policy.ErrNotFound):
		f.status, f.reason = http.StatusNotFound, "locator_not_found"
	default:
		f.status, f.reason, f.err = http.StatusInternalServerError, "store_error", err
	}
	return f
}

func outcomeOf(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return outcomeBadRequest
	case http.StatusUnauthorized:
		return outcomeUnauthorized
	case http.StatusForbidden:
		return outcomeForbidden
	case http.StatusNotFound:
		return outcomeNotFound
	case http.StatusTooManyRequests:
		return outcomeRateLimited
	}
	return outcomeError
}

// Generic bodies: every token problem gets the same body for its status,
// so a client learns nothing about why its token failed.
var errorBodies = map[int]string{
	http.StatusUnauthorized:    `{"error":"unauthorized"}`,
	http.StatusForbidden:       `{"error":"forbidden"}`,
	http.StatusNotFound:        `{"error":"unknown key ID"}`,
	http.StatusTooManyRequests: `{"error":"too many failed requests; retry later"}`,
}

// respond writes f and records it. It is the one place a key delivery
// failure becomes an HTTP response.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, endpoint string, f *failure) {
	outcome := outcomeOf(f.status)
	h.metrics.count(endpoint, outcome, f.reason)

	client := h.clientIP(r)
	level := slog.LevelWarn
	switch f.status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusNotFound:
		level = slog.LevelInfo
	case http.StatusInternalServerError:
		level = slog.LevelError
	}
	if f.status != http.StatusInternalServerError && h.limiter.fail(client, h.now()) {
		h.logger.Warn("client reached the key delivery failure limit", "client_ip", client)
	}

	attrs := []any{"endpoint", endpoint, "status", f.status, "reason", f.reason, "client_ip", client}
	if f.kid != uuid.Nil {
		attrs = append(attrs, "kid", f.kid.String())
	}
	if f.locatorID != uuid.Nil {
		attrs = append(attrs, "locator_id", f.locatorID.String())
	}
	if f.err != nil {
		attrs = append(attrs, "err", f.err.Error())
	}
	h.logger.Log(r.Context(), level, "key request refused", attrs...)

	body := errorBodies[f.status]
	switch {
	case f.message != "":
		body = `{"error":` + strconv.Quote(f.message) + `}`
	case body == "":
		body = `{"error":"internal server error"}`
	}
	writeJSON(w, r, f.status, []byte(body))
}

// rateLimited writes 429 with Retry-After for a blocked client. It does not
// log, because respond logged once when the client reached the limit.
func (h *Handler) rateLimited(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	blocked, wait := h.limiter.blocked(h.clientIP(r), h.now())
	if !blocked {
		return false
	}
	h.metrics.count(endpoint, outcomeRateLimited, "failure_limit")
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	writeJSON(w, r, http.StatusTooManyRequests, []byte(errorBodies[http.StatusTooManyRequests]))
	return true
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
