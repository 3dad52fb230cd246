package keydelivery

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// minSecretBytes is the HMAC-SHA256 output size; a shorter secret would be
// the weakest part of a derived token.
const minSecretBytes = 32

// derivedTokenPurpose separates the derived token secret from every other
// use of the master key.
const derivedTokenPurpose = "lockstream/keydelivery/derived-key-token/v1"

// derivedTokenPrefix marks a derived token; a JWT never starts with it
// because a JWT starts with base64url of '{'.
const derivedTokenPrefix = "lsk1."

// Reasons a derived token is refused.
const (
	reasonDerivedMalformed    = "derived_malformed"
	reasonDerivedBadSignature = "derived_bad_signature"
	reasonDerivedExpired      = "derived_expired"
	reasonDerivedKeyMismatch  = "derived_kid_mismatch"
)

// DerivedTokenSecret derives the secret that signs derived key tokens from
// the master key with HKDF-SHA256 and a purpose string of its own.
func DerivedTokenSecret(masterKey []byte) ([]byte, error) {
	if len(masterKey) != policy.MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(masterKey), policy.MasterKeySize)
	}
	secret, err := hkdf.Key(sha256.New, masterKey, nil, derivedTokenPurpose, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the key token secret: %w", err)
	}
	return secret, nil
}

// DeriveKeyToken returns a token that grants key kid, and no other key,
// until ttl from now (rounded up to whole seconds). The origin writes it
// into EXT-X-KEY URIs as the "token" query parameter for players that
// cannot set an Authorization header.
//
// The token skips the content key policy. Derive one only for a request
// whose own token the policy grants (Authorizer.AuthorizeKey), or for a
// key whose policy is open, because anyone who can read the playlist
// gets the key. PlaylistKeyToken does that check and also caps the
// expiry at the granted token's own. Keep ttl to minutes: players fetch the key soon
// after they load the playlist.
//
// Layout: "lsk1." + base64url(kid || expiry as big-endian Unix seconds) +
// "." + base64url(HMAC-SHA256(secret, everything before the second dot)).
func (h *Handler) DeriveKeyToken(kid uuid.UUID, ttl time.Duration) string {
	return h.deriveKeyTokenUntil(kid, h.now().Add(ttl+time.Second-1))
}

// deriveKeyTokenUntil returns a token that grants key kid until expiry,
// rounded down to whole seconds.
func (h *Handler) deriveKeyTokenUntil(kid uuid.UUID, expiry time.Time) string {
	var payload [24]byte
	copy(payload[:16], kid[:])
	binary.BigEndian.PutUint64(payload[16:], uint64(expiry.Unix()))

	signed := derivedTokenPrefix + base64.RawURLEncoding.EncodeToString(payload[:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(h.derivedMAC(signed))
}

func (h *Handler) derivedMAC(signed string) []byte {
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte(signed))
	return mac.Sum(nil)
}

func isDerivedToken(token string) bool { return strings.HasPrefix(token, derivedTokenPrefix) }

// checkDerivedToken returns nil when token is a derived token for kid that
// has not expired. The MAC and the key ID are compared in constant time.
func (h *Handler) checkDerivedToken(token string, kid uuid.UUID) *policy.TokenError {
	signed, sig, ok := strings.Cut(token[len(derivedTokenPrefix):], ".")
	if !ok || len(signed) != 32 || len(sig) != 43 {
		return &policy.TokenError{Class: policy.Unauthorized, Reason: reasonDerivedMalformed}
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(signed)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 {
		return &policy.TokenError{Class: policy.Unauthorized, Reason: reasonDerivedMalformed}
	}

	if !hmac.Equal(mac, h.derivedMAC(derivedTokenPrefix+signed)) {
		return &policy.TokenError{Class: policy.Unauthorized, Reason: reasonDerivedBadSignature}
	}
	expiry := int64(binary.BigEndian.Uint64(payload[16:]))
	if h.now().Unix() >= expiry {
		return &policy.TokenError{Class: policy.Unauthorized, Reason: reasonDerivedExpired}
	}
	if subtle.ConstantTimeCompare(payload[:16], kid[:]) != 1 {
		return &policy.TokenError{Class: policy.Forbidden, Reason: reasonDerivedKeyMismatch}
	}
	return nil
}

// requestToken returns the token of r: from "Authorization: Bearer <jwt>",
// the hosted service's "Authorization: Bearer=<jwt>", or else the "token"
// query parameter. An Authorization header with another scheme counts as
// no token. The result is never logged.
func requestToken(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		const scheme = "bearer"
		if len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) {
			rest := auth[len(scheme):]
			if rest[0] == ' ' || rest[0] == '=' {
				return strings.TrimSpace(rest[1:])
			}
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

// RedactQuery returns rawQuery with the value of every "token" parameter
// replaced by "REDACTED", for access logs of key URIs.
func RedactQuery(rawQuery string) string {
	if !strings.Contains(rawQuery, "token") {
		return rawQuery
	}
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "token" {
			parts[i] = name + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}
