package policy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func TestTokenVerifier(t *testing.T) {
	k := loadTestKeys(t)
	kid := uuid.MustParse("8f2b6c0e-3d4a-4b5c-9e1f-0a1b2c3d4e5f")
	otherKid := uuid.MustParse("11111111-2222-4333-8444-555555555555")

	symmetric := tokenPolicy("sym", symmetricKey(k.secret))
	rsaPolicy := tokenPolicy("rsa", &VerificationKey{Type: VerificationKeyRSA, PEM: k.rsaPEM})
	ecPolicy := tokenPolicy("ec", &VerificationKey{Type: VerificationKeyECDSA, PEM: k.ecPEM})
	certPolicy := tokenPolicy("cert", &VerificationKey{Type: VerificationKeyX509, PEM: k.certPEM})
	rotated := tokenPolicy("rotated", &VerificationKey{Type: VerificationKeyRSA, PEM: k.rsaPEM}, *symmetricKey(k.secret2))
	claimsPolicy := tokenPolicy("claims", symmetricKey(k.secret))
	claimsPolicy.Options[0].Restriction.RequiredClaims = []RequiredClaim{
		{ClaimType: "entitlement", ClaimValue: "premium"},
		{ClaimType: "sub"},
	}
	openPolicy := &ContentKeyPolicy{Name: "open", Options: []ContentKeyPolicyOption{{Restriction: Restriction{Type: RestrictionOpen}}}}

	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims(kid)
		edit(c)
		return c
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, k.secret, c) }

	tests := []struct {
		name       string
		policy     *ContentKeyPolicy
		token      string
		wantClass  TokenClass // 0: granted
		wantReason string
	}{
		{"hs256 good", symmetric, hs(validClaims(kid)), 0, ""},
		{"hs512 good", symmetric, sign(t, jwt.SigningMethodHS512, k.secret, validClaims(kid)), 0, ""},
		{"rs256 good", rsaPolicy, sign(t, jwt.SigningMethodRS256, k.rsa, validClaims(kid)), 0, ""},
		{"ps384 good", rsaPolicy, sign(t, jwt.SigningMethodPS384, k.rsa, validClaims(kid)), 0, ""},
		{"es256 good", ecPolicy, sign(t, jwt.SigningMethodES256, k.ec, validClaims(kid)), 0, ""},
		{"x509 good", certPolicy, sign(t, jwt.SigningMethodRS256, k.certKey, validClaims(kid)), 0, ""},
		{"alternate key good", rotated, sign(t, jwt.SigningMethodHS256, k.secret2, validClaims(kid)), 0, ""},
		{"primary of rotated good", rotated, sign(t, jwt.SigningMethodRS256, k.rsa, validClaims(kid)), 0, ""},
		{"open without token", openPolicy, "", 0, ""},
		{"required claims good", claimsPolicy, hs(with(func(c jwt.MapClaims) { c["entitlement"] = "premium"; c["sub"] = "u1" })), 0, ""},
		{"required claim in array", claimsPolicy, hs(with(func(c jwt.MapClaims) { c["entitlement"] = []string{"basic", "premium"}; c["sub"] = "u1" })), 0, ""},
		{"key id upper case", symmetric, hs(with(func(c jwt.MapClaims) { c[DefaultContentKeyIdentifierClaim] = strings.ToUpper(kid.String()) })), 0, ""},
		{"aud array", symmetric, hs(with(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAudience} })), 0, ""},
		{"expired within skew", symmetric, hs(with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-4 * time.Minute).Unix() })), 0, ""},
		{"nbf within skew", symmetric, hs(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(4 * time.Minute).Unix() })), 0, ""},

		{"missing token", symmetric, "", Unauthorized, ReasonMissingToken},
		{"wrong signature", symmetric, sign(t, jwt.SigningMethodHS256, k.secret2, validClaims(kid)), Unauthorized, ReasonBadSignature},
		{"rs256 other key", rsaPolicy, sign(t, jwt.SigningMethodRS256, k.otherRSA, validClaims(kid)), Unauthorized, ReasonBadSignature},
		{"expired", symmetric, hs(with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() })), Unauthorized, ReasonExpired},
		{"expired past skew edge", symmetric, hs(with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-DefaultClockSkew).Unix() })), Unauthorized, ReasonExpired},
		{"not yet valid", symmetric, hs(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Hour).Unix() })), Unauthorized, ReasonNotYetValid},
		{"nbf past skew edge", symmetric, hs(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(DefaultClockSkew + time.Second).Unix() })), Unauthorized, ReasonNotYetValid},
		{"wrong issuer", symmetric, hs(with(func(c jwt.MapClaims) { c["iss"] = testIssuer + "/" })), Unauthorized, ReasonWrongIssuer},
		{"missing issuer", symmetric, hs(with(func(c jwt.MapClaims) { delete(c, "iss") })), Unauthorized, ReasonMissingIssuer},
		{"wrong audience", symmetric, hs(with(func(c jwt.MapClaims) { c["aud"] = "urn:other" })), Unauthorized, ReasonWrongAudience},
		{"aud array without audience", symmetric, hs(with(func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} })), Unauthorized, ReasonWrongAudience},
		{"missing audience", symmetric, hs(with(func(c jwt.MapClaims) { delete(c, "aud") })), Unauthorized, ReasonMissingAudience},
		{"missing exp", symmetric, hs(with(func(c jwt.MapClaims) { delete(c, "exp") })), Unauthorized, ReasonMissingExp},
		{"alg none", symmetric, noneToken(t, validClaims(kid)), Unauthorized, ReasonAlgNotAllowed},
		{"hs256 with rsa public key as secret", rsaPolicy, sign(t, jwt.SigningMethodHS256, []byte(k.rsaPEM), validClaims(kid)), Unauthorized, ReasonAlgNotAllowed},
		{"rs256 against symmetric policy", symmetric, sign(t, jwt.SigningMethodRS256, k.rsa, validClaims(kid)), Unauthorized, ReasonAlgNotAllowed},
		{"es256 against rsa policy", rsaPolicy, sign(t, jwt.SigningMethodES256, k.ec, validClaims(kid)), Unauthorized, ReasonAlgNotAllowed},
		{"malformed", symmetric, "not.a.jwt", Unauthorized, ReasonMalformed},
		{"two parts", symmetric, "eyJhbGciOiJIUzI1NiJ9.e30", Unauthorized, ReasonMalformed},
		{"oversized", symmetric, strings.Repeat("a", MaxTokenBytes+1), Unauthorized, ReasonOversizedToken},
		{"tampered payload", symmetric, tamper(hs(validClaims(kid))), Unauthorized, ReasonBadSignature},

		{"missing required claim", claimsPolicy, hs(with(func(c jwt.MapClaims) { c["entitlement"] = "premium" })), Forbidden, ReasonClaimMissing},
		{"wrong claim value", claimsPolicy, hs(with(func(c jwt.MapClaims) { c["entitlement"] = "basic"; c["sub"] = "u1" })), Forbidden, ReasonClaimMismatch},
		{"wrong key id claim", symmetric, hs(validClaims(otherKid)), Forbidden, ReasonKeyIDMismatch},
		{"key id claim missing", symmetric, hs(with(func(c jwt.MapClaims) { delete(c, DefaultContentKeyIdentifierClaim) })), Forbidden, ReasonKeyIDMissing},
		{"key id claim with braces", symmetric, hs(with(func(c jwt.MapClaims) { c[DefaultContentKeyIdentifierClaim] = "{" + kid.String() + "}" })), Forbidden, ReasonKeyIDMismatch},
	}

	v := NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(tt.policy, kid, tt.token)
			if tt.wantClass == 0 {
				if err != nil {
					t.Fatalf("Verify = %v, want granted", err)
				}
				return
			}

			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %v, want a *TokenError", err)
			}
			if te.Class != tt.wantClass {
				t.Errorf("class = %v, want %v", te.Class, tt.wantClass)
			}
			if te.Reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", te.Reason, tt.wantReason)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error message contains the token")
			}
		})
	}
}

func TestTokenVerifierForbiddenWinsOverUnauthorized(t *testing.T) {
	k := loadTestKeys(t)
	kid := uuid.New()
	p := tokenPolicy("two", &VerificationKey{Type: VerificationKeyRSA, PEM: k.rsaPEM})
	second := tokenPolicy("x", symmetricKey(k.secret)).Options[0]
	p.Options = append(p.Options, second)

	v := NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew)
	err := v.Verify(p, kid, sign(t, jwt.SigningMethodHS256, k.secret, validClaims(uuid.New())))

	var te *TokenError
	if !errors.As(err, &te) || te.Class != Forbidden {
		t.Fatalf("Verify = %v, want Forbidden: the second option recognises the token", err)
	}
}

func TestMintTestToken(t *testing.T) {
	k := loadTestKeys(t)
	kid := uuid.New()
	p := tokenPolicy("mint", symmetricKey(k.secret))
	p.Options[0].Restriction.RequiredClaims = []RequiredClaim{{ClaimType: "tier", ClaimValue: "gold"}}

	token, err := MintTestToken(p, kid, 10*time.Minute, testNow)
	if err != nil {
		t.Fatalf("MintTestToken: %v", err)
	}
	v := NewTokenVerifier(func() time.Time { return testNow }, 0)
	if err := v.Verify(p, kid, token); err != nil {
		t.Errorf("Verify(minted token) = %v, want granted", err)
	}

	later := NewTokenVerifier(func() time.Time { return testNow.Add(11 * time.Minute) }, 0)
	if err := later.Verify(p, kid, token); err == nil {
		t.Errorf("Verify after ttl = nil, want expired")
	}

	rsaOnly := tokenPolicy("rsa", &VerificationKey{Type: VerificationKeyRSA, PEM: k.rsaPEM})
	if _, err := MintTestToken(rsaOnly, kid, time.Minute, testNow); !errors.Is(err, ErrInvalid) {
		t.Errorf("MintTestToken(rsa policy) = %v, want ErrInvalid", err)
	}
}

// noneToken builds an unsigned token with alg "none".
func noneToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("signing none token: %v", err)
	}
	return s
}

// tamper replaces the payload of a token with another one, keeping the
// signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + testIssuer + `","aud":"` + testAudience + `","exp":9999999999}`))
	return strings.Join(parts, ".")
}

func BenchmarkVerifyHS256(b *testing.B) {
	k := loadTestKeys(b)
	kid := uuid.New()
	p := tokenPolicy("bench", symmetricKey(k.secret))
	token := sign(b, jwt.SigningMethodHS256, k.secret, validClaims(kid))
	v := NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew)

	b.ReportAllocs()
	b.SetBytes(int64(len(token)))
	for b.Loop() {
		if err := v.Verify(p, kid, token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) {
	k := loadTestKeys(b)
	kid := uuid.New()
	p := tokenPolicy("bench", &VerificationKey{Type: VerificationKeyRSA, PEM: k.rsaPEM})
	token := sign(b, jwt.SigningMethodRS256, k.rsa, validClaims(kid))
	v := NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew)

	b.ReportAllocs()
	b.SetBytes(int64(len(token)))
	for b.Loop() {
		if err := v.Verify(p, kid, token); err != nil {
			b.Fatal(err)
		}
	}
}
