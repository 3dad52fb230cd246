package origin

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

// requestInfo travels in the request context so handlers can name the
// metrics route after parsing.
type requestInfo struct {
	id    string
	route string
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// requestID returns the request's ID, or "" outside the middleware.
func requestID(ctx context.Context) string {
	if info := requestInfoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// setRoute names the metrics route of the request.
func setRoute(r *http.Request, route string) {
	if info := requestInfoFrom(r.Context()); info != nil {
		info.route = route
	}
}

// responseRecorder records the status and the number of body bytes.
type responseRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *responseRecorder) WriteHeader(status int) {
	if !w.wroteHeader && status >= 200 {
		w.status = status
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseRecorder) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom sends src through the wrapped writer's ReadFrom when it has
// one, which net/http's has: a file-backed body then goes out with
// sendfile(2). Without it, io.Copy would call Write with a buffer.
func (w *responseRecorder) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}

	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		buf := copyBuffers.Get().(*[32 << 10]byte)
		n, err = io.CopyBuffer(writerOnly{w.ResponseWriter}, src, buf[:])
		copyBuffers.Put(buf)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument is the outermost middleware: it assigns the request ID,
// recovers panics, writes the access log and records metrics.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Latency uses the real clock even when tests inject another.
		start := time.Now()
		info := &requestInfo{id: acceptRequestID(r.Header.Get("X-Request-Id")), route: routeOther}
		w.Header().Set("X-Request-Id", info.id)
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		rec := &responseRecorder{ResponseWriter: w}

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("handler panicked", "request_id", info.id, "method", r.Method,
					"path", redactedPath(r), "err", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
					rec.Header().Set("Cache-Control", "no-store")
					rec.WriteHeader(http.StatusInternalServerError)
					fmt.Fprintln(rec, "internal server error")
				}
			}

			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			latency := time.Since(start)
			s.metrics.observe(info.route, status, rec.bytes, latency)
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", info.id),
				slog.String("method", r.Method),
				slog.String("path", redactedPath(r)),
				slog.Int("status", status),
				slog.Int64("bytes_out", rec.bytes),
				slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
			)
		}()

		next.ServeHTTP(rec, r)
	})
}

// acceptRequestID returns the client's X-Request-Id when it is 1 to 64
// characters of [A-Za-z0-9._-], and a new random ID otherwise, so a client
// cannot forge log lines or flood the log with long IDs.
func acceptRequestID(id string) string {
	if len(id) > 0 && len(id) <= 64 {
		ok := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return rand.Text()[:16]
}

// redactedPath returns the escaped path and query of r for logs, with the
// value of every query parameter whose name contains "token" replaced by
// "REDACTED": players that cannot set headers send their JWT as ?token=.
func redactedPath(r *http.Request) string {
	path := r.URL.EscapedPath()
	if r.URL.RawQuery == "" {
		return path
	}

	var b strings.Builder
	b.Grow(len(path) + 1 + len(r.URL.RawQuery))
	b.WriteString(path)
	b.WriteByte('?')
	for i, param := range strings.Split(r.URL.RawQuery, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		key, _, hasValue := strings.Cut(param, "=")
		if decoded, err := url.QueryUnescape(key); err == nil {
			key = decoded
		}
		if hasValue && strings.Contains(strings.ToLower(key), "token") {
			b.WriteString(url.QueryEscape(key))
			b.WriteString("=REDACTED")
			continue
		}
		b.WriteString(param)
	}
	return b.String()
}
