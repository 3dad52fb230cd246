// Package origin is the HTTP server of Lockstream: configuration,
// lifecycle, middleware, streaming URL parsing, the streaming request flow,
// key delivery mounting and the admin API.
package origin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lockstream/lockstream/keydelivery"
	"github.com/lockstream/lockstream/origin/player"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// Deps are the collaborators of the server. Nil fields get defaults, as
// each field says.
type Deps struct {
	// Store reads asset files. Nil: a local store over Config.Media, which
	// the server closes when Run returns.
	Store storage.Store
	// Catalog holds the streaming locators. When it also implements
	// policy.ContentKeyPolicyStore and policy.ContentKeyStore, the admin
	// API serves content key policies and keys too. Nil: the SQLite
	// catalog DataDir/catalog.db, which the server closes when Run returns.
	Catalog policy.LocatorStore
	// Producer builds manifests and segments. Nil: the packaging producer
	// over Store, with content keys from Catalog.
	Producer Producer
	// KeyDelivery serves everything below /keys/; it sees the full request
	// path. Nil: key delivery over Catalog when it stores content keys and
	// content key policies, else /keys/ answers 404.
	KeyDelivery http.Handler
	// PresentationName returns the presentation name of an asset, the
	// {name} of its streaming URLs. Nil: the asset name.
	PresentationName func(ctx context.Context, asset string) (string, error)
	// CacheStats reports the presentation index cache's counters for
	// /metrics. Nil: taken from the Producer when it has a
	// CacheStats() CacheStats method, else no cache metrics.
	CacheStats func() CacheStats
	// Now is the clock for locator start and end times. Nil: time.Now.
	Now func() time.Time
	// Registerer receives the server's metrics. Nil: a new registry.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. Nil: Registerer when it is also a
	// Gatherer (as *prometheus.Registry is), else prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
}

// Server is the origin's HTTP server.
type Server struct {
	// Configuration and collaborators.
	cfg Config
	// rootLogger is the logger New was given. Each component derives its
	// own from it once, so every line carries one "component" attribute.
	rootLogger       *slog.Logger
	logger           *slog.Logger
	clientIP         func(*http.Request) string
	store            storage.Store
	catalog          policy.LocatorStore
	producer         Producer
	keys             http.Handler
	deriver          keyTokenDeriver
	masterKey        []byte
	presentationName func(ctx context.Context, asset string) (string, error)
	now              func() time.Time
	metrics          *metrics
	gatherer         prometheus.Gatherer
	adminTokenHash   [sha256.Size]byte
	corsAll          bool
	corsOrigins      map[string]bool
	handler          http.Handler
	// locators caches catalog reads of streaming requests for locatorTTL.
	locators *locatorCache
	// closers are the defaults New built, closed when Run returns.
	closers []io.Closer

	// State.
	shuttingDown atomic.Bool

	// Synchronization.
	mu       sync.Mutex
	listener net.Listener
}

var _ http.Handler = (*Server)(nil)

// New validates cfg and builds the server. It does not listen: Run does.
func New(cfg Config, logger *slog.Logger, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	s := &Server{
		cfg:              cfg,
		rootLogger:       logger,
		logger:           logger.With("component", "origin"),
		clientIP:         keydelivery.RemoteIP,
		store:            deps.Store,
		catalog:          deps.Catalog,
		producer:         deps.Producer,
		keys:             deps.KeyDelivery,
		presentationName: deps.PresentationName,
		now:              deps.Now,
		gatherer:         deps.Gatherer,
	}
	if cfg.ClientIPHeader != "" {
		s.clientIP = keydelivery.HeaderIP(cfg.ClientIPHeader)
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := s.buildDefaults(deps, reg); err != nil {
		s.closeOwned()
		return nil, err
	}
	if s.gatherer == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			s.gatherer = g
		} else {
			s.gatherer = prometheus.DefaultGatherer
		}
	}
	cacheStats := deps.CacheStats
	if cacheStats == nil {
		if c, ok := s.producer.(interface{ CacheStats() CacheStats }); ok {
			cacheStats = c.CacheStats
		}
	}
	m, err := newMetrics(reg, cacheStats)
	if err != nil {
		s.closeOwned()
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	s.metrics = m
	s.locators = newLocatorCache(s.catalog)

	s.corsOrigins = make(map[string]bool)
	for _, o := range cfg.CORSOrigins {
		if o == "*" {
			s.corsAll = true
		}
		s.corsOrigins[o] = true
	}
	if cfg.AdminToken != "" {
		s.adminTokenHash = sha256.Sum256([]byte(cfg.AdminToken.Reveal()))
	} else {
		s.logger.Warn("admin API disabled: LOCKSTREAM_ADMIN_TOKEN is not set")
	}
	if cfg.PublicBaseURL == "" {
		s.logger.Warn("public_base_url is not set: DASH license URLs in manifests follow each request's Host header, which a client can forge; set public_base_url in production")
	}

	s.handler = s.instrument(s.routes())
	return s, nil
}

// buildDefaults fills in the collaborators that deps left nil.
func (s *Server) buildDefaults(deps Deps, reg prometheus.Registerer) error {
	if s.now == nil {
		s.now = time.Now
	}
	if s.presentationName == nil {
		s.presentationName = func(_ context.Context, asset string) (string, error) { return asset, nil }
	}

	if s.store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
		store, err := storage.OpenLocation(ctx, s.cfg.Media, storage.BlobOptions{})
		cancel()
		if err != nil {
			return fmt.Errorf("opening media %s: %w", mediaDisplay(s.cfg.Media), err)
		}
		s.store = store
		s.closers = append(s.closers, store)
	}

	if s.catalog == nil {
		catalog, err := s.openCatalog()
		if err != nil {
			return err
		}
		s.catalog = catalog
		s.closers = append(s.closers, catalog)
	}

	if s.keys == nil {
		if err := s.buildKeyDelivery(reg); err != nil {
			return err
		}
	}

	if s.producer == nil {
		var keys KeySource
		if store, ok := s.catalog.(policy.ContentKeyStore); ok {
			keys = newCatalogKeys(store, s.now)
		}
		p := newProducer(s.cfg, s.store, keys)
		p.deriver = s.deriver
		s.producer = p
		s.closers = append(s.closers, p)
		if deps.PresentationName == nil {
			s.presentationName = p.PresentationName
		}
	}
	return nil
}

// derivedKeyTokenTTL is the lifetime of the key tokens written into
// playlists for players that cannot set headers: long enough for a player
// to load the playlist and then the key, short enough that a copied
// playlist stops working soon.
const derivedKeyTokenTTL = 10 * time.Minute

// buildKeyDelivery builds the key and license endpoints over the catalog,
// when the catalog stores content keys and policies.
func (s *Server) buildKeyDelivery(reg prometheus.Registerer) error {
	store, ok := s.catalog.(interface {
		policy.ContentKeyStore
		policy.ContentKeyPolicyStore
	})
	if !ok {
		return nil
	}
	masterKey, err := s.loadMasterKey()
	if err != nil {
		return err
	}
	secret, err := keydelivery.DerivedTokenSecret(masterKey)
	if err != nil {
		return err
	}

	verifier := policy.NewTokenVerifier(s.now, s.cfg.TokenClockSkew)
	h, err := keydelivery.New(keydelivery.Config{
		Keys:               store,
		Authorizer:         policy.NewKeyAuthorizer(s.catalog, store, verifier),
		DerivedTokenSecret: secret,
		AllowedOrigins:     allowedOrigins(s.cfg.CORSOrigins),
		ClientIP:           s.clientIP,
		Now:                s.now,
		Logger:             s.rootLogger,
		Registerer:         reg,
	})
	if err != nil {
		return fmt.Errorf("building key delivery: %w", err)
	}
	s.keys = http.StripPrefix("/keys", h)
	s.deriver = h
	return nil
}

// allowedOrigins turns the CORS setting into key delivery's list, where
// nil means every origin.
func allowedOrigins(origins []string) []string {
	if slices.Contains(origins, "*") {
		return nil
	}
	return origins
}

// loadMasterKey returns the master key from the configuration or the
// data folder's key file, reading it once.
func (s *Server) loadMasterKey() ([]byte, error) {
	if s.masterKey != nil {
		return s.masterKey, nil
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data folder: %w", err)
	}
	key, err := policy.LoadMasterKey(s.cfg.MasterKey.Reveal(), s.cfg.DataDir, s.rootLogger)
	if err != nil {
		return nil, err
	}
	s.masterKey = key
	return key, nil
}

// storeOpenTimeout bounds connecting to a blob store at start-up, so a
// wrong endpoint fails the start instead of hanging it.
const storeOpenTimeout = 30 * time.Second

// mediaDisplay returns the media location without its query, which may
// carry credentials such as a SAS token.
func mediaDisplay(location string) string {
	if i := strings.IndexByte(location, '?'); i >= 0 {
		return location[:i]
	}
	return location
}

// catalogFile is the SQLite catalog's file name in DataDir.
const catalogFile = "catalog.db"

func (s *Server) openCatalog() (*policy.SQLiteStore, error) {
	key, err := s.loadMasterKey()
	if err != nil {
		return nil, err
	}
	return policy.OpenSQLite(filepath.Join(s.cfg.DataDir, catalogFile), key)
}

// Close closes the collaborators that New built because Deps left them nil
// (the media store, the catalog, the default producer). Run calls it when
// it returns; call it yourself when serving through Handler. Closing twice
// is harmless.
func (s *Server) Close() error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()

	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i].Close())
	}
	return errors.Join(errs...)
}

func (s *Server) closeOwned() {
	if err := s.Close(); err != nil {
		s.logger.Error("closing dependencies failed", "err", err)
	}
}

// routes builds the router. Streaming URLs contain parentheses, commas and
// '=' that no route pattern expresses well, so they go to a catch-all
// handler with its own parser.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()

	r.Get("/healthz", s.serveHealthz)
	r.Get("/readyz", s.serveReadyz)
	r.Method(http.MethodGet, "/metrics", s.metricsHandler())

	keys := s.keys
	if keys == nil {
		keys = http.NotFoundHandler()
	}
	r.Handle("/keys/*", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		setRoute(req, routeKeys)
		// Drop chi's routing state so a key handler that is itself a chi
		// router routes on the full path.
		ctx := context.WithValue(req.Context(), chi.RouteCtxKey, nil)
		keys.ServeHTTP(w, req.WithContext(ctx))
	}))

	r.Route("/api/v1", s.adminRoutes)

	page := http.StripPrefix("/player", player.Handler())
	r.Handle("/player", page)
	r.Handle("/player/*", page)

	stream := s.cors(http.HandlerFunc(s.serveStream))
	r.NotFound(stream.ServeHTTP)
	r.MethodNotAllowed(stream.ServeHTTP)
	return r
}

func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelError)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r, routeMetrics)
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves one request through the middleware and router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Handler returns the server's handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the configured address, so tests can learn the port of ":0"
// before Run. Run calls it when it has not been called.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return s.listener.Addr(), nil
	}

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	s.listener = ln
	return ln.Addr(), nil
}

// Addr returns the bound address, or nil before Listen or Run.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// Run serves until ctx is done, then shuts down gracefully: /readyz turns
// 503, after ShutdownDelay the listener closes, and in-flight requests get
// ShutdownTimeout to finish before their connections are closed. It
// returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	defer s.closeOwned()

	addr, err := s.Listen()
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		// Requests outlive ctx: shutdown lets them finish instead of
		// canceling them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(s.listener) }()
	s.logger.Info("server started", "addr", addr.String(), "media", s.cfg.Media)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serving on %s: %w", addr, err)
	case <-ctx.Done():
	}

	s.shuttingDown.Store(true)
	s.logger.Info("server stopping", "shutdown_delay", s.cfg.ShutdownDelay, "shutdown_timeout", s.cfg.ShutdownTimeout)
	if s.cfg.ShutdownDelay > 0 {
		time.Sleep(s.cfg.ShutdownDelay)
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown did not finish within %v, closed the remaining connections: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", addr, err)
	}
	s.logger.Info("server stopped")
	return nil
}
