package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// readyTimeout bounds the readiness checks, so a stalled catalog or media
// mount makes /readyz fail instead of hang.
const readyTimeout = 2 * time.Second

// pinger is implemented by catalog and media stores that can check their
// connection cheaply.
type pinger interface {
	Ping(ctx context.Context) error
}

// serveHealthz answers 200 while the process runs.
func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	setRoute(r, routeHealth)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// serveReadyz answers 200 when the catalog store and the media root answer,
// and 503 during shutdown or when a check fails.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	setRoute(r, routeHealth)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")

	if s.shuttingDown.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.checkReady(ctx); err != nil {
		s.requestLogger(r).Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready")
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) checkReady(ctx context.Context) error {
	if p, ok := s.catalog.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("catalog store: %w", err)
		}
	} else if _, err := s.catalog.GetLocator(ctx, uuid.Nil); err != nil && !errors.Is(err, policy.ErrNotFound) {
		return fmt.Errorf("catalog store: %w", err)
	}

	if p, ok := s.store.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("media store: %w", err)
		}
		return nil
	}
	if dir, err := MediaPath(s.cfg.Media); err == nil {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("media root: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("media root %q is not a folder", dir)
		}
	}
	return nil
}
