package origin

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestLoadConfigLayering(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lockstream.yaml")
	writeFile(t, file, `
listen: 127.0.0.1:9000
media: /srv/file-media
data_dir: /srv/file-data
hls_target_duration: 4s
cors_origins: [https://a.example, https://b.example]
log_level: warn
`)

	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--config", file, "--media", "/srv/flag-media", "--dash-target-duration=3s"}); err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"LOCKSTREAM_MEDIA=/srv/env-media",
		"LOCKSTREAM_DATA=/srv/env-data",
		"LOCKSTREAM_ADMIN_TOKEN=s3cret",
		"LOCKSTREAM_LOG_LEVEL=debug",
		"UNRELATED=1",
	}

	got, err := LoadConfig("", environ, cfg)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	checks := []struct{ field, got, want string }{
		{"listen (file over default)", got.Listen, "127.0.0.1:9000"},
		{"media (flag over env and file)", got.Media, "/srv/flag-media"},
		{"data_dir (env over file)", got.DataDir, "/srv/env-data"},
		{"log_level (env over file)", got.LogLevel, "debug"},
		{"hls_target_duration (file)", got.HLSTargetDuration.String(), "4s"},
		{"dash_target_duration (flag)", got.DASHTargetDuration.String(), "3s"},
		{"smooth_target_duration (default)", got.SmoothTargetDuration.String(), "2s"},
		{"cors_origins (file list)", strings.Join(got.CORSOrigins, ","), "https://a.example,https://b.example"},
		{"admin token (env)", got.AdminToken.Reveal(), "s3cret"},
		{"config file", got.ConfigFile, file},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
}

func TestLoadConfigJSONAndErrors(t *testing.T) {
	dir := t.TempDir()

	t.Run("json file", func(t *testing.T) {
		file := filepath.Join(dir, "c.json")
		writeFile(t, file, `{"listen": ":0", "shutdown_timeout": "5s"}`)
		cfg, err := LoadConfig(file, nil, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Listen != ":0" || cfg.ShutdownTimeout != 5*time.Second {
			t.Errorf("listen %q shutdown_timeout %v, want :0 and 5s", cfg.Listen, cfg.ShutdownTimeout)
		}
	})

	t.Run("config from environment", func(t *testing.T) {
		file := filepath.Join(dir, "env.yaml")
		writeFile(t, file, "listen: 127.0.0.1:7000\n")
		cfg, err := LoadConfig("", []string{"LOCKSTREAM_CONFIG=" + file}, DefaultConfig())
		if err != nil || cfg.Listen != "127.0.0.1:7000" {
			t.Errorf("listen %q, %v; want 127.0.0.1:7000", cfg.Listen, err)
		}
	})

	errorCases := []struct {
		name    string
		file    string
		environ []string
		want    string
	}{
		{"unknown key", "lisen: x\n", nil, `line 1: unknown key "lisen"`},
		{"bad duration", "read_timeout: soon\n", nil, "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{"integer duration", "read_timeout: 30\n", nil, "line 1: cannot unmarshal !!int `30` into time.Duration"},
		{"bad env duration", "", []string{"LOCKSTREAM_IDLE_TIMEOUT=x"}, "LOCKSTREAM_IDLE_TIMEOUT"},
		{"bad env integer", "", []string{"LOCKSTREAM_INDEX_CACHE_MIB=many"}, "LOCKSTREAM_INDEX_CACHE_MIB"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			writeFile(t, file, tc.file)
			_, err := LoadConfig(file, tc.environ, DefaultConfig())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := LoadConfig(filepath.Join(dir, "nope.yaml"), nil, DefaultConfig())
		if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
			t.Errorf("error = %v, want it to name the file", err)
		}
	})
}

func TestLoadConfigUnknownKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content string
		want                []string // the error's lines, with FILE for the quoted path
	}{
		{
			name:    "yaml",
			file:    "lockstream.yaml",
			content: "listen: 127.0.0.1:9000\nmedia: /srv/media\n# segment durations\nhls_target_duraton: 4s\n",
			want:    []string{`config file FILE: line 4: unknown key "hls_target_duraton"`},
		},
		{
			name:    "json",
			file:    "lockstream.json",
			content: "{\n  \"listen\": \":0\",\n  \"hls_target_duraton\": \"4s\"\n}\n",
			want:    []string{`config file FILE: line 3: unknown key "hls_target_duraton"`},
		},
		{
			name:    "every unknown key",
			file:    "two.yaml",
			content: "lisen: x\nlog_level: warn\nmedai: /srv\n",
			want: []string{
				`config file FILE: line 1: unknown key "lisen"`,
				`config file FILE: line 3: unknown key "medai"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.file)
			writeFile(t, file, tc.content)

			_, err := LoadConfig(file, nil, DefaultConfig())
			if err == nil {
				t.Fatal("LoadConfig returned no error")
			}
			want := strings.ReplaceAll(strings.Join(tc.want, "\n"), "FILE", fmt.Sprintf("%q", file))
			if got := err.Error(); got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
		})
	}
}

func TestLoadConfigNotMapping(t *testing.T) {
	file := filepath.Join(t.TempDir(), "list.yaml")
	writeFile(t, file, "- listen: x\n")
	_, err := LoadConfig(file, nil, DefaultConfig())
	want := fmt.Sprintf("config file %q: line 1: want a mapping of keys to values", file)
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestLoadConfigEmptyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "empty.yaml")
	writeFile(t, file, "# nothing set here\n")
	cfg, err := LoadConfig(file, nil, DefaultConfig())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Listen != DefaultConfig().Listen {
		t.Errorf("listen = %q, want the default %q", cfg.Listen, DefaultConfig().Listen)
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "8080"
	cfg.PublicBaseURL = "ftp://x"
	cfg.CORSOrigins = []string{"player.example"}
	cfg.ReadHeaderTimeout = 0
	cfg.WriteTimeout = -time.Second
	cfg.MaxHeaderBytes = 10
	cfg.Media = "ftp://bucket"
	cfg.DataDir = ""
	cfg.IndexCacheMiB = 0
	cfg.SegmentCacheMiB = -1
	cfg.MemoryLimitMiB = 8
	cfg.HLSTargetDuration = 100 * time.Millisecond
	cfg.TokenClockSkew = 2 * time.Hour
	cfg.LogLevel = "loud"
	cfg.MasterKey = "too-short-secret-value"

	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, key := range []string{"listen", "public_base_url", "cors_origins", "read_header_timeout", "write_timeout",
		"max_header_bytes", "media", "data_dir", "index_cache_mib", "segment_cache_mib", "memory_limit_mib", "hls_target_duration", "token_clock_skew", "log_level", "master_key"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "too-short-secret-value") {
		t.Error("error message contains the master key")
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AdminToken = "admin-secret-value"
	cfg.MasterKey = "master-secret-value"

	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Info("config", "config", cfg)
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "config", cfg, "token", cfg.AdminToken)
	outputs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x", cfg, cfg, cfg, cfg.AdminToken, cfg.MasterKey, cfg.MasterKey),
		log.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "secret-value") || strings.Contains(out, fmt.Sprintf("%x", "master-secret-value")) {
			t.Errorf("output contains a secret: %s", out)
		}
	}
	if !strings.Contains(log.String(), "[redacted]") {
		t.Errorf("log %s does not show [redacted]", log.String())
	}
}

func TestRegisterFlagsHasNoSecrets(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	for _, name := range []string{"admin-token", "master-key"} {
		if fs.Lookup(name) != nil {
			t.Errorf("flag --%s exists; secrets must not be flags", name)
		}
	}
	for _, name := range []string{"listen", "media", "data", "config"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s is missing", name)
		}
	}
	if got := fs.Lookup("listen").DefValue; got != "127.0.0.1:8080" {
		t.Errorf("--listen default = %q, want 127.0.0.1:8080", got)
	}
}

func TestMediaPath(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"./media", "./media", ""},
		{"file:///srv/media", "/srv/media", ""},
		{"file://localhost/srv/media", "/srv/media", ""},
		{"file://host/srv", "", "invalid file URL"},
		{"azblob://container", "", "blob storage location"},
		{"http://x", "", "unknown media URL scheme"},
		{"", "", "is empty"},
	}
	for _, tc := range cases {
		got, err := MediaPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("MediaPath(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("MediaPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigClientIPHeader(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lockstream.yaml")
	writeFile(t, file, "client_ip_header: X-Real-IP\n")

	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"default", nil, nil, ""},
		{"file", []string{"--config", file}, nil, "X-Real-IP"},
		{"environment over file", []string{"--config", file}, []string{"LOCKSTREAM_CLIENT_IP_HEADER=X-Forwarded-For"}, "X-Forwarded-For"},
		{"flag over environment", []string{"--client-ip-header", "X-Client-IP"}, []string{"LOCKSTREAM_CLIENT_IP_HEADER=X-Forwarded-For"}, "X-Client-IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			cfg.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := LoadConfig("", tt.environ, cfg)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if got.ClientIPHeader != tt.want {
				t.Errorf("ClientIPHeader = %q, want %q", got.ClientIPHeader, tt.want)
			}
		})
	}

	for _, bad := range []string{"X-Forwarded-For:", "X Real IP", "X-Real-IP\r\nX: 1"} {
		cfg := DefaultConfig()
		cfg.ClientIPHeader = bad
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "client_ip_header") {
			t.Errorf("Validate with client_ip_header %q = %v, want an error naming client_ip_header", bad, err)
		}
	}
}

func TestFlagHelpPrintsEveryFlag(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	cfg.RegisterFlags(fs)
	fs.PrintDefaults()

	help := out.String()
	if strings.Contains(help, "panic") {
		t.Fatalf("flag help reports a panic:\n%s", help)
	}
	for _, name := range []string{"-listen", "-segment-cache-mib", "-index-cache-mib", "-config"} {
		if !strings.Contains(help, name) {
			t.Errorf("flag help lacks %s", name)
		}
	}
}
