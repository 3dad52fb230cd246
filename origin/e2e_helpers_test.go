package origin_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// testMasterKey seals the content keys of test catalogs (base64 of 32
// bytes; a public test value).
const testMasterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// testAdminToken guards the admin API of test servers.
const testAdminToken = "test-admin-token-0123456789abcdef"

// sampleMedia is the media root holding the committed sample asset.
func sampleMedia(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "media")
}

// testOrigin is a full origin on a loopback test server: local media, a
// SQLite catalog in a temporary folder, the packaging producer and key
// delivery.
type testOrigin struct {
	URL     string
	Admin   *adminapi.Client
	Logs    *syncBuffer
	Server  *httptest.Server
	Catalog *policy.SQLiteStore
}

func startOrigin(t testing.TB, media string) *testOrigin {
	t.Helper()
	return startOriginWith(t, media, nil)
}

// startOriginWith is startOrigin with edit applied to the configuration.
func startOriginWith(t testing.TB, media string, edit func(*origin.Config)) *testOrigin {
	t.Helper()

	cfg := origin.DefaultConfig()
	cfg.Media = media
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = origin.Secret(testAdminToken)
	cfg.MasterKey = origin.Secret(testMasterKey)
	if edit != nil {
		edit(&cfg)
	}

	masterKey, err := policy.LoadMasterKey(testMasterKey, cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := policy.OpenSQLite(filepath.Join(cfg.DataDir, "catalog.db"), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := origin.New(cfg, logger, origin.Deps{Catalog: catalog})
	if err != nil {
		t.Fatalf("origin.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("closing origin: %v", err)
		}
	})

	client := &http.Client{Timeout: 30 * time.Second}
	return &testOrigin{
		URL:     ts.URL,
		Admin:   adminapi.NewClient(ts.URL, testAdminToken, client),
		Logs:    logs,
		Server:  ts,
		Catalog: catalog,
	}
}

// publish creates a locator for the asset and returns its ID.
func (o *testOrigin) publish(t testing.TB, name, asset, streamingPolicy, keyPolicy string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	loc, err := o.Admin.CreateLocator(ctx, adminapi.CreateLocatorRequest{
		Name:                        name,
		AssetName:                   asset,
		StreamingPolicyName:         streamingPolicy,
		DefaultContentKeyPolicyName: keyPolicy,
	})
	if err != nil {
		t.Fatalf("publishing %q: %v", asset, err)
	}
	return loc.StreamingLocatorID.String()
}

// get fetches a URL and fails the test unless the status is 200.
func get(t testing.TB, url string, header http.Header) []byte {
	t.Helper()
	body, status := fetchWithHeader(t, url, header)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q", url, status, truncate(body, 300))
	}
	return body
}

// fetchWithHeader fetches a URL with extra request headers and returns the
// body (at most 64 MiB) and the status, failing the test on transport
// errors only.
func fetchWithHeader(t testing.TB, url string, header http.Header) ([]byte, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return body, resp.StatusCode
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// needFFmpeg returns the paths of ffmpeg and ffprobe, or skips the test
// when they are missing (and fails it under CI=true).
func needFFmpeg(t testing.TB) (ffmpeg, ffprobe string) {
	t.Helper()
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg and ffprobe are required under CI=true: apt-get install ffmpeg")
		}
		t.Skip("ffmpeg or ffprobe not found; install them (apt-get install ffmpeg) to run this test")
	}
	return ffmpeg, ffprobe
}

// runTool runs a command with a deadline and returns its stdout; a
// failure reports stderr.
func runTool(t testing.TB, timeout time.Duration, name string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// frameHashes runs ffmpeg's framemd5 muxer on the input and returns the
// hash of every decoded frame, in order, without timestamps: outputs
// carry timestamp offsets of their own, so only the pictures compare.
func frameHashes(t testing.TB, ffmpeg string, args ...string) []string {
	t.Helper()
	full := append([]string{"-v", "error", "-nostdin"}, args...)
	full = append(full, "-f", "framemd5", "-")
	out, stderr, err := runTool(t, 3*time.Minute, ffmpeg, full...)
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if len(bytes.TrimSpace(stderr)) > 0 {
		t.Errorf("ffmpeg %s reported errors:\n%s", strings.Join(args, " "), stderr)
	}

	var hashes []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(fields[len(fields)-1]))
	}
	return hashes
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Test token policy values; the secret is public test material.
const (
	testIssuer   = "https://lockstream.test"
	testAudience = "lockstream-test-players"
	testSecret   = "bG9ja3N0cmVhbS10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm" // 36 bytes, base64
)

// testTokenPolicy returns a content key policy with an HMAC token
// restriction.
func testTokenPolicy(name string) *policy.ContentKeyPolicy {
	return &policy.ContentKeyPolicy{
		Name: name,
		Options: []policy.ContentKeyPolicyOption{{
			Name: "token",
			Restriction: policy.Restriction{
				Type:     policy.RestrictionToken,
				Issuer:   testIssuer,
				Audience: testAudience,
				PrimaryVerificationKey: &policy.VerificationKey{
					Type:     policy.VerificationKeySymmetric,
					KeyValue: testSecret,
				},
			},
		}},
	}
}

// encryptedLocator is a published Predefined_ClearKey locator with its
// content key and a valid test token.
type encryptedLocator struct {
	ID     string
	Key    policy.ContentKey
	Token  string
	Policy *policy.ContentKeyPolicy
}

// publishEncrypted creates a token policy and an encrypted locator of the
// sample asset, and mints a token for its key.
func (o *testOrigin) publishEncrypted(t testing.TB, name string) *encryptedLocator {
	t.Helper()
	ctx := context.Background()

	p := testTokenPolicy(name + "-policy")
	if err := o.Catalog.CreateContentKeyPolicy(ctx, p); err != nil {
		t.Fatalf("creating content key policy: %v", err)
	}
	id := o.publish(t, name, "sample", policy.PolicyClearKey, p.Name)

	locatorID, err := uuid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := o.Catalog.ListContentKeys(ctx, locatorID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("content keys of %s: %v, %d keys", id, err, len(keys))
	}
	token, err := policy.MintTestToken(p, keys[0].ID, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("minting a test token: %v", err)
	}
	return &encryptedLocator{ID: id, Key: keys[0], Token: token, Policy: p}
}

// bearer returns an Authorization header with the token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
