package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultContentKeyIdentifierClaim is the claim that carries the key ID a
// token grants, under the name the hosted service used, so tokens its
// customers already mint keep working.
const DefaultContentKeyIdentifierClaim = "urn:microsoft:azure:mediaservices:contentkeyidentifier"

// Restriction types.
const (
	// RestrictionOpen releases the key to anyone.
	RestrictionOpen = "open"
	// RestrictionToken releases the key to a bearer of a valid JWT.
	RestrictionToken = "token"
)

// Verification key types.
const (
	// VerificationKeySymmetric is an HMAC secret (HS256, HS384, HS512).
	VerificationKeySymmetric = "symmetric"
	// VerificationKeyRSA is an RSA public key (RS*, PS*).
	VerificationKeyRSA = "rsa"
	// VerificationKeyECDSA is an EC public key on P-256, P-384 or P-521
	// (ES256, ES384, ES512).
	VerificationKeyECDSA = "ecdsa"
	// VerificationKeyX509 is a certificate whose RSA or EC public key
	// verifies the token.
	VerificationKeyX509 = "x509"
)

// TokenTypeJWT is the only supported restrictionTokenType.
const TokenTypeJWT = "Jwt"

// maxPolicyDocument bounds the input of ParseContentKeyPolicy. A policy
// with a few PEM keys is a few kilobytes.
const maxPolicyDocument = 1 << 20

// ContentKeyPolicy decides who receives the content keys bound to it. A
// key request is granted when any option grants it.
//
// The JSON shape follows the hosted service's REST API (options with a
// restriction, verification keys, requiredClaims, restrictionTokenType),
// with a short "type" field in place of its "@odata.type" names. Those
// names are accepted on input too. Symmetric secrets are part of the
// value: use Redacted before showing a policy to anyone.
type ContentKeyPolicy struct {
	Name        string                   `json:"name" yaml:"name"`
	Description string                   `json:"description,omitempty" yaml:"description,omitempty"`
	Options     []ContentKeyPolicyOption `json:"options" yaml:"options"`
	// Created and Updated are set by the store.
	Created time.Time `json:"created,omitzero" yaml:"-"`
	Updated time.Time `json:"lastModified,omitzero" yaml:"-"`
}

// ContentKeyPolicyOption is one way to be granted a key.
type ContentKeyPolicyOption struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Configuration names the key delivery configuration. Only ClearKey
	// (which also serves HLS AES-128) exists here, so it may be omitted.
	Configuration *OptionConfiguration `json:"configuration,omitempty" yaml:"configuration,omitempty"`
	Restriction   Restriction          `json:"restriction" yaml:"restriction"`
}

// OptionConfiguration is the hosted service's configuration object; only
// "#Microsoft.Media.ContentKeyPolicyClearKeyConfiguration" is accepted.
type OptionConfiguration struct {
	ODataType string `json:"@odata.type" yaml:"@odata.type"`
}

// Restriction is an open restriction or a token restriction.
type Restriction struct {
	// Type is RestrictionOpen or RestrictionToken.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// ODataType is the hosted service's name for Type; Normalize moves it
	// into Type.
	ODataType string `json:"@odata.type,omitempty" yaml:"@odata.type,omitempty"`

	// The fields below apply to token restrictions only.

	// Issuer must equal the token's iss exactly.
	Issuer string `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	// Audience must be the token's aud or one element of it.
	Audience                  string            `json:"audience,omitempty" yaml:"audience,omitempty"`
	PrimaryVerificationKey    *VerificationKey  `json:"primaryVerificationKey,omitempty" yaml:"primaryVerificationKey,omitempty"`
	AlternateVerificationKeys []VerificationKey `json:"alternateVerificationKeys,omitempty" yaml:"alternateVerificationKeys,omitempty"`
	// RequiredClaims must be present in the token, and equal ClaimValue
	// when it is set.
	RequiredClaims []RequiredClaim `json:"requiredClaims,omitempty" yaml:"requiredClaims,omitempty"`
	// RestrictionTokenType is TokenTypeJWT (the default).
	RestrictionTokenType string `json:"restrictionTokenType,omitempty" yaml:"restrictionTokenType,omitempty"`
	// ContentKeyIdentifierClaim names the claim whose value must be the
	// requested key ID as a bare GUID (compared case-insensitively).
	// Default DefaultContentKeyIdentifierClaim.
	ContentKeyIdentifierClaim string `json:"contentKeyIdentifierClaim,omitempty" yaml:"contentKeyIdentifierClaim,omitempty"`
}

// VerificationKey is one key that may have signed a token.
type VerificationKey struct {
	// Type is one of the VerificationKey* constants.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// ODataType is the hosted service's name for Type; Normalize moves it
	// into Type.
	ODataType string `json:"@odata.type,omitempty" yaml:"@odata.type,omitempty"`
	// KeyValue is the symmetric secret in standard base64, at least 32
	// bytes once decoded.
	KeyValue string `json:"keyValue,omitempty" yaml:"keyValue,omitempty"`
	// PEM is a "PUBLIC KEY" (or "RSA PUBLIC KEY") block for rsa and ecdsa
	// keys and a "CERTIFICATE" block for x509.
	PEM string `json:"pem,omitempty" yaml:"pem,omitempty"`
	// RawBody is an x509 certificate as base64 DER, the hosted service's
	// form; use it or PEM.
	RawBody string `json:"rawBody,omitempty" yaml:"rawBody,omitempty"`
	// Exponent and Modulus are an RSA key as base64 big-endian integers,
	// the hosted service's form; use them or PEM.
	Exponent string `json:"exponent,omitempty" yaml:"exponent,omitempty"`
	Modulus  string `json:"modulus,omitempty" yaml:"modulus,omitempty"`
}

// RequiredClaim is a claim a token must carry.
type RequiredClaim struct {
	ClaimType string `json:"claimType" yaml:"claimType"`
	// ClaimValue, when set, is the value the claim must have (or contain,
	// for an array claim).
	ClaimValue string `json:"claimValue,omitempty" yaml:"claimValue,omitempty"`
}

// The hosted service's @odata.type names and the types they map to.
var odataTypes = map[string]string{
	"#Microsoft.Media.ContentKeyPolicyOpenRestriction":         RestrictionOpen,
	"#Microsoft.Media.ContentKeyPolicyTokenRestriction":        RestrictionToken,
	"#Microsoft.Media.ContentKeyPolicySymmetricTokenKey":       VerificationKeySymmetric,
	"#Microsoft.Media.ContentKeyPolicyRsaTokenKey":             VerificationKeyRSA,
	"#Microsoft.Media.ContentKeyPolicyX509CertificateTokenKey": VerificationKeyX509,
}

const clearKeyConfiguration = "#Microsoft.Media.ContentKeyPolicyClearKeyConfiguration"

// Normalize fills in defaults (restrictionTokenType, the key ID claim) and
// moves recognised @odata.type names into Type. It leaves unknown names in
// place for Validate to report.
func (p *ContentKeyPolicy) Normalize() {
	for i := range p.Options {
		r := &p.Options[i].Restriction
		r.Type, r.ODataType = normalizeType(r.Type, r.ODataType)
		if r.Type != RestrictionToken {
			continue
		}
		if r.RestrictionTokenType == "" {
			r.RestrictionTokenType = TokenTypeJWT
		}
		if r.ContentKeyIdentifierClaim == "" {
			r.ContentKeyIdentifierClaim = DefaultContentKeyIdentifierClaim
		}
		if k := r.PrimaryVerificationKey; k != nil {
			k.Type, k.ODataType = normalizeType(k.Type, k.ODataType)
		}
		for j := range r.AlternateVerificationKeys {
			k := &r.AlternateVerificationKeys[j]
			k.Type, k.ODataType = normalizeType(k.Type, k.ODataType)
		}
	}
}

func normalizeType(typ, odata string) (string, string) {
	mapped, ok := odataTypes[odata]
	if !ok || (typ != "" && typ != mapped) {
		return typ, odata
	}
	return mapped, ""
}

// Redacted returns a deep copy of p with symmetric secrets replaced by
// "(redacted)", for admin listings and logs.
func (p *ContentKeyPolicy) Redacted() *ContentKeyPolicy {
	c := p.clone()
	for i := range c.Options {
		r := &c.Options[i].Restriction
		if r.PrimaryVerificationKey != nil && r.PrimaryVerificationKey.KeyValue != "" {
			r.PrimaryVerificationKey.KeyValue = "(redacted)"
		}
		for j := range r.AlternateVerificationKeys {
			if r.AlternateVerificationKeys[j].KeyValue != "" {
				r.AlternateVerificationKeys[j].KeyValue = "(redacted)"
			}
		}
	}
	return c
}

func (p *ContentKeyPolicy) clone() *ContentKeyPolicy {
	c := *p
	c.Options = make([]ContentKeyPolicyOption, len(p.Options))
	for i, o := range p.Options {
		if o.Configuration != nil {
			cfg := *o.Configuration
			o.Configuration = &cfg
		}
		if o.Restriction.PrimaryVerificationKey != nil {
			k := *o.Restriction.PrimaryVerificationKey
			o.Restriction.PrimaryVerificationKey = &k
		}
		o.Restriction.AlternateVerificationKeys = append([]VerificationKey(nil), o.Restriction.AlternateVerificationKeys...)
		o.Restriction.RequiredClaims = append([]RequiredClaim(nil), o.Restriction.RequiredClaims...)
		c.Options[i] = o
	}
	return &c
}

// policyDocument is the input form of a policy: the flat shape of
// ContentKeyPolicy, or the hosted service's resource shape with
// description and options under "properties". The read-only fields of the
// hosted service's responses are accepted and ignored, so an exported
// policy can be imported as it is. Any other unknown field is an error,
// because a misspelt restriction field would otherwise vanish silently.
type policyDocument struct {
	Name        string                   `json:"name" yaml:"name"`
	Description string                   `json:"description" yaml:"description"`
	Options     []ContentKeyPolicyOption `json:"options" yaml:"options"`
	Properties  *policyProperties        `json:"properties" yaml:"properties"`

	ID           any `json:"id" yaml:"id"`
	Type         any `json:"type" yaml:"type"`
	Created      any `json:"created" yaml:"created"`
	LastModified any `json:"lastModified" yaml:"lastModified"`
}

type policyProperties struct {
	Description string                   `json:"description" yaml:"description"`
	Options     []ContentKeyPolicyOption `json:"options" yaml:"options"`

	PolicyID     any `json:"policyId" yaml:"policyId"`
	Created      any `json:"created" yaml:"created"`
	LastModified any `json:"lastModified" yaml:"lastModified"`
}

// ParseContentKeyPolicy decodes a content key policy from JSON (input whose
// first non-blank character is '{') or YAML, and normalizes it. It does
// not validate: the store does that on create and update. Decoding errors
// wrap ErrInvalid.
func ParseContentKeyPolicy(data []byte) (*ContentKeyPolicy, error) {
	if len(data) > maxPolicyDocument {
		return nil, fmt.Errorf("content key policy document is %d bytes, more than the limit of %d: %w",
			len(data), maxPolicyDocument, ErrInvalid)
	}

	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var doc policyDocument
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("decoding content key policy JSON: %v: %w", err, ErrInvalid)
		}
		if dec.More() {
			return nil, fmt.Errorf("decoding content key policy JSON: data after the policy object: %w", ErrInvalid)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("decoding content key policy YAML: %v: %w", err, ErrInvalid)
		}
	}

	p := &ContentKeyPolicy{Name: doc.Name, Description: doc.Description, Options: doc.Options}
	if doc.Properties != nil {
		if len(doc.Options) > 0 || doc.Description != "" {
			return nil, fmt.Errorf("content key policy has both top-level and properties fields; use one shape: %w", ErrInvalid)
		}
		p.Description = doc.Properties.Description
		p.Options = doc.Properties.Options
	}
	p.Normalize()
	return p, nil
}
