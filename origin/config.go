package origin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/lockstream/lockstream/policy"
)

// Config is the whole configuration of the origin server.
//
// Sources are layered in this order, each overriding the one before:
//
//  1. DefaultConfig;
//  2. the config file (YAML, or JSON, which YAML reads as well), with the
//     keys given in the yaml tags below;
//  3. LOCKSTREAM_* environment variables (LOCKSTREAM_LISTEN,
//     LOCKSTREAM_HLS_TARGET_DURATION, ...: the flag name in upper case with
//     '-' turned into '_');
//  4. command-line flags that were set explicitly.
//
// Flags come last because they are the most specific statement of what the
// operator wants for this one process. The admin token and the master key
// have no flag, so they never appear in a process list: set them in the
// environment (LOCKSTREAM_ADMIN_TOKEN, LOCKSTREAM_MASTER_KEY) or in a
// config file readable only by the server's user.
type Config struct {
	// ConfigFile is the path of the config file; flag --config, environment
	// LOCKSTREAM_CONFIG. Default: none.
	ConfigFile string `yaml:"-"`

	// Listener and public address.

	// Listen is the TCP address to listen on; ":0" picks a free port.
	// Default "127.0.0.1:8080", so a fresh install is not reachable from
	// other hosts until the operator says so.
	Listen string `yaml:"listen"`
	// PublicBaseURL is the scheme and host (and optional path prefix) that
	// clients use to reach this server, such as "https://media.example.com".
	// Manifests and key URIs use it for absolute URLs. Default empty: the
	// base URL is derived from each request's Host header, which is only
	// safe when a proxy in front of the server sets that header. HLS key
	// URIs are then root-relative, but DASH license URLs still follow the
	// Host header, so set it in production.
	PublicBaseURL string `yaml:"public_base_url"`
	// ClientIPHeader names the request header that carries the client's
	// address, set by a reverse proxy in front of the server, for key
	// delivery's per-client failure limit. For "X-Forwarded-For" the last
	// address counts, the one the proxy appended; for any other header
	// (such as "X-Real-IP") the whole value. Default empty: the TCP peer
	// address, which behind a proxy is the proxy's, so one client's
	// failures would block every player. Set it only behind a proxy that
	// sets or overwrites the header on every request; otherwise clients
	// choose the address they are counted under.
	ClientIPHeader string `yaml:"client_ip_header"`
	// CORSOrigins lists the origins allowed to read streaming responses
	// from a browser; "*" allows every origin. Default ["*"], since the
	// content is protected by encryption and tokens, not by the origin.
	CORSOrigins []string `yaml:"cors_origins"`

	// HTTP server limits.

	// ReadHeaderTimeout bounds reading the request line and headers.
	// Default 10s: a player sends its headers in one or two packets, and a
	// client that trickles them is holding a connection open (slowloris).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request including its body.
	// Default 30s: request bodies are small (admin JSON, license requests
	// of a few hundred bytes), so even a slow mobile link finishes well
	// within it.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response, including packaging. Default 2m. A 6 s
	// segment at 20 Mbit/s is about 15 MB, which a client on a 2 Mbit/s
	// link needs about 60 s to receive, and the margin covers packaging.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request. Default 2m: players fetch a segment every few seconds
	// and pause playback for longer, and reusing the connection saves a
	// TLS handshake per segment.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ProduceTimeout bounds building one manifest or segment; a request
	// that exceeds it gets 504. Default 30s: packaging a segment takes
	// milliseconds, so only a stalled storage read gets near it.
	ProduceTimeout time.Duration `yaml:"produce_timeout"`
	// ShutdownDelay is how long /readyz reports 503 before the listener
	// closes, so a load balancer stops sending new requests first.
	// Default 0s, which suits running by hand; behind a load balancer set
	// it to a little more than its health-check interval.
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	// ShutdownTimeout bounds the graceful shutdown: in-flight requests get
	// this long to finish before their connections are closed. Default
	// 25s, which stays inside the 30 s default grace period that
	// Kubernetes gives a pod before it kills it.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxHeaderBytes bounds the size of the request headers. Default
	// 65536: a JWT in an Authorization header is a few kilobytes at most,
	// and the 1 MB net/http default only lets clients make the server
	// buffer more.
	MaxHeaderBytes int `yaml:"max_header_bytes"`

	// Media and state.

	// Media is the media root: a local folder path or a file:// URL
	// (azblob:// and s3:// URLs are reserved for blob storage). Each
	// sub-folder is one asset. Default "./media".
	Media string `yaml:"media"`
	// DataDir holds the catalog database and other state. Default "./data".
	DataDir string `yaml:"data_dir"`
	// IndexCacheMiB bounds the memory of parsed MP4 indexes, in MiB.
	// Default 512. An index costs about 32 bytes per sample, so by
	// estimate a two-hour title with five renditions takes about 25 MiB and
	// the default holds the hot part of a large library.
	IndexCacheMiB int `yaml:"index_cache_mib"`
	// SegmentCacheMiB bounds the memory of built media segments and
	// Smooth fragments kept for the next request of the same URL, in MiB.
	// Default 0: off, so every request packages and encrypts anew and
	// the memory stays with the index. An origin behind a CDN rarely sees
	// a URL twice; one that players reach directly, or that serves a few
	// popular titles, saves the packaging and encryption of every repeat.
	// Clear fMP4 sent straight from local files is not cached: it costs
	// less to send than to keep.
	SegmentCacheMiB int `yaml:"segment_cache_mib"`
	// MemoryLimitMiB is the Go runtime's soft memory limit, in MiB, as
	// GOMEMLIMIT sets it: past it the garbage collector runs more often
	// to keep the heap within it, trading CPU time for memory. Default 0
	// leaves the runtime's setting, which GOMEMLIMIT may give. It bounds
	// what the runtime manages, not the process's resident size, so set
	// it some 10% below the memory a container may use.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`

	// Packaging.

	// HLSTargetDuration is the segment duration HLS aims at. Default 6s,
	// the duration Apple's HLS authoring specification recommends.
	HLSTargetDuration time.Duration `yaml:"hls_target_duration"`
	// DASHTargetDuration is the segment duration DASH aims at. Default 2s,
	// which matches the usual 2 s GOP so every segment starts on a sync
	// sample.
	DASHTargetDuration time.Duration `yaml:"dash_target_duration"`
	// SmoothTargetDuration is the fragment duration Smooth Streaming aims
	// at. Default 2s, the usual Smooth Streaming fragment duration, which
	// also matches a 2 s GOP.
	SmoothTargetDuration time.Duration `yaml:"smooth_target_duration"`

	// Security.

	// AdminToken is the bearer token of the admin API under /api/v1; when
	// empty the admin API is disabled. No flag: environment
	// LOCKSTREAM_ADMIN_TOKEN or the config file. Default empty.
	AdminToken Secret `yaml:"admin_token"`
	// MasterKey encrypts content keys at rest with AES-256-GCM: 32 bytes
	// as 64 hex digits or base64. No flag: environment
	// LOCKSTREAM_MASTER_KEY or the config file. Default empty, which
	// makes the catalog keep a generated key in DataDir/master.key.
	MasterKey Secret `yaml:"master_key"`
	// TokenClockSkew is the leeway for exp and nbf when key delivery checks
	// a token. Default 5m, which covers clocks that NTP keeps in sync
	// without letting an expired token live on noticeably.
	TokenClockSkew time.Duration `yaml:"token_clock_skew"`

	// Logging.

	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `yaml:"log_level"`

	// flagValues records the flags set on the command line, in order, so
	// LoadConfig can apply them over the file and the environment.
	flagValues *[]flagValue
}

type flagValue struct{ name, value string }

// DefaultConfig returns the configuration with every field at its default.
func DefaultConfig() Config {
	return Config{
		Listen:               "127.0.0.1:8080",
		CORSOrigins:          []string{"*"},
		ReadHeaderTimeout:    10 * time.Second,
		ReadTimeout:          30 * time.Second,
		WriteTimeout:         2 * time.Minute,
		IdleTimeout:          2 * time.Minute,
		ProduceTimeout:       30 * time.Second,
		ShutdownTimeout:      25 * time.Second,
		MaxHeaderBytes:       64 << 10,
		Media:                "./media",
		DataDir:              "./data",
		IndexCacheMiB:        512,
		HLSTargetDuration:    6 * time.Second,
		DASHTargetDuration:   2 * time.Second,
		SmoothTargetDuration: 2 * time.Second,
		TokenClockSkew:       5 * time.Minute,
		LogLevel:             "info",
	}
}

// Secret is a string that never shows in formatted output, logs or
// encoded config: every fmt verb, slog and JSON/YAML encoding print
// "[redacted]" (or "" when empty). Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

func (s Secret) String() string               { return s.mask() }
func (s Secret) GoString() string             { return fmt.Sprintf("%q", s.mask()) }
func (s Secret) Format(f fmt.State, _ rune)   { fmt.Fprint(f, s.mask()) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.mask()) }
func (s Secret) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.mask()), nil }
func (s Secret) MarshalYAML() (any, error)    { return s.mask(), nil }

// Validate checks every field and reports all invalid ones at once, each
// named by its config file key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "invalid address %q: want host:port, such as 127.0.0.1:8080 or :0", c.Listen)
	}
	if c.PublicBaseURL != "" {
		if err := checkBaseURL(c.PublicBaseURL); err != nil {
			bad("public_base_url", "%v", err)
		}
	}
	if c.ClientIPHeader != "" && !validHeaderName(c.ClientIPHeader) {
		bad("client_ip_header", "invalid header name %q: want a name such as X-Forwarded-For or X-Real-IP", c.ClientIPHeader)
	}
	if len(c.CORSOrigins) == 0 {
		bad("cors_origins", "is empty: list allowed origins, or \"*\" for all")
	}
	for _, o := range c.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			bad("cors_origins", "%v", err)
		}
	}

	positive := []struct {
		key string
		d   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout},
		{"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"produce_timeout", c.ProduceTimeout},
		{"shutdown_timeout", c.ShutdownTimeout},
		{"token_clock_skew", c.TokenClockSkew},
	}
	for _, p := range positive {
		if p.d <= 0 {
			bad(p.key, "must be positive, got %v", p.d)
		}
	}
	if c.ShutdownDelay < 0 {
		bad("shutdown_delay", "must not be negative, got %v", c.ShutdownDelay)
	}
	if c.ReadHeaderTimeout > c.ReadTimeout && c.ReadTimeout > 0 {
		bad("read_header_timeout", "%v is longer than read_timeout %v", c.ReadHeaderTimeout, c.ReadTimeout)
	}
	if c.TokenClockSkew > time.Hour {
		bad("token_clock_skew", "%v is more than 1h, which would keep expired tokens valid", c.TokenClockSkew)
	}
	if c.MaxHeaderBytes < 4096 || c.MaxHeaderBytes > 1<<20 {
		bad("max_header_bytes", "must be between 4096 and 1048576, got %d", c.MaxHeaderBytes)
	}

	if _, err := MediaPath(c.Media); err != nil && !errors.Is(err, errBlobLocation) {
		bad("media", "%v", err)
	}
	if c.DataDir == "" {
		bad("data_dir", "is empty")
	}
	if c.IndexCacheMiB < 1 {
		bad("index_cache_mib", "must be at least 1, got %d", c.IndexCacheMiB)
	}
	if c.SegmentCacheMiB < 0 || c.SegmentCacheMiB > 1<<20 {
		bad("segment_cache_mib", "must be between 0 (off) and 1048576, got %d", c.SegmentCacheMiB)
	}
	if c.MemoryLimitMiB != 0 && (c.MemoryLimitMiB < 32 || c.MemoryLimitMiB > 1<<30) {
		bad("memory_limit_mib", "must be 0 (the runtime's setting) or between 32 and 1073741824, got %d", c.MemoryLimitMiB)
	}

	targets := []struct {
		key string
		d   time.Duration
	}{
		{"hls_target_duration", c.HLSTargetDuration},
		{"dash_target_duration", c.DASHTargetDuration},
		{"smooth_target_duration", c.SmoothTargetDuration},
	}
	for _, t := range targets {
		if t.d < time.Second || t.d > time.Minute {
			bad(t.key, "must be between 1s and 1m, got %v", t.d)
		}
	}

	if c.MasterKey != "" {
		// The decoding error is not wrapped: it could quote the key.
		if _, err := policy.LoadMasterKey(c.MasterKey.Reveal(), "", nil); err != nil {
			bad("master_key", "must be %d bytes as %d hex digits or base64", policy.MasterKeySize, 2*policy.MasterKeySize)
		}
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		bad("log_level", "%v", err)
	}
	return errors.Join(errs...)
}

// SlogLevel returns LogLevel as a slog.Level; Validate has checked it.
func (c Config) SlogLevel() slog.Level {
	level, _ := parseLogLevel(c.LogLevel)
	return level
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q: want debug, info, warn or error", s)
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must be scheme://host[:port][/prefix] with no user, query or fragment", s)
	}
	return nil
}

func checkOrigin(s string) error {
	if s == "*" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("invalid origin %q: want scheme://host[:port], such as https://player.example.com, or \"*\"", s)
	}
	return nil
}

// MediaPath returns the local folder of a media location given as a path
// or a file:// URL. Blob storage URLs (azblob://, s3://) are recognised and
// rejected until a blob store exists.
//
// Blob storage locations (azblob://, s3://) have no local path: MediaPath
// returns errBlobLocation for them.
func MediaPath(location string) (string, error) {
	if location == "" {
		return "", errors.New("is empty: give a folder path or a file:// URL")
	}
	scheme, _, ok := strings.Cut(location, "://")
	if !ok {
		return location, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(location)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return "", fmt.Errorf("invalid file URL %q: want file:///absolute/path", location)
		}
		return u.Path, nil
	case "azblob", "s3":
		return "", errBlobLocation
	}
	return "", fmt.Errorf("unknown media URL scheme %q: want a folder path or file://", scheme)
}

// errBlobLocation reports a media location in blob storage, which
// storage.OpenLocation opens and which has no local folder.
var errBlobLocation = errors.New("is a blob storage location")

// validHeaderName reports whether s is an HTTP field name: a token of
// RFC 9110 section 5.1.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
