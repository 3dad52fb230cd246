package origin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/policy"
)

func TestAccessLogRedaction(t *testing.T) {
	env := newTestEnv(t, nil)
	path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/manifest"

	env.do(t, http.MethodGet, path+"?token=eyJhbGciOiJIUzI1NiJ9.jwt-in-query&x=1&Access_Token=second-jwt&%74oken=encoded-jwt", http.Header{
		"Authorization": {"Bearer header-jwt-value"},
		"Cookie":        {"session=cookie-value"},
		"X-Request-Id":  {"abc-123"},
	})
	env.do(t, http.MethodGet, "/api/v1/streamingLocators", http.Header{"Authorization": {"Bearer wrong-admin-token"}})

	logs := env.logs.String()
	for _, secret := range []string{"jwt-in-query", "second-jwt", "encoded-jwt", "header-jwt-value", "cookie-value", "wrong-admin-token", testAdminToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}

	var entry map[string]any
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, "abc-123") {
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatal(err)
			}
		}
	}
	if entry == nil {
		t.Fatalf("no access log line with request_id abc-123:\n%s", logs)
	}
	for _, key := range []string{"request_id", "method", "path", "status", "bytes_out", "latency_ms"} {
		if _, ok := entry[key]; !ok {
			t.Errorf("access log has no %s: %v", key, entry)
		}
	}
	if got := entry["path"].(string); !strings.Contains(got, "token=REDACTED") || !strings.Contains(got, "x=1") {
		t.Errorf("logged path = %q, want token=REDACTED and x=1 kept", got)
	}
}

func TestRequestID(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"sane id kept", "req-42.a_b", true},
		{"newline replaced", "evil\nline", false},
		{"too long replaced", strings.Repeat("a", 65), false},
		{"missing generated", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.sent != "" {
				h.Set("X-Request-Id", tc.sent)
			}
			got := env.do(t, http.MethodGet, "/healthz", h).Header().Get("X-Request-Id")
			if tc.kept && got != tc.sent {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.sent)
			}
			if !tc.kept && (got == tc.sent || got == "") {
				t.Errorf("X-Request-Id = %q, want a new ID", got)
			}
		})
	}
}

func TestPanicLogged(t *testing.T) {
	env := newTestEnv(t, nil)
	path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/dash/clear/panic/1.m4s"
	rec := env.do(t, http.MethodGet, path, nil)
	if rec.Code != 500 {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if !strings.Contains(env.logs.String(), `"msg":"handler panicked"`) {
		t.Errorf("no panic log line:\n%s", env.logs.String())
	}
}

func TestMetricsEndpoint(t *testing.T) {
	env := newTestEnv(t, nil)
	base := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/"
	env.do(t, http.MethodGet, base+"hls-ts/clear/video/1.ts", nil)
	env.do(t, http.MethodGet, base+"manifest", nil)
	env.do(t, http.MethodGet, "/"+strings.Repeat("x", 40), nil)

	body := env.do(t, http.MethodGet, "/metrics", nil).Body.String()
	for _, want := range []string{
		`lockstream_http_requests_total{route="segment",status="200"} 1`,
		`lockstream_http_requests_total{route="manifest",status="200"} 1`,
		`lockstream_http_requests_total{route="other",status="404"} 1`,
		`lockstream_http_response_bytes_total{route="segment"}`,
		`lockstream_http_request_duration_seconds_bucket{route="segment"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestCacheCollector(t *testing.T) {
	env := newTestEnv(t, nil)
	cfg := DefaultConfig()
	cfg.Media = t.TempDir()
	cfg.DataDir = t.TempDir()
	s, err := New(cfg, nil, Deps{
		Catalog:    env.catalog,
		Producer:   &fakeProducer{},
		CacheStats: func() CacheStats { return CacheStats{Hits: 7, Misses: 2, Entries: 3, Bytes: 4096} },
	})
	if err != nil {
		t.Fatal(err)
	}
	body := doHandler(t, s.Handler(), "/metrics")
	for _, want := range []string{"lockstream_index_cache_hits_total 7", "lockstream_index_cache_misses_total 2",
		"lockstream_index_cache_entries 3", "lockstream_index_cache_bytes 4096"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func doHandler(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	env := &testEnv{server: &Server{handler: h}}
	return env.do(t, http.MethodGet, target, nil).Body.String()
}

func TestHealthAndReady(t *testing.T) {
	env := newTestEnv(t, nil)
	if rec := env.do(t, http.MethodGet, "/healthz", nil); rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
	if rec := env.do(t, http.MethodGet, "/readyz", nil); rec.Code != 200 {
		t.Errorf("/readyz = %d %q, want 200", rec.Code, rec.Body.String())
	}

	env.catalog.Close()
	if rec := env.do(t, http.MethodGet, "/readyz", nil); rec.Code != 503 {
		t.Errorf("/readyz with a closed catalog = %d, want 503", rec.Code)
	}
}

// TestGracefulShutdown checks that an in-flight request completes after
// shutdown starts, and that /readyz answers 503 meanwhile.
func TestGracefulShutdown(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.ShutdownDelay = 300 * time.Millisecond
		c.ProduceTimeout = 10 * time.Second
	})
	path := "/" + env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil).String() + "/sample.ism/manifest"
	env.producer.block = make(chan struct{})

	addr, err := env.server.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if got := env.server.Addr(); got == nil || got.String() != addr.String() {
		t.Errorf("Addr() = %v, want %v", got, addr)
	}
	base := "http://" + addr.String()

	ctx, stop := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- env.server.Run(ctx) }()

	client := &http.Client{Timeout: 10 * time.Second}
	inflight := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			close(inflight)
			return
		}
		inflight <- resp
	}()
	waitFor(t, func() bool { return env.producer.waiting.Load() > 0 })

	stop()
	waitFor(t, env.server.shuttingDown.Load)
	ready, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("/readyz during shutdown delay: %v", err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during shutdown = %d, want 503", ready.StatusCode)
	}

	close(env.producer.block)
	resp := <-inflight
	if resp == nil {
		t.FailNow()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "kind=manifest") {
		t.Errorf("in-flight request = %d %q, want 200 with the manifest", resp.StatusCode, body)
	}

	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts connections after Run returned")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
