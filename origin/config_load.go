package origin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// envPrefix starts every environment variable the origin reads.
const envPrefix = "LOCKSTREAM_"

// maxConfigFileSize bounds how much of a config file is read; a real one is
// a few kilobytes.
const maxConfigFileSize = 1 << 20

// configField binds one Config field to its flag, environment variable and
// config file key.
type configField struct {
	flag  string // flag name; the environment variable is derived from it
	key   string // config file key
	usage string
	value flag.Value
	// secret fields have no flag, so they never show in a process list.
	secret bool
}

func (f configField) env() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(f.flag, "-", "_"))
}

func (c *Config) fields() []configField {
	return []configField{
		{flag: "listen", key: "listen", usage: "TCP `address` to listen on (\":0\" picks a free port)", value: (*stringValue)(&c.Listen)},
		{flag: "public-base-url", key: "public_base_url", usage: "`URL` clients use to reach this server, for absolute URLs in manifests (default: from each request's Host header)", value: (*stringValue)(&c.PublicBaseURL)},
		{flag: "client-ip-header", key: "client_ip_header", usage: "request `header` with the client address (X-Forwarded-For or X-Real-IP) for key delivery's failure limit; set only behind a proxy that overwrites it (default: the TCP peer address)", value: (*stringValue)(&c.ClientIPHeader)},
		{flag: "cors-origins", key: "cors_origins", usage: "comma-separated `origins` allowed to read streaming responses, or *", value: (*listValue)(&c.CORSOrigins)},
		{flag: "read-header-timeout", key: "read_header_timeout", usage: "maximum `duration` for reading request headers", value: (*durationValue)(&c.ReadHeaderTimeout)},
		{flag: "read-timeout", key: "read_timeout", usage: "maximum `duration` for reading a whole request", value: (*durationValue)(&c.ReadTimeout)},
		{flag: "write-timeout", key: "write_timeout", usage: "maximum `duration` for producing and writing a response", value: (*durationValue)(&c.WriteTimeout)},
		{flag: "idle-timeout", key: "idle_timeout", usage: "maximum `duration` a keep-alive connection waits for its next request", value: (*durationValue)(&c.IdleTimeout)},
		{flag: "produce-timeout", key: "produce_timeout", usage: "maximum `duration` for building one manifest or segment (504 after it)", value: (*durationValue)(&c.ProduceTimeout)},
		{flag: "shutdown-delay", key: "shutdown_delay", usage: "`duration` /readyz reports 503 before the listener closes", value: (*durationValue)(&c.ShutdownDelay)},
		{flag: "shutdown-timeout", key: "shutdown_timeout", usage: "maximum `duration` in-flight requests get to finish at shutdown", value: (*durationValue)(&c.ShutdownTimeout)},
		{flag: "max-header-bytes", key: "max_header_bytes", usage: "maximum size of request headers in `bytes`", value: (*intValue)(&c.MaxHeaderBytes)},
		{flag: "media", key: "media", usage: "media root: a folder `path`, a file:// URL, azblob://CONTAINER[/PREFIX] or s3://BUCKET[/PREFIX]", value: (*stringValue)(&c.Media)},
		{flag: "data", key: "data_dir", usage: "`folder` for the catalog database and other state", value: (*stringValue)(&c.DataDir)},
		{flag: "index-cache-mib", key: "index_cache_mib", usage: "memory bound of parsed MP4 indexes in `MiB`", value: (*intValue)(&c.IndexCacheMiB)},
		{flag: "segment-cache-mib", key: "segment_cache_mib", usage: "memory bound of built segments kept for repeat requests in `MiB` (0: off)", value: (*intValue)(&c.SegmentCacheMiB)},
		{flag: "memory-limit-mib", key: "memory_limit_mib", usage: "soft memory limit of the Go runtime in `MiB`, as GOMEMLIMIT (0: the runtime's setting)", value: (*intValue)(&c.MemoryLimitMiB)},
		{flag: "hls-target-duration", key: "hls_target_duration", usage: "HLS segment `duration`", value: (*durationValue)(&c.HLSTargetDuration)},
		{flag: "dash-target-duration", key: "dash_target_duration", usage: "DASH segment `duration`", value: (*durationValue)(&c.DASHTargetDuration)},
		{flag: "smooth-target-duration", key: "smooth_target_duration", usage: "Smooth Streaming fragment `duration`", value: (*durationValue)(&c.SmoothTargetDuration)},
		{flag: "token-clock-skew", key: "token_clock_skew", usage: "leeway `duration` for token exp and nbf checks", value: (*durationValue)(&c.TokenClockSkew)},
		{flag: "log-level", key: "log_level", usage: "log `level`: debug, info, warn or error", value: (*stringValue)(&c.LogLevel)},
		{flag: "admin-token", key: "admin_token", value: (*secretValue)(&c.AdminToken), secret: true},
		{flag: "master-key", key: "master_key", value: (*secretValue)(&c.MasterKey), secret: true},
	}
}

// RegisterFlags defines a flag for every non-secret field on fs, with the
// field's current value as the default, plus --config. Flags set on the
// command line are recorded so LoadConfig applies them last; call
// RegisterFlags on the Config that is later passed to LoadConfig as base.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.flagValues == nil {
		c.flagValues = new([]flagValue)
	}
	fs.Var(&recordedValue{Value: (*stringValue)(&c.ConfigFile), name: "config", set: c.flagValues},
		"config", "config `file` (YAML or JSON); environment LOCKSTREAM_CONFIG")

	for _, f := range c.fields() {
		if f.secret {
			continue
		}
		fs.Var(&recordedValue{Value: f.value, name: f.flag, set: c.flagValues}, f.flag, f.usage)
	}
}

// LoadConfig layers the config file and the environment under the flags
// recorded in base (see Config for the order). path is the config file;
// when empty, base.ConfigFile and then LOCKSTREAM_CONFIG name it, and with
// none of them no file is read. environ is in os.Environ form. LoadConfig
// does not validate: call Validate on the result.
func LoadConfig(path string, environ []string, base Config) (Config, error) {
	env := parseEnviron(environ)
	if path == "" {
		path = base.ConfigFile
	}
	if path == "" {
		path = env[envPrefix+"CONFIG"]
	}

	cfg := base
	cfg.CORSOrigins = append([]string(nil), base.CORSOrigins...)
	cfg.ConfigFile = path
	if path != "" {
		if err := cfg.readFile(path); err != nil {
			return base, err
		}
	}

	var errs []error
	for _, f := range cfg.fields() {
		v, ok := env[f.env()]
		if !ok {
			continue
		}
		if err := f.value.Set(v); err != nil {
			// The value of a secret never goes into an error message.
			errs = append(errs, fmt.Errorf("environment %s: %w", f.env(), err))
		}
	}

	if base.flagValues != nil {
		byName := make(map[string]flag.Value)
		for _, f := range cfg.fields() {
			byName[f.flag] = f.value
		}
		for _, fv := range *base.flagValues {
			if v, ok := byName[fv.name]; ok {
				if err := v.Set(fv.value); err != nil {
					errs = append(errs, fmt.Errorf("flag --%s: %w", fv.name, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return base, err
	}
	return cfg, nil
}

// readFile decodes the config file at path over c. Unknown keys are
// errors, so a misspelt key does not silently keep its default.
func (c *Config) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return fmt.Errorf("reading config file %q: %w", path, err)
	}
	if len(data) > maxConfigFileSize {
		return fmt.Errorf("config file %q is larger than %d bytes", path, maxConfigFileSize)
	}

	// Decoding through a yaml.Node gives each key its line, so an unknown
	// key is reported by name and line instead of yaml's Go type names.
	// JSON is YAML, so a JSON file takes the same path.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("parsing config file %q: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty, or comments only
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %q: line %d: want a mapping of keys to values", path, root.Line)
	}

	var errs []error
	known := configFileKeys()
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		if !known[key.Value] {
			errs = append(errs, fmt.Errorf("config file %q: line %d: unknown key %q", path, key.Line, key.Value))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	if err := root.Decode(c); err != nil {
		var typeErr *yaml.TypeError
		if !errors.As(err, &typeErr) {
			return fmt.Errorf("parsing config file %q: %w", path, err)
		}
		// Each entry reads "line N: cannot unmarshal ...". Secret fields are
		// strings, which take any scalar, so no entry quotes a secret.
		for _, problem := range typeErr.Errors {
			errs = append(errs, fmt.Errorf("config file %q: %s", path, problem))
		}
		return errors.Join(errs...)
	}
	return nil
}

// configFileKeys returns the keys a config file may contain: the yaml tag
// names of Config.
func configFileKeys() map[string]bool {
	keys := make(map[string]bool)
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}

func parseEnviron(environ []string) map[string]string {
	env := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, envPrefix) {
			env[k] = v
		}
	}
	return env
}

// LogValue lists the effective configuration; secrets show as "[redacted]".
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("config_file", c.ConfigFile)}
	for _, f := range c.fields() {
		attrs = append(attrs, slog.String(f.key, f.value.String()))
	}
	return slog.GroupValue(attrs...)
}

// recordedValue remembers each flag set on the command line.
type recordedValue struct {
	flag.Value
	name string
	set  *[]flagValue
}

// String returns the wrapped value. flag.PrintDefaults calls it on a zero
// recordedValue to tell whether a default is the zero value, and that one
// wraps no value.
func (v *recordedValue) String() string {
	if v == nil || v.Value == nil {
		return ""
	}
	return v.Value.String()
}

func (v *recordedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	*v.set = append(*v.set, flagValue{name: v.name, value: s})
	return nil
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type secretValue Secret

func (v *secretValue) String() string     { return Secret(*v).String() }
func (v *secretValue) Set(s string) error { *v = secretValue(s); return nil }

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, such as 6s or 2m", s)
	}
	*v = durationValue(d)
	return nil
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid integer %q", s)
	}
	*v = intValue(n)
	return nil
}

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	var list []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	*v = list
	return nil
}
