package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// Error is an error with the HTTP status it maps to and a message that is
// safe to send to the client. Handlers return it, or a sentinel that
// classify maps, and writeError turns either into the response.
type Error struct {
	Status int
	// Code is a short machine-readable name for admin API bodies, such as
	// "NotFound"; empty means one derived from Status.
	Code string
	// Message is sent to the client as is.
	Message string
	// Err is the cause, logged but never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error with a formatted public message.
func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// classify maps err to its status and public message. It is the only place
// where errors become HTTP statuses. The messages of the packager's,
// storage's and policy's sentinel-wrapping errors name asset files, tracks
// or fields, never keys or tokens, so they are sent as they are.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}

	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, packager.ErrNotFound), errors.Is(err, storage.ErrNotFound), errors.Is(err, policy.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, storage.ErrInvalidName):
		return &Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	case errors.Is(err, packager.ErrUnsupported):
		return &Error{Status: http.StatusUnsupportedMediaType, Message: err.Error(), Err: err}
	case errors.Is(err, packager.ErrInvalidMedia), errors.Is(err, policy.ErrInvalid):
		return &Error{Status: http.StatusUnprocessableEntity, Message: err.Error(), Err: err}
	case errors.Is(err, policy.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.As(err, &tooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit), Err: err}
	case errors.As(err, &syntax), errors.As(err, &typeErr):
		return &Error{Status: http.StatusBadRequest, Message: "invalid JSON: " + err.Error(), Err: err}
	case errors.Is(err, storage.ErrTimeout):
		return &Error{Status: http.StatusGatewayTimeout, Message: "the media store timed out", Err: err}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrChanged):
		return &Error{Status: http.StatusServiceUnavailable, Message: "the media store is unavailable; retry later", Err: err}
	case errors.Is(err, storage.ErrDenied):
		return &Error{Status: http.StatusBadGateway, Message: "the media store denied access", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusGatewayTimeout, Message: "timed out producing the response", Err: err}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this status, but the access
		// log shows it.
		return &Error{Status: http.StatusServiceUnavailable, Message: "request canceled", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal server error", Err: err}
}

// errorFormat selects the body of an error response.
type errorFormat int

const (
	errorText errorFormat = iota // streaming routes: text/plain
	errorJSON                    // admin API: {"error":{"code","message"}}
)

// writeError sends err as the response, unless the response has already
// started, and logs it once: server errors at error level with the cause,
// client errors at debug level.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, format errorFormat) {
	e := classify(err)
	log := s.logger.With("request_id", requestID(r.Context()))

	if e.Status >= 500 && !errors.Is(err, context.Canceled) {
		log.Error("request failed", "method", r.Method, "path", redactedPath(r), "status", e.Status, "err", err)
	} else {
		log.Debug("request rejected", "method", r.Method, "path", redactedPath(r), "status", e.Status, "err", err)
	}

	if rw, ok := w.(*responseRecorder); ok && rw.wroteHeader {
		// Bytes have gone out: a second status line would corrupt the
		// response, so the client sees a truncated body instead.
		return
	}

	h := w.Header()
	for _, k := range []string{"ETag", "Cache-Control", "Content-Range", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="lockstream"`)
	}

	if format == errorJSON {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		body := adminapi.ErrorResponse{Error: adminapi.ErrorDetail{Code: e.code(), Message: e.Message}}
		if err := json.NewEncoder(w).Encode(body); err != nil {
			log.Debug("writing error body failed", "err", err)
		}
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.Status)
	fmt.Fprintln(w, e.Message)
}

func (e *Error) code() string {
	if e.Code != "" {
		return e.Code
	}
	switch e.Status {
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowed"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusRequestEntityTooLarge:
		return "PayloadTooLarge"
	case http.StatusUnsupportedMediaType:
		return "UnsupportedMediaType"
	case http.StatusUnprocessableEntity:
		return "InvalidValue"
	case http.StatusServiceUnavailable:
		return "Unavailable"
	case http.StatusGatewayTimeout:
		return "Timeout"
	}
	return "InternalError"
}

// requestLogger returns the server logger with the request's ID attached.
func (s *Server) requestLogger(r *http.Request) *slog.Logger {
	return s.logger.With("request_id", requestID(r.Context()))
}
