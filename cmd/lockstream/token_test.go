package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lockstream/lockstream/policy"
)

var samplePolicyFile = filepath.Join("..", "..", "testdata", "policies", "sample-token-policy.json")

// loadSamplePolicy reads the content key policy that make run installs.
func loadSamplePolicy(t *testing.T) *policy.ContentKeyPolicy {
	t.Helper()
	data, err := os.ReadFile(samplePolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseContentKeyPolicy(data)
	if err != nil {
		t.Fatalf("parsing %s: %v", samplePolicyFile, err)
	}
	return p
}

func TestSamplePolicyFileValid(t *testing.T) {
	p := loadSamplePolicy(t)
	if err := p.Validate(); err != nil {
		t.Fatalf("%s: %v", samplePolicyFile, err)
	}
	if p.Name != "sample-token-policy" {
		t.Errorf("name = %q, want %q", p.Name, "sample-token-policy")
	}
	if len(p.Options) != 1 {
		t.Fatalf("%d options, want 1", len(p.Options))
	}
	r := p.Options[0].Restriction
	if r.Type != policy.RestrictionToken {
		t.Errorf("restriction type = %q, want %q", r.Type, policy.RestrictionToken)
	}
	if r.Issuer != "https://lockstream.local" {
		t.Errorf("issuer = %q, want https://lockstream.local", r.Issuer)
	}
	if r.Audience != "lockstream-players" {
		t.Errorf("audience = %q, want lockstream-players", r.Audience)
	}
	if r.PrimaryVerificationKey == nil || r.PrimaryVerificationKey.Type != policy.VerificationKeySymmetric {
		t.Errorf("primary verification key = %+v, want a symmetric key", r.PrimaryVerificationKey)
	}
}

func TestRunToken(t *testing.T) {
	server, catalog := newTestOrigin(t)
	if err := catalog.CreateContentKeyPolicy(context.Background(), loadSamplePolicy(t)); err != nil {
		t.Fatal(err)
	}
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}
	code, _, stderr := runArgs(t, environ, "publish", "--asset", "sample", "--name", "sample-aes",
		"--streaming-policy", policy.PolicyClearKey, "--content-key-policy", "sample-token-policy")
	if code != exitOK {
		t.Fatalf("publish: exit code %d (stderr %q)", code, stderr)
	}

	code, stdout, stderr := runArgs(t, environ, "token", "--locator", "sample-aes", "--ttl", "10m")
	if code != exitOK {
		t.Fatalf("token: exit code %d (stderr %q)", code, stderr)
	}
	token, rest, _ := strings.Cut(stdout, "\n")
	if !strings.Contains(rest, "player/?token="+token) {
		t.Errorf("player URLs lack the token:\n%s", rest)
	}

	secret, err := base64.StdEncoding.DecodeString(loadSamplePolicy(t).Options[0].Restriction.PrimaryVerificationKey.KeyValue)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer("https://lockstream.local"),
		jwt.WithAudience("lockstream-players"),
		jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("verifying the printed token: %v", err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(exp.Time); left <= 0 || left > 10*time.Minute+time.Minute {
		t.Errorf("token expires in %v, want about 10m", left)
	}
	if claims[policy.DefaultContentKeyIdentifierClaim] == nil {
		t.Errorf("token lacks the %s claim", policy.DefaultContentKeyIdentifierClaim)
	}
}

func TestRunTokenUnknownLocator(t *testing.T) {
	server, _ := newTestOrigin(t)
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}
	code, stdout, stderr := runArgs(t, environ, "token", "--locator", "no-such-locator")
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if !strings.Contains(stderr, `"no-such-locator"`) || !strings.Contains(stderr, "404") {
		t.Errorf("stderr = %q, want it to name the locator and the 404", stderr)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr has %d lines, want 1: %q", strings.Count(stderr, "\n"), stderr)
	}
}
