package policy

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// MintTestToken returns an HS256 token that the first token option of p
// with a symmetric primary key grants for key kid: iss, aud, iat, nbf = now,
// exp = now+ttl, the key ID claim and each required claim with its given
// value (an empty string when the option names no value). It is for tests
// and for the token subcommand; production tokens come from the
// customer's own token service.
func MintTestToken(p *ContentKeyPolicy, kid uuid.UUID, ttl time.Duration, now time.Time) (string, error) {
	for i := range p.Options {
		r := &p.Options[i].Restriction
		k := r.PrimaryVerificationKey
		if r.Type != RestrictionToken || k == nil || k.Type != VerificationKeySymmetric {
			continue
		}

		secret, err := base64.StdEncoding.DecodeString(k.KeyValue)
		if err != nil {
			return "", fmt.Errorf("decoding the symmetric key of content key policy %q: %w", p.Name, ErrInvalid)
		}

		claims := jwt.MapClaims{}
		for _, c := range r.RequiredClaims {
			claims[c.ClaimType] = c.ClaimValue
		}
		claims["iss"] = r.Issuer
		claims["aud"] = r.Audience
		claims["iat"] = now.Unix()
		claims["nbf"] = now.Unix()
		claims["exp"] = now.Add(ttl).Unix()
		kidClaim := r.ContentKeyIdentifierClaim
		if kidClaim == "" {
			kidClaim = DefaultContentKeyIdentifierClaim
		}
		claims[kidClaim] = kid.String()

		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			return "", fmt.Errorf("signing test token for content key policy %q: %w", p.Name, err)
		}
		return token, nil
	}
	return "", fmt.Errorf("content key policy %q has no token option with a symmetric primary key to sign with: %w",
		p.Name, ErrInvalid)
}
