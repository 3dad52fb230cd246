package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// Limits on policy fields. They keep a policy small enough to load on every
// key request.
const (
	maxPolicyNameLength  = 260
	maxDescriptionLength = 4096
	maxOptions           = 16
	maxAlternateKeys     = 8
	maxRequiredClaims    = 32
	// minSymmetricKeyBytes is the HS256 output size; a shorter HMAC secret
	// is easier to brute-force than the signature.
	minSymmetricKeyBytes = 32
	// minRSABits rejects RSA keys that NIST SP 800-131A no longer allows
	// for signatures.
	minRSABits = 2048
)

var policyNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// FieldError is one invalid field.
type FieldError struct {
	// Field is the path of the field, such as
	// "options[0].restriction.issuer".
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError lists every invalid field of one object. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	// Object names what was validated, such as `content key policy "p1"`.
	Object string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(e.Object)
	b.WriteString(": ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Validate reports every invalid field of p as a *ValidationError. Call
// Normalize first; the store does both.
func (p *ContentKeyPolicy) Validate() error {
	v := &ValidationError{Object: fmt.Sprintf("content key policy %q", p.Name)}

	switch {
	case p.Name == "":
		v.add("name", "missing")
	case len(p.Name) > maxPolicyNameLength:
		v.add("name", "longer than %d characters", maxPolicyNameLength)
	case !policyNamePattern.MatchString(p.Name):
		v.add("name", "may contain only letters, digits, '-', '_' and '.'")
	}
	if len(p.Description) > maxDescriptionLength {
		v.add("description", "longer than %d characters", maxDescriptionLength)
	}

	switch {
	case len(p.Options) == 0:
		v.add("options", "at least one option is required")
	case len(p.Options) > maxOptions:
		v.add("options", "more than %d options", maxOptions)
	}
	for i := range p.Options {
		validateOption(v, fmt.Sprintf("options[%d]", i), &p.Options[i])
	}
	return v.err()
}

func validateOption(v *ValidationError, path string, o *ContentKeyPolicyOption) {
	if o.Configuration != nil && o.Configuration.ODataType != clearKeyConfiguration {
		v.add(path+".configuration.@odata.type", "%q is not supported; only %q (ClearKey, which also serves HLS AES-128)",
			o.Configuration.ODataType, clearKeyConfiguration)
	}

	r := &o.Restriction
	path += ".restriction"
	if r.ODataType != "" {
		v.add(path+".@odata.type", "%q is unknown or contradicts type %q", r.ODataType, r.Type)
	}
	switch r.Type {
	case RestrictionOpen:
		validateOpenRestriction(v, path, r)
	case RestrictionToken:
		validateTokenRestriction(v, path, r)
	case "":
		v.add(path+".type", "missing; use %q or %q", RestrictionOpen, RestrictionToken)
	default:
		v.add(path+".type", "%q is unknown; use %q or %q", r.Type, RestrictionOpen, RestrictionToken)
	}
}

// validateOpenRestriction rejects token fields on an open restriction: an
// operator who wrote an issuer meant a token restriction, and silently
// opening the key would be the worst reading of that mistake.
func validateOpenRestriction(v *ValidationError, path string, r *Restriction) {
	if r.Issuer != "" || r.Audience != "" || r.PrimaryVerificationKey != nil ||
		len(r.AlternateVerificationKeys) > 0 || len(r.RequiredClaims) > 0 {
		v.add(path, "an open restriction takes no issuer, audience, verification keys or required claims")
	}
}

func validateTokenRestriction(v *ValidationError, path string, r *Restriction) {
	if r.Issuer == "" {
		v.add(path+".issuer", "missing")
	}
	if r.Audience == "" {
		v.add(path+".audience", "missing")
	}
	if r.RestrictionTokenType != TokenTypeJWT {
		v.add(path+".restrictionTokenType", "%q is not supported; only %q", r.RestrictionTokenType, TokenTypeJWT)
	}
	if r.ContentKeyIdentifierClaim == "" {
		v.add(path+".contentKeyIdentifierClaim", "missing")
	}

	if r.PrimaryVerificationKey == nil {
		v.add(path+".primaryVerificationKey", "missing")
	} else {
		validateVerificationKey(v, path+".primaryVerificationKey", r.PrimaryVerificationKey)
	}
	if len(r.AlternateVerificationKeys) > maxAlternateKeys {
		v.add(path+".alternateVerificationKeys", "more than %d keys", maxAlternateKeys)
	}
	for i := range r.AlternateVerificationKeys {
		validateVerificationKey(v, fmt.Sprintf("%s.alternateVerificationKeys[%d]", path, i), &r.AlternateVerificationKeys[i])
	}

	if len(r.RequiredClaims) > maxRequiredClaims {
		v.add(path+".requiredClaims", "more than %d claims", maxRequiredClaims)
	}
	for i, c := range r.RequiredClaims {
		if c.ClaimType == "" {
			v.add(fmt.Sprintf("%s.requiredClaims[%d].claimType", path, i), "missing")
		}
	}
}

func validateVerificationKey(v *ValidationError, path string, k *VerificationKey) {
	if k.ODataType != "" {
		v.add(path+".@odata.type", "%q is unknown or contradicts type %q", k.ODataType, k.Type)
		return
	}
	if _, err := compileKey(k); err != nil {
		var fe FieldError
		if errors.As(err, &fe) {
			v.add(path+"."+fe.Field, "%s", fe.Problem)
		} else {
			v.add(path, "%v", err)
		}
	}
}

// compiledKey is a verification key parsed into the form golang-jwt
// verifies with, and the algorithms allowed for it. Binding the algorithms
// to the key type prevents algorithm confusion: an RSA public key is never
// tried as an HMAC secret, and "none" is never allowed.
type compiledKey struct {
	key     any
	methods []string
}

var (
	hmacMethods  = []string{"HS256", "HS384", "HS512"}
	rsaMethods   = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	ecdsaMethods = []string{"ES256", "ES384", "ES512"}
)

func keyProblem(field, format string, args ...any) error {
	return FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// compileKey parses k. Its errors are FieldErrors naming the field of k
// and never contain key material.
func compileKey(k *VerificationKey) (compiledKey, error) {
	switch k.Type {
	case VerificationKeySymmetric:
		return compileSymmetricKey(k)
	case VerificationKeyRSA:
		return compileRSAKey(k)
	case VerificationKeyECDSA:
		if k.PEM == "" {
			return compiledKey{}, keyProblem("pem", "missing")
		}
		pub, err := parsePublicKeyPEM(k.PEM)
		if err != nil {
			return compiledKey{}, err
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return compiledKey{}, keyProblem("pem", "holds a %T, not an EC public key", pub)
		}
		return compileECDSA(ec, "pem")
	case VerificationKeyX509:
		return compileCertificate(k)
	case "":
		return compiledKey{}, keyProblem("type", "missing; use symmetric, rsa, ecdsa or x509")
	}
	return compiledKey{}, keyProblem("type", "%q is unknown; use symmetric, rsa, ecdsa or x509", k.Type)
}

func compileSymmetricKey(k *VerificationKey) (compiledKey, error) {
	if k.PEM != "" || k.RawBody != "" || k.Modulus != "" {
		return compiledKey{}, keyProblem("type", "a symmetric key takes only keyValue")
	}
	if k.KeyValue == "" {
		return compiledKey{}, keyProblem("keyValue", "missing")
	}
	secret, err := base64.StdEncoding.DecodeString(k.KeyValue)
	if err != nil {
		return compiledKey{}, keyProblem("keyValue", "not standard base64")
	}
	if len(secret) < minSymmetricKeyBytes {
		return compiledKey{}, keyProblem("keyValue", "%d bytes; at least %d are required", len(secret), minSymmetricKeyBytes)
	}
	return compiledKey{key: secret, methods: hmacMethods}, nil
}

func compileRSAKey(k *VerificationKey) (compiledKey, error) {
	if k.KeyValue != "" {
		return compiledKey{}, keyProblem("keyValue", "an RSA key is never used as an HMAC secret; give pem")
	}
	var pub *rsa.PublicKey
	switch {
	case k.PEM != "":
		key, err := parsePublicKeyPEM(k.PEM)
		if err != nil {
			return compiledKey{}, err
		}
		var ok bool
		if pub, ok = key.(*rsa.PublicKey); !ok {
			return compiledKey{}, keyProblem("pem", "holds a %T, not an RSA public key", key)
		}
	case k.Modulus != "" && k.Exponent != "":
		n, err1 := base64.StdEncoding.DecodeString(k.Modulus)
		e, err2 := base64.StdEncoding.DecodeString(k.Exponent)
		if err1 != nil || err2 != nil || len(e) > 4 {
			return compiledKey{}, keyProblem("modulus", "modulus and exponent must be base64 big-endian integers")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	default:
		return compiledKey{}, keyProblem("pem", "missing; give a PUBLIC KEY PEM block or modulus and exponent")
	}
	return compileRSA(pub, "pem")
}

func compileRSA(pub *rsa.PublicKey, field string) (compiledKey, error) {
	if pub.N.BitLen() < minRSABits {
		return compiledKey{}, keyProblem(field, "RSA key has %d bits; at least %d are required", pub.N.BitLen(), minRSABits)
	}
	if pub.E < 3 || pub.E%2 == 0 {
		return compiledKey{}, keyProblem(field, "RSA public exponent %d is invalid", pub.E)
	}
	return compiledKey{key: pub, methods: rsaMethods}, nil
}

func compileECDSA(pub *ecdsa.PublicKey, field string) (compiledKey, error) {
	switch pub.Curve {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return compiledKey{key: pub, methods: ecdsaMethods}, nil
	}
	return compiledKey{}, keyProblem(field, "EC key is on curve %s; use P-256, P-384 or P-521", pub.Curve.Params().Name)
}

func compileCertificate(k *VerificationKey) (compiledKey, error) {
	var der []byte
	field := "pem"
	switch {
	case k.PEM != "":
		block, rest := pem.Decode([]byte(k.PEM))
		if block == nil || block.Type != "CERTIFICATE" {
			return compiledKey{}, keyProblem("pem", "not a PEM CERTIFICATE block")
		}
		if len(strings.TrimSpace(string(rest))) > 0 {
			return compiledKey{}, keyProblem("pem", "holds more than one PEM block; give one certificate per key")
		}
		der = block.Bytes
	case k.RawBody != "":
		field = "rawBody"
		var err error
		if der, err = base64.StdEncoding.DecodeString(k.RawBody); err != nil {
			return compiledKey{}, keyProblem("rawBody", "not standard base64")
		}
	default:
		return compiledKey{}, keyProblem("pem", "missing; give a CERTIFICATE PEM block or rawBody")
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return compiledKey{}, keyProblem(field, "certificate does not parse: %v", err)
	}
	// NOTE: the certificate is a carrier for its public key, as in the
	// hosted service: its validity dates and chain are not checked.
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return compileRSA(pub, field)
	case *ecdsa.PublicKey:
		return compileECDSA(pub, field)
	}
	return compiledKey{}, keyProblem(field, "certificate key is a %T; only RSA and EC keys are supported", cert.PublicKey)
}

func parsePublicKeyPEM(text string) (any, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, keyProblem("pem", "not a PEM block")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, keyProblem("pem", "holds more than one PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, keyProblem("pem", "public key does not parse: %v", err)
		}
		return key, nil
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, keyProblem("pem", "RSA public key does not parse: %v", err)
		}
		return key, nil
	}
	return nil, keyProblem("pem", "PEM block is %q; want PUBLIC KEY (a private key must never be stored here)", block.Type)
}
