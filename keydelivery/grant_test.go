package keydelivery

import (
	"encoding/base64"
	"encoding/binary"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// derivedExpiry returns the expiry of a derived token.
func derivedExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "lsk1" {
		t.Fatalf("not a derived token: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(payload) != 24 {
		t.Fatalf("derived token payload %q: %v", parts[1], err)
	}
	return time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
}

func TestPlaylistKeyToken(t *testing.T) {
	f := newFixture(t, nil)
	const ttl = 10 * time.Minute
	kid := f.key.ID
	derived := f.handler.DeriveKeyToken(kid, time.Minute)

	tests := []struct {
		name   string
		token  func() string
		open   bool
		expiry time.Time // zero: no token earned
		same   bool      // the earned token is the request's token
	}{
		{"jwt lives longer than ttl", func() string { return f.token(t, kid, nil) }, false, testStart.Add(ttl), false},
		{"jwt expires before ttl", func() string {
			return f.token(t, kid, func(c jwt.MapClaims) { c["exp"] = testStart.Add(2 * time.Minute).Unix() })
		}, false, testStart.Add(2 * time.Minute), false},
		{"jwt expired within clock skew", func() string {
			return f.token(t, kid, func(c jwt.MapClaims) { c["exp"] = testStart.Add(-time.Minute).Unix() })
		}, false, time.Time{}, false},
		{"derived token is returned unchanged", func() string { return derived }, false, testStart.Add(time.Minute), true},
		{"derived token of another key", func() string { return f.handler.DeriveKeyToken(f.other.ID, time.Minute) }, false, time.Time{}, false},
		{"expired derived token", func() string { return f.handler.DeriveKeyToken(kid, -time.Minute) }, false, time.Time{}, false},
		{"jwt of another key", func() string { return f.token(t, f.other.ID, nil) }, false, time.Time{}, false},
		{"forged", func() string { return "bad.token.here" }, false, time.Time{}, false},
		{"empty", func() string { return "" }, false, time.Time{}, false},
		{"open policy, token without exp", func() string { return "anything" }, true, testStart.Add(ttl), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := kid
			if tt.open {
				key = f.open.ID
			}
			token := tt.token()
			got := f.handler.PlaylistKeyToken(t.Context(), key, token, "192.0.2.1", ttl)
			if tt.expiry.IsZero() {
				if got != "" {
					t.Fatalf("earned a key token, want none")
				}
				return
			}
			if got == "" {
				t.Fatalf("earned no key token")
			}
			if tt.same && got != token {
				t.Errorf("a derived token earned a different one")
			}
			if exp := derivedExpiry(t, got); !exp.Equal(tt.expiry) {
				t.Errorf("expiry %v, want %v", exp, tt.expiry)
			}
		})
	}
}

// TestPlaylistKeyTokenCountsFailures checks that refused playlist tokens
// count against the key request failure limit of the same client.
func TestPlaylistKeyTokenCountsFailures(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.FailureLimit = 3 })
	good := f.token(t, f.key.ID, nil)
	const client = "127.0.0.1" // the address of f.do's requests

	for range 3 {
		if got := f.handler.PlaylistKeyToken(t.Context(), f.key.ID, "bad.token.here", client, time.Minute); got != "" {
			t.Fatalf("a forged token earned a key token")
		}
	}
	if got := f.handler.PlaylistKeyToken(t.Context(), f.key.ID, good, client, time.Minute); got != "" {
		t.Errorf("a blocked client earned a key token")
	}
	if got := f.handler.PlaylistKeyToken(t.Context(), f.key.ID, good, "192.0.2.2", time.Minute); got == "" {
		t.Errorf("another client earned no key token")
	}
	resp, _ := f.do(t, request{method: "GET", path: "/keys/hls/" + f.key.ID.String(), header: bearer(good)})
	if resp.StatusCode != 429 {
		t.Errorf("key request after 3 refused playlist tokens: status %d, want 429", resp.StatusCode)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "playlist token refused") {
		t.Errorf("log lacks the refusal:\n%s", logs)
	}
}

func TestHeaderIP(t *testing.T) {
	tests := []struct {
		name   string
		header string
		values []string
		want   string
	}{
		{"forwarded for, last address", "X-Forwarded-For", []string{"203.0.113.9, 198.51.100.7"}, "198.51.100.7"},
		{"forwarded for, last header line", "x-forwarded-for", []string{"203.0.113.9", "198.51.100.8"}, "198.51.100.8"},
		{"forwarded for, ipv6", "X-Forwarded-For", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
		{"real ip", "X-Real-IP", []string{" 198.51.100.9 "}, "198.51.100.9"},
		{"missing header", "X-Real-IP", nil, "192.0.2.7"},
		{"not an address", "X-Real-IP", []string{"evil"}, "192.0.2.7"},
		{"forwarded for, empty last element", "X-Forwarded-For", []string{"198.51.100.7,"}, "192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "192.0.2.7:4000"
			for _, v := range tt.values {
				r.Header.Add(tt.header, v)
			}
			if got := HeaderIP(tt.header)(r); got != tt.want {
				t.Errorf("HeaderIP(%q) with %q = %q, want %q", tt.header, tt.values, got, tt.want)
			}
		})
	}
}
