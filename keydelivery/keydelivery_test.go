package keydelivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lockstream/lockstream/policy"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "urn:lockstream:test"
)

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testClock is a settable clock shared by the handler and the token
// verifier.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a key delivery server on loopback over a real SQLite catalog
// with three encrypted locators: two under a token policy with an HMAC
// key, one under an RSA policy, and one under an open policy.
type fixture struct {
	srv     *httptest.Server
	handler *Handler
	clock   *testClock
	logs    *bytes.Buffer
	reg     *prometheus.Registry

	secret  []byte
	rsaKey  *rsa.PrivateKey
	rsaPEM  string
	tokenP  *policy.ContentKeyPolicy
	key     policy.ContentKey // token policy
	other   policy.ContentKey // token policy, another locator
	rsaLock policy.ContentKey // RSA policy
	open    policy.ContentKey // open policy
}

var (
	rsaOnce sync.Once
	rsaTest *rsa.PrivateKey
)

func newFixture(t testing.TB, edit func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{clock: &testClock{now: testStart}, logs: &bytes.Buffer{}, reg: prometheus.NewRegistry()}

	masterKey := make([]byte, policy.MasterKeySize)
	f.secret = make([]byte, 32)
	rand.Read(masterKey)
	rand.Read(f.secret)
	rsaOnce.Do(func() {
		var err error
		if rsaTest, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	f.rsaKey = rsaTest
	der, _ := x509.MarshalPKIXPublicKey(&f.rsaKey.PublicKey)
	f.rsaPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	store, err := policy.OpenSQLite(filepath.Join(t.TempDir(), "catalog.db"), masterKey)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { store.Close() })

	f.tokenP = tokenPolicy("hmac", &policy.VerificationKey{Type: policy.VerificationKeySymmetric, KeyValue: base64.StdEncoding.EncodeToString(f.secret)})
	rsaP := tokenPolicy("rsa", &policy.VerificationKey{Type: policy.VerificationKeyRSA, PEM: f.rsaPEM})
	openP := &policy.ContentKeyPolicy{Name: "open", Options: []policy.ContentKeyPolicyOption{{Restriction: policy.Restriction{Type: policy.RestrictionOpen}}}}
	for _, p := range []*policy.ContentKeyPolicy{f.tokenP, rsaP, openP} {
		if err := store.CreateContentKeyPolicy(ctx, p); err != nil {
			t.Fatalf("creating policy %q: %v", p.Name, err)
		}
	}
	for _, spec := range []struct {
		policy string
		dst    *policy.ContentKey
	}{{"hmac", &f.key}, {"hmac", &f.other}, {"rsa", &f.rsaLock}, {"open", &f.open}} {
		l := &policy.Locator{Asset: "sample", StreamingPolicy: policy.PolicyClearKey, ContentKeyPolicy: spec.policy}
		keys, err := store.CreateLocatorWithKeys(ctx, l, nil)
		if err != nil {
			t.Fatalf("creating locator: %v", err)
		}
		*spec.dst = keys[0]
	}

	derived, err := DerivedTokenSecret(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Keys:               store,
		Authorizer:         policy.NewKeyAuthorizer(store, store, policy.NewTokenVerifier(f.clock.Now, policy.DefaultClockSkew)),
		DerivedTokenSecret: derived,
		FailureLimit:       10000,
		Now:                f.clock.Now,
		Logger:             slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:         f.reg,
	}
	if edit != nil {
		edit(&cfg)
	}
	f.handler, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/keys/", http.StripPrefix("/keys", f.handler))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func tokenPolicy(name string, key *policy.VerificationKey) *policy.ContentKeyPolicy {
	return &policy.ContentKeyPolicy{
		Name: name,
		Options: []policy.ContentKeyPolicyOption{{Restriction: policy.Restriction{
			Type: policy.RestrictionToken, Issuer: testIssuer, Audience: testAudience, PrimaryVerificationKey: key,
		}}},
	}
}

// token returns an HS256 token for kid signed with the fixture's secret,
// with edit applied to the claims.
func (f *fixture) token(t testing.TB, kid uuid.UUID, edit func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience,
		"exp": testStart.Add(time.Hour).Unix(), "nbf": testStart.Add(-time.Minute).Unix(),
		policy.DefaultContentKeyIdentifierClaim: kid.String(),
	}
	if edit != nil {
		edit(claims)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(f.secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) allKeys() []policy.ContentKey {
	return []policy.ContentKey{f.key, f.other, f.rsaLock, f.open}
}

func b64url(kid uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(kid[:]) }

// keyEncodings returns the forms in which a key could leak into a body.
func keyEncodings(v [16]byte) map[string]string {
	return map[string]string{
		"raw":       string(v[:]),
		"hex":       hex.EncodeToString(v[:]),
		"HEX":       strings.ToUpper(hex.EncodeToString(v[:])),
		"base64":    base64.StdEncoding.EncodeToString(v[:]),
		"base64url": base64.RawURLEncoding.EncodeToString(v[:]),
	}
}

type request struct {
	method  string
	path    string
	header  map[string]string
	body    string
	rawBody []byte
}

func (f *fixture) do(t testing.TB, req request) (*http.Response, []byte) {
	t.Helper()
	body := io.Reader(strings.NewReader(req.body))
	if req.rawBody != nil {
		body = bytes.NewReader(req.rawBody)
	}
	r, err := http.NewRequest(req.method, f.srv.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func license(kids ...string) string {
	data, _ := json.Marshal(map[string]any{"kids": kids, "type": "temporary"})
	return string(data)
}

func TestKeyDeliveryAttackSuite(t *testing.T) {
	f := newFixture(t, nil)
	kid, other := f.key.ID, f.other.ID
	good := f.token(t, kid, nil)
	hlsPath := "/keys/hls/" + kid.String()

	noneToken, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "exp": testStart.Add(time.Hour).Unix(),
		policy.DefaultContentKeyIdentifierClaim: kid.String(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "exp": testStart.Add(time.Hour).Unix(),
		policy.DefaultContentKeyIdentifierClaim: f.rsaLock.ID.String(),
	}).SignedString([]byte(f.rsaPEM))
	rsaGood, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "exp": testStart.Add(time.Hour).Unix(),
		policy.DefaultContentKeyIdentifierClaim: f.rsaLock.ID.String(),
	}).SignedString(f.rsaKey)
	derived := f.handler.DeriveKeyToken(kid, 5*time.Minute)
	derivedOther := f.handler.DeriveKeyToken(other, 5*time.Minute)
	expiredDerived := f.handler.DeriveKeyToken(kid, -time.Minute)
	tamperedDerived := derived[:len(derived)-2] + "AA"
	if tamperedDerived == derived {
		tamperedDerived = derived[:len(derived)-2] + "BB"
	}

	manyKids := make([]string, 17)
	for i := range manyKids {
		manyKids[i] = b64url(uuid.New())
	}

	tests := []struct {
		name     string
		req      request
		want     int
		wantKeys []policy.ContentKey // keys expected in a 200 body
	}{
		{"hls bearer", request{method: "GET", path: hlsPath, header: bearer(good)}, 200, []policy.ContentKey{f.key}},
		{"hls head", request{method: "HEAD", path: hlsPath, header: bearer(good)}, 200, nil},
		{"hls bearer= form", request{method: "GET", path: hlsPath, header: map[string]string{"Authorization": "Bearer=" + good}}, 200, []policy.ContentKey{f.key}},
		{"hls token query", request{method: "GET", path: hlsPath + "?token=" + good}, 200, []policy.ContentKey{f.key}},
		{"hls kid upper case", request{method: "GET", path: "/keys/hls/" + strings.ToUpper(kid.String()), header: bearer(good)}, 200, []policy.ContentKey{f.key}},
		{"hls rs256", request{method: "GET", path: "/keys/hls/" + f.rsaLock.ID.String(), header: bearer(rsaGood)}, 200, []policy.ContentKey{f.rsaLock}},
		{"hls open policy without token", request{method: "GET", path: "/keys/hls/" + f.open.ID.String()}, 200, []policy.ContentKey{f.open}},
		{"hls derived token", request{method: "GET", path: hlsPath + "?token=" + derived}, 200, []policy.ContentKey{f.key}},
		{"hls no token", request{method: "GET", path: hlsPath}, 401, nil},
		{"hls basic auth", request{method: "GET", path: hlsPath, header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, 401, nil},
		{"hls malformed token", request{method: "GET", path: hlsPath, header: bearer("abc.def")}, 401, nil},
		{"hls expired", request{method: "GET", path: hlsPath, header: bearer(f.token(t, kid, func(c jwt.MapClaims) { c["exp"] = testStart.Add(-time.Hour).Unix() }))}, 401, nil},
		{"hls not yet valid", request{method: "GET", path: hlsPath, header: bearer(f.token(t, kid, func(c jwt.MapClaims) { c["nbf"] = testStart.Add(time.Hour).Unix() }))}, 401, nil},
		{"hls wrong audience", request{method: "GET", path: hlsPath, header: bearer(f.token(t, kid, func(c jwt.MapClaims) { c["aud"] = "x" }))}, 401, nil},
		{"hls wrong issuer", request{method: "GET", path: hlsPath, header: bearer(f.token(t, kid, func(c jwt.MapClaims) { c["iss"] = "x" }))}, 401, nil},
		{"hls wrong signature", request{method: "GET", path: hlsPath, header: bearer(good[:len(good)-4] + "AAAA")}, 401, nil},
		{"hls alg none", request{method: "GET", path: hlsPath, header: bearer(noneToken)}, 401, nil},
		{"hls alg confusion", request{method: "GET", path: "/keys/hls/" + f.rsaLock.ID.String(), header: bearer(confused)}, 401, nil},
		{"hls oversized token", request{method: "GET", path: hlsPath, header: bearer(strings.Repeat("a", 9000))}, 401, nil},
		{"hls token for another key", request{method: "GET", path: hlsPath, header: bearer(f.token(t, other, nil))}, 403, nil},
		{"hls derived for another key", request{method: "GET", path: hlsPath + "?token=" + derivedOther}, 403, nil},
		{"hls expired derived", request{method: "GET", path: hlsPath + "?token=" + expiredDerived}, 401, nil},
		{"hls tampered derived", request{method: "GET", path: hlsPath + "?token=" + tamperedDerived}, 401, nil},
		{"hls unknown kid", request{method: "GET", path: "/keys/hls/" + uuid.New().String(), header: bearer(good)}, 404, nil},
		{"hls malformed kid", request{method: "GET", path: "/keys/hls/not-a-key-id", header: bearer(good)}, 404, nil},
		{"hls braced kid", request{method: "GET", path: "/keys/hls/{" + kid.String() + "}", header: bearer(good)}, 404, nil},
		{"hls post", request{method: "POST", path: hlsPath, header: bearer(good)}, 405, nil},

		{"license bearer", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(kid))}, 200, []policy.ContentKey{f.key}},
		{"license bearer= form", request{method: "POST", path: "/keys/clearkey", header: map[string]string{"Authorization": "Bearer=" + good}, body: license(b64url(kid))}, 200, []policy.ContentKey{f.key}},
		{"license token query", request{method: "POST", path: "/keys/clearkey?token=" + good, body: license(b64url(kid))}, 200, []policy.ContentKey{f.key}},
		{"license padded kid", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(kid) + "==")}, 200, []policy.ContentKey{f.key}},
		{"license duplicate kid", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(kid), b64url(kid))}, 200, []policy.ContentKey{f.key}},
		{"license mixed known and unknown", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(uuid.New()), b64url(kid))}, 200, []policy.ContentKey{f.key}},
		{"license granted and not granted", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(kid), b64url(other))}, 200, []policy.ContentKey{f.key}},
		{"license derived token", request{method: "POST", path: "/keys/clearkey?token=" + derived, body: license(b64url(kid), b64url(other))}, 200, []policy.ContentKey{f.key}},
		{"license no token", request{method: "POST", path: "/keys/clearkey", body: license(b64url(kid))}, 401, nil},
		{"license token for another key", request{method: "POST", path: "/keys/clearkey", header: bearer(f.token(t, other, nil)), body: license(b64url(kid))}, 403, nil},
		{"license unknown kid", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(uuid.New()))}, 404, nil},
		{"license malformed json", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: `{"kids":[`}, 400, nil},
		{"license kids not array", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: `{"kids":"abc"}`}, 400, nil},
		{"license no kids", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license()}, 400, nil},
		{"license too many kids", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(manyKids...)}, 400, nil},
		{"license standard base64 kid", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license("+/+/+/+/+/+/+/+/+/+/+w")}, 400, nil},
		{"license short kid", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(kid)[:10])}, 400, nil},
		{"license persistent type", request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: `{"kids":["` + b64url(kid) + `"],"type":"persistent-license"}`}, 400, nil},
		{"license oversized", request{method: "POST", path: "/keys/clearkey", header: bearer(good), rawBody: bytes.Repeat([]byte(" "), 17<<10)}, 413, nil},
		{"license get", request{method: "GET", path: "/keys/clearkey", header: bearer(good)}, 405, nil},

		{"preflight hls", request{method: "OPTIONS", path: hlsPath, header: map[string]string{"Origin": "https://player.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}}, 204, nil},
		{"preflight license", request{method: "OPTIONS", path: "/keys/clearkey", header: map[string]string{"Origin": "https://player.test", "Access-Control-Request-Method": "POST"}}, 204, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.req)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; body %q", resp.StatusCode, tt.want, body)
			}

			granted := map[uuid.UUID]bool{}
			for _, k := range tt.wantKeys {
				granted[k.ID] = true
			}
			for _, k := range f.allKeys() {
				for enc, s := range keyEncodings(k.Value) {
					if !granted[k.ID] && bytes.Contains(body, []byte(s)) {
						t.Errorf("body contains key %s (%s) that was not granted", k.ID, enc)
					}
				}
			}
			if resp.StatusCode != 200 {
				if cc := resp.Header.Get("Cache-Control"); tt.want != 405 && cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				return
			}
			checkGranted(t, tt.req, resp, body, tt.wantKeys)
		})
	}
}

// checkGranted checks a 200 response: the raw key for HLS, the JWK set for
// ClearKey.
func checkGranted(t *testing.T, req request, resp *http.Response, body []byte, want []policy.ContentKey) {
	t.Helper()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	if strings.HasPrefix(req.path, "/keys/hls/") {
		if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type = %q, want application/octet-stream", ct)
		}
		if cl := resp.Header.Get("Content-Length"); cl != "16" {
			t.Errorf("Content-Length = %q, want 16", cl)
		}
		if req.method == "HEAD" {
			return
		}
		if !bytes.Equal(body, want[0].Value[:]) {
			t.Errorf("body = %x, want the key %x", body, want[0].Value)
		}
		return
	}

	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got licenseResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("license body %q: %v", body, err)
	}
	if got.Type != "temporary" || len(got.Keys) != len(want) {
		t.Fatalf("license = %+v, want %d keys of type temporary", got, len(want))
	}
	for i, k := range want {
		jwk := got.Keys[i]
		if jwk.KeyType != "oct" || jwk.KeyID != b64url(k.ID) || jwk.Key != base64.RawURLEncoding.EncodeToString(k.Value[:]) {
			t.Errorf("keys[%d] = %+v, want kid %s with its key", i, jwk, b64url(k.ID))
		}
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AllowedOrigins = []string{"https://player.test"} })
	good := f.token(t, f.key.ID, nil)

	resp, _ := f.do(t, request{method: "OPTIONS", path: "/keys/clearkey", header: map[string]string{"Origin": "https://player.test"}})
	for name, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://player.test",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Headers":     "Authorization, Content-Type",
		"Access-Control-Max-Age":           "600",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("preflight %s = %q, want %q", name, got, want)
		}
	}
	if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") || !strings.Contains(got, "GET") {
		t.Errorf("Access-Control-Allow-Methods = %q, want GET and POST", got)
	}
	if got := resp.Header.Get("Vary"); got != "Origin" {
		t.Errorf("Vary = %q, want Origin", got)
	}

	// The refusal must carry CORS headers too, or the player sees a
	// network error instead of the 401.
	resp, _ = f.do(t, request{method: "POST", path: "/keys/clearkey", header: map[string]string{"Origin": "https://player.test"}, body: license(b64url(f.key.ID))})
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "https://player.test" {
		t.Errorf("401 response: status %d, allow origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	resp, _ = f.do(t, request{method: "GET", path: "/keys/hls/" + f.key.ID.String(), header: map[string]string{"Origin": "https://evil.test", "Authorization": "Bearer " + good}})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("disallowed origin got Access-Control-Allow-Origin %q", got)
	}
}

func TestFailureLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.FailureLimit = 5; c.FailureWindow = time.Minute })
	good := f.token(t, f.key.ID, nil)
	path := "/keys/hls/" + f.key.ID.String()

	for i := range 5 {
		if resp, _ := f.do(t, request{method: "GET", path: path, header: bearer("bad.token.here")}); resp.StatusCode != 401 {
			t.Fatalf("failure %d: status %d, want 401", i, resp.StatusCode)
		}
	}

	// Blocked now, even with a good token, on both endpoints.
	resp, body := f.do(t, request{method: "GET", path: path, header: bearer(good)})
	if resp.StatusCode != 429 {
		t.Fatalf("after 5 failures: status %d, want 429", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if bytes.Contains(body, f.key.Value[:]) {
		t.Errorf("429 body contains the key")
	}
	if resp, _ := f.do(t, request{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(f.key.ID))}); resp.StatusCode != 429 {
		t.Errorf("license while blocked: status %d, want 429", resp.StatusCode)
	}

	f.clock.Advance(time.Minute)
	if resp, _ := f.do(t, request{method: "GET", path: path, header: bearer(good)}); resp.StatusCode != 200 {
		t.Errorf("after the window: status %d, want 200", resp.StatusCode)
	}

	if got := testutil.ToFloat64(f.handler.metrics.requests.WithLabelValues("hls", "rate_limited", "failure_limit")); got != 1 {
		t.Errorf("rate_limited count = %v, want 1", got)
	}
}

func TestFailureLimiterBounded(t *testing.T) {
	l := newFailureLimiter(3, time.Minute, 100)
	for range 1000 {
		l.fail(uuid.NewString(), testStart)
	}
	if n := len(l.clients); n > 100 {
		t.Errorf("limiter tracks %d clients, want at most 100", n)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	path := "/keys/hls/" + f.key.ID.String()
	f.do(t, request{method: "GET", path: path, header: bearer(f.token(t, f.key.ID, nil))})
	f.do(t, request{method: "GET", path: path})
	f.do(t, request{method: "GET", path: path, header: bearer(f.token(t, f.other.ID, nil))})

	for _, tt := range []struct{ outcome, reason string }{
		{"granted", "ok"}, {"unauthorized", policy.ReasonMissingToken}, {"forbidden", policy.ReasonKeyIDMismatch},
	} {
		c := f.handler.metrics.requests.WithLabelValues("hls", tt.outcome, tt.reason)
		if got := testutil.ToFloat64(c); got != 1 {
			t.Errorf("lockstream_key_requests_total{hls,%s,%s} = %v, want 1", tt.outcome, tt.reason, got)
		}
	}
	if n, err := testutil.GatherAndCount(f.reg, "lockstream_key_requests_total"); err != nil || n != 3 {
		t.Errorf("registry has %d series, %v; want 3", n, err)
	}
}

// Neither keys nor tokens may reach the log, whatever the outcome.
func TestLogsHoldNoSecrets(t *testing.T) {
	f := newFixture(t, nil)
	good := f.token(t, f.key.ID, nil)
	expired := f.token(t, f.key.ID, func(c jwt.MapClaims) { c["exp"] = testStart.Add(-time.Hour).Unix() })
	wrongKey := f.token(t, f.other.ID, nil)
	derived := f.handler.DeriveKeyToken(f.key.ID, time.Minute)
	path := "/keys/hls/" + f.key.ID.String()

	for _, req := range []request{
		{method: "GET", path: path, header: bearer(good)},
		{method: "GET", path: path + "?token=" + expired},
		{method: "GET", path: path, header: bearer(wrongKey)},
		{method: "GET", path: path + "?token=" + derived},
		{method: "POST", path: "/keys/clearkey", header: bearer(good), body: license(b64url(f.key.ID), b64url(f.other.ID))},
		{method: "POST", path: "/keys/clearkey", header: bearer(expired), body: license(b64url(f.key.ID))},
		{method: "POST", path: "/keys/clearkey", header: bearer(good), body: `{"kids":["` + good + `"]}`},
	} {
		f.do(t, req)
	}

	logs := f.logs.String()
	if !strings.Contains(logs, "key request refused") || !strings.Contains(logs, "key delivered") {
		t.Fatalf("log lacks the expected lines:\n%s", logs)
	}
	if !strings.Contains(logs, f.key.ID.String()) || !strings.Contains(logs, policy.ReasonExpired) {
		t.Errorf("log lacks the key ID or the reason:\n%s", logs)
	}
	for _, k := range []policy.ContentKey{f.key, f.other} {
		for enc, s := range keyEncodings(k.Value) {
			if strings.Contains(logs, s) {
				t.Errorf("log contains key %s (%s)", k.ID, enc)
			}
		}
	}
	for name, tok := range map[string]string{"good": good, "expired": expired, "wrong key": wrongKey, "derived": derived} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(logs, tok) || strings.Contains(logs, sig) {
			t.Errorf("log contains the %s token", name)
		}
	}
}

func TestRequestToken(t *testing.T) {
	tests := []struct {
		name, auth, query, want string
	}{
		{"bearer", "Bearer abc", "", "abc"},
		{"bearer lower case", "bearer abc", "", "abc"},
		{"bearer=", "Bearer=abc", "", "abc"},
		{"header wins", "Bearer abc", "token=q", "abc"},
		{"query", "", "token=q", "q"},
		{"basic", "Basic abc", "token=q", ""},
		{"bare scheme", "Bearer", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/hls/x?"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := requestToken(r); got != tt.want {
				t.Errorf("requestToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	if got, want := RedactQuery("a=1&token=secret&b=2"), "a=1&token=REDACTED&b=2"; got != want {
		t.Errorf("RedactQuery = %q, want %q", got, want)
	}
}

func TestRemoteIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4000":             "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := RemoteIP(r); got != want {
			t.Errorf("RemoteIP(%s) = %q, want %q", addr, got, want)
		}
	}
}

func FuzzLicenseRequest(f *testing.F) {
	f.Add([]byte(`{"kids":["AAAAAAAAAAAAAAAAAAAAAA"],"type":"temporary"}`))
	f.Add([]byte(`{"kids":[]}`))
	f.Add([]byte(`{"kids":["+/+/"],"type":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/clearkey", bytes.NewReader(body))
		w := httptest.NewRecorder()
		kids, fail := readLicenseRequest(w, r)
		if fail == nil && (len(kids) == 0 || len(kids) > maxLicenseKeyIDs) {
			t.Fatalf("accepted %d key IDs", len(kids))
		}
		if fail != nil && fail.status != 400 && fail.status != 413 {
			t.Fatalf("status %d for a bad request", fail.status)
		}
	})
}

func BenchmarkHLSKey(b *testing.B) {
	f := newFixture(b, nil)
	req := httptest.NewRequest("GET", "/hls/"+f.key.ID.String(), nil)
	req.Header.Set("Authorization", "Bearer "+f.token(b, f.key.ID, nil))

	b.ReportAllocs()
	b.SetBytes(16)
	for b.Loop() {
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
