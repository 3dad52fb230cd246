package policy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// DefaultClockSkew is the leeway for exp and nbf: enough for clocks that
// NTP keeps in sync, short enough that an expired token does not live on
// noticeably.
const DefaultClockSkew = 5 * time.Minute

// MaxTokenBytes bounds the token length. A JWT with a few claims and an
// RS512 signature is well under 2 KiB; the bound keeps a client from making
// the server decode large inputs.
const MaxTokenBytes = 8 << 10

// keyCacheSize bounds the cache of parsed verification keys.
const keyCacheSize = 256

// TokenClass is the outcome class of a rejected key request.
type TokenClass int

const (
	// Unauthorized: no usable token (missing, malformed, expired, bad
	// signature, wrong issuer or audience). Key delivery returns 401.
	Unauthorized TokenClass = iota + 1
	// Forbidden: a valid token that does not grant the requested key. Key
	// delivery returns 403.
	Forbidden
)

func (c TokenClass) String() string {
	switch c {
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	}
	return "unknown"
}

// Reasons a token is rejected, for logs and metric labels. They never
// contain any part of the token.
const (
	ReasonMissingToken    = "missing_token"
	ReasonOversizedToken  = "oversized_token"
	ReasonMalformed       = "malformed"
	ReasonAlgNotAllowed   = "alg_not_allowed"
	ReasonBadSignature    = "bad_signature"
	ReasonExpired         = "expired"
	ReasonNotYetValid     = "not_yet_valid"
	ReasonWrongIssuer     = "wrong_issuer"
	ReasonWrongAudience   = "wrong_audience"
	ReasonMissingExp      = "missing_exp"
	ReasonMissingIssuer   = "missing_iss"
	ReasonMissingAudience = "missing_aud"
	ReasonInvalidClaims   = "invalid_claims"
	// Forbidden reasons.
	ReasonKeyIDMissing    = "kid_claim_missing"
	ReasonKeyIDMismatch   = "kid_mismatch"
	ReasonClaimMissing    = "required_claim_missing"
	ReasonClaimMismatch   = "required_claim_mismatch"
	ReasonLocatorInactive = "locator_inactive"
)

// TokenError is the outcome of a rejected key request: its class and a
// machine-readable reason. Error() contains nothing else.
type TokenError struct {
	Class  TokenClass
	Reason string
}

func (e *TokenError) Error() string {
	return "key request " + e.Class.String() + ": " + e.Reason
}

func unauthorized(reason string) *TokenError { return &TokenError{Class: Unauthorized, Reason: reason} }
func forbidden(reason string) *TokenError    { return &TokenError{Class: Forbidden, Reason: reason} }

// TokenVerifier checks JWTs against content key policies. It is safe for
// concurrent use.
type TokenVerifier struct {
	now  func() time.Time
	skew time.Duration

	mu   sync.Mutex
	keys map[VerificationKey]compiledKey
}

// NewTokenVerifier returns a verifier reading the time from now (time.Now
// when nil) and allowing skew of clock difference for exp and nbf (zero
// when negative; DefaultClockSkew is the usual value).
func NewTokenVerifier(now func() time.Time, skew time.Duration) *TokenVerifier {
	if now == nil {
		now = time.Now
	}
	return &TokenVerifier{now: now, skew: max(skew, 0), keys: make(map[VerificationKey]compiledKey)}
}

// Verify reports whether token grants the key kid under policy p: nil when
// an option grants it, else a *TokenError. An open option grants every
// request, with or without a token. When no option grants, a Forbidden
// outcome (the token is valid but lacks the key or a claim) wins over an
// Unauthorized one.
func (v *TokenVerifier) Verify(p *ContentKeyPolicy, kid uuid.UUID, token string) error {
	var rejection *TokenError
	for i := range p.Options {
		r := &p.Options[i].Restriction
		if r.Type == RestrictionOpen {
			return nil
		}
		if r.Type != RestrictionToken {
			continue
		}

		err := v.verifyToken(r, kid, token)
		if err == nil {
			return nil
		}
		if rejection == nil || (rejection.Class == Unauthorized && err.Class == Forbidden) {
			rejection = err
		}
	}
	if rejection == nil {
		// Validation forbids a policy without options; this guards a
		// policy that bypassed it.
		return forbidden("no_option")
	}
	return rejection
}

func (v *TokenVerifier) verifyToken(r *Restriction, kid uuid.UUID, token string) *TokenError {
	switch {
	case token == "":
		return unauthorized(ReasonMissingToken)
	case len(token) > MaxTokenBytes:
		return unauthorized(ReasonOversizedToken)
	}
	alg, ok := tokenAlgorithm(token)
	if !ok {
		return unauthorized(ReasonMalformed)
	}

	// Only keys whose type allows the token's algorithm are tried, primary
	// first, so "none" and an HS256 token against an RSA key fail here.
	var candidates []jwt.VerificationKey
	var methods []string
	for _, k := range v.restrictionKeys(r) {
		if slices.Contains(k.methods, alg) {
			candidates = append(candidates, k.key)
			methods = k.methods
		}
	}
	if len(candidates) == 0 {
		return unauthorized(ReasonAlgNotAllowed)
	}

	parser := jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(v.skew),
		jwt.WithTimeFunc(v.now),
		jwt.WithIssuer(r.Issuer),
		jwt.WithAudience(r.Audience),
		jwt.WithExpirationRequired(),
	)
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return jwt.VerificationKeySet{Keys: candidates}, nil
	})
	if err != nil {
		return classifyParseError(err, claims)
	}
	return checkGrant(r, kid, claims)
}

// tokenAlgorithm returns the alg of a compact JWS without verifying it.
func tokenAlgorithm(token string) (string, bool) {
	header, rest, ok := strings.Cut(token, ".")
	if !ok || strings.Count(rest, ".") != 1 || len(header) > 1024 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil || h.Alg == "" {
		return "", false
	}
	return h.Alg, true
}

// classifyParseError maps a golang-jwt error to a reason. The signature is
// checked before the claims, so a claim reason means the token is
// authentic.
func classifyParseError(err error, claims jwt.MapClaims) *TokenError {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized(ReasonMalformed)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthorized(ReasonBadSignature)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range []struct{ name, reason string }{
			{"exp", ReasonMissingExp}, {"iss", ReasonMissingIssuer}, {"aud", ReasonMissingAudience},
		} {
			if _, ok := claims[c.name]; !ok {
				return unauthorized(c.reason)
			}
		}
		return unauthorized(ReasonInvalidClaims)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized(ReasonExpired)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthorized(ReasonNotYetValid)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthorized(ReasonWrongIssuer)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthorized(ReasonWrongAudience)
	}
	return unauthorized(ReasonInvalidClaims)
}

// checkGrant checks the claims of an authentic token: the key ID claim and
// the required claims.
func checkGrant(r *Restriction, kid uuid.UUID, claims jwt.MapClaims) *TokenError {
	value, ok := claims[r.ContentKeyIdentifierClaim]
	if !ok {
		return forbidden(ReasonKeyIDMissing)
	}
	s, ok := value.(string)
	if !ok || !strings.EqualFold(s, kid.String()) {
		return forbidden(ReasonKeyIDMismatch)
	}

	for _, c := range r.RequiredClaims {
		value, ok := claims[c.ClaimType]
		if !ok {
			return forbidden(ReasonClaimMissing)
		}
		// A required claim of the key ID claim's type is the hosted
		// service's way to ask for the key ID check, done above.
		if c.ClaimValue == "" || c.ClaimType == r.ContentKeyIdentifierClaim {
			continue
		}
		if !claimHasValue(value, c.ClaimValue) {
			return forbidden(ReasonClaimMismatch)
		}
	}
	return nil
}

// claimHasValue compares a claim with a required value: a string or number
// must equal it, an array must contain it.
func claimHasValue(claim any, want string) bool {
	switch c := claim.(type) {
	case string:
		return c == want
	case []any:
		for _, e := range c {
			if claimHasValue(e, want) {
				return true
			}
		}
		return false
	case float64, bool:
		return fmt.Sprint(c) == want
	}
	return false
}

// restrictionKeys returns the compiled keys of r, primary first. A key
// that does not compile is skipped: validation keeps such keys out of the
// store.
func (v *TokenVerifier) restrictionKeys(r *Restriction) []compiledKey {
	keys := make([]compiledKey, 0, 1+len(r.AlternateVerificationKeys))
	if r.PrimaryVerificationKey != nil {
		if k, ok := v.compiled(r.PrimaryVerificationKey); ok {
			keys = append(keys, k)
		}
	}
	for i := range r.AlternateVerificationKeys {
		if k, ok := v.compiled(&r.AlternateVerificationKeys[i]); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// compiled returns k parsed, from a cache keyed by the key material
// itself, so an updated policy's new keys are parsed on first use and a
// policy update never serves a stale key.
func (v *TokenVerifier) compiled(k *VerificationKey) (compiledKey, bool) {
	v.mu.Lock()
	c, ok := v.keys[*k]
	v.mu.Unlock()
	if ok {
		return c, true
	}

	c, err := compileKey(k)
	if err != nil {
		return compiledKey{}, false
	}
	v.mu.Lock()
	if len(v.keys) >= keyCacheSize {
		clear(v.keys)
	}
	v.keys[*k] = c
	v.mu.Unlock()
	return c, true
}
