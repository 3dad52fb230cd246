// Package keydelivery serves content keys to players: the HLS AES-128 key
// endpoint and the W3C ClearKey license endpoint. Every request is judged
// by the key's content key policy through an Authorizer; the package holds
// no catalog of its own.
package keydelivery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lockstream/lockstream/policy"
)

// Routes of Handler, relative to where the origin mounts it (for example
// chi's Mount("/keys", h) or http.StripPrefix("/keys", h)).
const (
	// RouteHLSKey serves GET and HEAD with the 16 key bytes.
	RouteHLSKey = "/hls/{kid}"
	// RouteClearKey serves POST with a W3C ClearKey license.
	RouteClearKey = "/clearkey"
)

// KeyStore finds content keys by key ID. policy.SQLiteStore implements it.
type KeyStore interface {
	// GetContentKey returns an error wrapping policy.ErrNotFound for an
	// unknown key ID.
	GetContentKey(ctx context.Context, kid uuid.UUID) (*policy.ContentKey, error)
}

// Authorizer decides whether a token grants a key. policy.KeyAuthorizer
// implements it.
type Authorizer interface {
	// AuthorizeKey returns nil when token (possibly empty) grants key, a
	// *policy.TokenError when it does not, an error wrapping
	// policy.ErrNotFound when the key's locator is gone, and any other
	// error for a store failure.
	AuthorizeKey(ctx context.Context, key *policy.ContentKey, token string) error
}

// Config configures a Handler. Keys, Authorizer and DerivedTokenSecret are
// required; every other field has the default given in its comment.
type Config struct {
	Keys       KeyStore
	Authorizer Authorizer
	// DerivedTokenSecret signs the tokens of DeriveKeyToken, at least 32
	// bytes; DerivedTokenSecret(masterKey) derives it from the master key,
	// so every origin instance sharing the master key accepts the tokens
	// of the others.
	DerivedTokenSecret []byte

	// AllowedOrigins lists the browser origins (such as
	// "https://player.example.com") that may read key responses. Default
	// nil, which like "*" allows every origin: keys are protected by
	// tokens, not by the page that requests them.
	AllowedOrigins []string
	// CORSMaxAge is how long a browser may cache a preflight response.
	// Default 10 minutes, so a changed AllowedOrigins reaches browsers
	// soon.
	CORSMaxAge time.Duration

	// ClientIP returns the address failures are counted against. Default:
	// the host of Request.RemoteAddr, with IPv6 addresses reduced to their
	// /64 because one subscriber usually holds a whole /64. Behind a
	// reverse proxy, pass HeaderIP with the header the proxy sets.
	ClientIP func(*http.Request) string
	// FailureLimit is how many failed requests (400, 401, 403, 404) one
	// client may make per FailureWindow before it gets 429 until the
	// window ends. Default 20 per minute: a player retries a refused key a
	// few times, and guessing tokens or key IDs needs far more.
	FailureLimit  int
	FailureWindow time.Duration
	// MaxTrackedClients bounds the memory of the failure counter. Default
	// 10000 clients (about 1 MB). When it is full, expired entries are
	// dropped first, then arbitrary ones, so a flood from many addresses
	// can push a client out early. The limit slows guessing but does not
	// stop a distributed attack.
	MaxTrackedClients int

	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives one line per refused request. Default
	// slog.Default().
	Logger *slog.Logger
	// Registerer receives the lockstream_key_requests_total counter.
	// Default nil: the counter is kept but not registered.
	Registerer prometheus.Registerer
}

// Handler serves key delivery. It is safe for concurrent use.
type Handler struct {
	keys       KeyStore
	authorizer Authorizer
	secret     []byte

	cors     corsPolicy
	limiter  *failureLimiter
	clientIP func(*http.Request) string
	now      func() time.Time
	logger   *slog.Logger
	metrics  *metrics
	router   chi.Router
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("key delivery needs a key store")
	case cfg.Authorizer == nil:
		return nil, errors.New("key delivery needs an authorizer")
	case len(cfg.DerivedTokenSecret) < minSecretBytes:
		return nil, errors.New("key delivery needs a derived token secret of at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	if cfg.FailureLimit <= 0 {
		cfg.FailureLimit = 20
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Minute
	}
	if cfg.MaxTrackedClients <= 0 {
		cfg.MaxTrackedClients = 10000
	}
	if cfg.CORSMaxAge <= 0 {
		cfg.CORSMaxAge = 10 * time.Minute
	}

	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		keys:       cfg.Keys,
		authorizer: cfg.Authorizer,
		secret:     append([]byte(nil), cfg.DerivedTokenSecret...),
		cors:       newCORSPolicy(cfg.AllowedOrigins, cfg.CORSMaxAge),
		limiter:    newFailureLimiter(cfg.FailureLimit, cfg.FailureWindow, cfg.MaxTrackedClients),
		clientIP:   cfg.ClientIP,
		now:        cfg.Now,
		logger:     cfg.Logger.With("component", "keydelivery"),
		metrics:    m,
	}

	r := chi.NewRouter()
	r.Get(RouteHLSKey, func(w http.ResponseWriter, r *http.Request) { h.ServeHLSKey(w, r, chi.URLParam(r, "kid")) })
	r.Head(RouteHLSKey, func(w http.ResponseWriter, r *http.Request) { h.ServeHLSKey(w, r, chi.URLParam(r, "kid")) })
	r.Options(RouteHLSKey, h.ServePreflight)
	r.Post(RouteClearKey, h.ServeClearKeyLicense)
	r.Options(RouteClearKey, h.ServePreflight)
	h.router = r
	return h, nil
}

// ServeHTTP routes RouteHLSKey and RouteClearKey.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.router.ServeHTTP(w, r)
}
