package adminapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Media types PutContentKeyPolicy accepts for a policy document.
const (
	ContentTypeJSON = "application/json"
	ContentTypeYAML = "application/yaml"
)

// RedactedSecret replaces every symmetric keyValue in policies the server
// returns, unless the request sets includeSecrets=true.
const RedactedSecret = "(redacted)"

// ContentKeyPolicy is a content key policy as the admin API sends and
// returns it: who may receive the content keys bound to it. A key request
// is granted when any option grants it. The server also accepts the hosted
// service's resource shape (description and options below "properties",
// "@odata.type" names) through PutContentKeyPolicy.
type ContentKeyPolicy struct {
	Name        string                   `json:"name"`
	Description string                   `json:"description,omitempty"`
	Options     []ContentKeyPolicyOption `json:"options"`
	// Created and LastModified are set by the server and ignored on input.
	Created      time.Time `json:"created,omitzero"`
	LastModified time.Time `json:"lastModified,omitzero"`
}

// ContentKeyPolicyOption is one way to be granted a key.
type ContentKeyPolicyOption struct {
	Name string `json:"name,omitempty"`
	// Configuration may be omitted: ClearKey, which also serves HLS
	// AES-128, is the only key delivery configuration.
	Configuration *ContentKeyPolicyConfiguration `json:"configuration,omitempty"`
	Restriction   ContentKeyPolicyRestriction    `json:"restriction"`
}

// ContentKeyPolicyConfiguration is the hosted service's configuration
// object; its ODataType is "#Microsoft.Media.ContentKeyPolicyClearKeyConfiguration".
type ContentKeyPolicyConfiguration struct {
	ODataType string `json:"@odata.type"`
}

// Restriction types.
const (
	RestrictionOpen  = "open"
	RestrictionToken = "token"
)

// Verification key types.
const (
	VerificationKeySymmetric = "symmetric"
	VerificationKeyRSA       = "rsa"
	VerificationKeyECDSA     = "ecdsa"
	VerificationKeyX509      = "x509"
)

// ContentKeyPolicyRestriction is an open restriction (Type "open") or a
// token restriction (Type "token"). The fields after ODataType apply to
// token restrictions only.
type ContentKeyPolicyRestriction struct {
	Type string `json:"type,omitempty"`
	// ODataType is the hosted service's name for Type; the server moves a
	// known name into Type.
	ODataType string `json:"@odata.type,omitempty"`

	// Issuer must equal the token's iss.
	Issuer string `json:"issuer,omitempty"`
	// Audience must be the token's aud or one element of it.
	Audience                  string                       `json:"audience,omitempty"`
	PrimaryVerificationKey    *ContentKeyPolicyTokenKey    `json:"primaryVerificationKey,omitempty"`
	AlternateVerificationKeys []ContentKeyPolicyTokenKey   `json:"alternateVerificationKeys,omitempty"`
	RequiredClaims            []ContentKeyPolicyTokenClaim `json:"requiredClaims,omitempty"`
	// RestrictionTokenType is "Jwt", the default and only value.
	RestrictionTokenType string `json:"restrictionTokenType,omitempty"`
	// ContentKeyIdentifierClaim names the claim that must carry the
	// requested key ID; the server's default is
	// "urn:microsoft:azure:mediaservices:contentkeyidentifier".
	ContentKeyIdentifierClaim string `json:"contentKeyIdentifierClaim,omitempty"`
}

// ContentKeyPolicyTokenKey is one key that may have signed a token.
type ContentKeyPolicyTokenKey struct {
	// Type is one of the VerificationKey* constants.
	Type      string `json:"type,omitempty"`
	ODataType string `json:"@odata.type,omitempty"`
	// KeyValue is the HMAC secret in standard base64, at least 32 bytes
	// once decoded. Responses carry RedactedSecret in its place unless
	// secrets were requested.
	KeyValue string `json:"keyValue,omitempty"`
	// PEM is a PUBLIC KEY block for rsa and ecdsa keys and a CERTIFICATE
	// block for x509 keys.
	PEM string `json:"pem,omitempty"`
	// RawBody is an x509 certificate as base64 DER, the hosted service's
	// form.
	RawBody string `json:"rawBody,omitempty"`
	// Exponent and Modulus are an RSA key as base64 big-endian integers,
	// the hosted service's form.
	Exponent string `json:"exponent,omitempty"`
	Modulus  string `json:"modulus,omitempty"`
}

// ContentKeyPolicyTokenClaim is a claim a token must carry; when
// ClaimValue is set, the claim must have that value.
type ContentKeyPolicyTokenClaim struct {
	ClaimType  string `json:"claimType"`
	ClaimValue string `json:"claimValue,omitempty"`
}

// ContentKeyPolicyList is the body of GET /api/v1/contentKeyPolicies.
type ContentKeyPolicyList struct {
	ContentKeyPolicies []ContentKeyPolicy `json:"contentKeyPolicies"`
}

// ContentKey is one content key of a locator, as
// POST /api/v1/streamingLocators/{nameOrId}/listContentKeys returns it.
type ContentKey struct {
	ID uuid.UUID `json:"id"`
	// Type is "Shared" (HLS AES-128 and CENC), "EnvelopeEncryption" (HLS
	// only) or "CommonEncryptionCenc" (DASH and Smooth only).
	Type       string `json:"type"`
	PolicyName string `json:"policyName"`
	// Value is the 16 key bytes in standard base64, present only when the
	// request set includeValues=true.
	Value string `json:"value,omitempty"`
}

// ContentKeyList is the body of a listContentKeys response.
type ContentKeyList struct {
	ContentKeys []ContentKey `json:"contentKeys"`
}

// LocatorContentKey is a content key supplied when creating a locator,
// for example one exported from the hosted service so that existing
// encrypted downloads and key IDs stay valid.
type LocatorContentKey struct {
	// ID is the key ID as a UUID; a random one when empty.
	ID string `json:"id,omitempty"`
	// Value is the 16 key bytes in standard base64; random when empty.
	Value string `json:"value,omitempty"`
	// Type is "Shared" (the default), "EnvelopeEncryption" or
	// "CommonEncryptionCenc".
	Type string `json:"type,omitempty"`
}

// NewLocatorContentKey returns the request form of key ID id with value.
func NewLocatorContentKey(id uuid.UUID, value [16]byte) LocatorContentKey {
	return LocatorContentKey{ID: id.String(), Value: base64.StdEncoding.EncodeToString(value[:])}
}

// CreateLocatorWithKeysRequest is CreateLocatorRequest with the content
// keys to store with the locator; the server accepts both at
// PUT or POST /api/v1/streamingLocators. The server generates one key when
// ContentKeys is empty and the streaming policy encrypts. Creating again
// with the same name and body returns the existing locator; a different
// key list for an existing name gets 409.
//
// The fields are CreateLocatorRequest's, repeated rather than embedded so
// that decoding errors name the JSON field alone.
type CreateLocatorWithKeysRequest struct {
	Name                        string     `json:"name"`
	AssetName                   string     `json:"assetName"`
	StreamingPolicyName         string     `json:"streamingPolicyName"`
	DefaultContentKeyPolicyName string     `json:"defaultContentKeyPolicyName,omitempty"`
	StartTime                   *time.Time `json:"startTime,omitempty"`
	EndTime                     *time.Time `json:"endTime,omitempty"`
	StreamingLocatorID          *uuid.UUID `json:"streamingLocatorId,omitempty"`

	ContentKeys []LocatorContentKey `json:"contentKeys,omitempty"`
}

// WithKeys returns r with the content keys keys.
func (r CreateLocatorRequest) WithKeys(keys ...LocatorContentKey) CreateLocatorWithKeysRequest {
	return CreateLocatorWithKeysRequest{
		Name:                        r.Name,
		AssetName:                   r.AssetName,
		StreamingPolicyName:         r.StreamingPolicyName,
		DefaultContentKeyPolicyName: r.DefaultContentKeyPolicyName,
		StartTime:                   r.StartTime,
		EndTime:                     r.EndTime,
		StreamingLocatorID:          r.StreamingLocatorID,
		ContentKeys:                 keys,
	}
}

// LocatorRequest returns r without its content keys.
func (r CreateLocatorWithKeysRequest) LocatorRequest() CreateLocatorRequest {
	return CreateLocatorRequest{
		Name:                        r.Name,
		AssetName:                   r.AssetName,
		StreamingPolicyName:         r.StreamingPolicyName,
		DefaultContentKeyPolicyName: r.DefaultContentKeyPolicyName,
		StartTime:                   r.StartTime,
		EndTime:                     r.EndTime,
		StreamingLocatorID:          r.StreamingLocatorID,
	}
}

// TestTokenRequest is the optional body of
// POST /api/v1/streamingLocators/{nameOrId}/testToken.
type TestTokenRequest struct {
	// TTL is the token lifetime as a Go duration such as "30m"; default
	// 1h, at most 24h.
	TTL string `json:"ttl,omitempty"`
	// KeyID selects the locator's content key the token grants; default
	// its first key.
	KeyID string `json:"keyId,omitempty"`
}

// TestToken is a token the server signed with the HMAC key of a locator's
// content key policy.
type TestToken struct {
	Token     string    `json:"token"`
	ExpiresOn time.Time `json:"expiresOn"`
	KeyID     uuid.UUID `json:"keyId"`
}

// PutContentKeyPolicy creates or replaces the content key policy name from
// a policy document, as a file holds it. contentType is ContentTypeJSON
// (the default when empty) or ContentTypeYAML. A name inside the document
// must equal name. It returns the stored policy with secrets redacted.
func (c *Client) PutContentKeyPolicy(ctx context.Context, name string, body []byte, contentType string) (*ContentKeyPolicy, error) {
	if contentType == "" {
		contentType = ContentTypeJSON
	}
	var p ContentKeyPolicy
	if err := c.send(ctx, http.MethodPut, policyPath(name), contentType, body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutContentKeyPolicyObject creates or replaces the content key policy
// p.Name and returns the stored policy with secrets redacted.
func (c *Client) PutContentKeyPolicyObject(ctx context.Context, p *ContentKeyPolicy) (*ContentKeyPolicy, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("admin API: encoding content key policy %q: %w", p.Name, err)
	}
	return c.PutContentKeyPolicy(ctx, p.Name, body, ContentTypeJSON)
}

// GetContentKeyPolicy returns the content key policy name. Symmetric
// secrets are redacted unless includeSecrets is true.
func (c *Client) GetContentKeyPolicy(ctx context.Context, name string, includeSecrets bool) (*ContentKeyPolicy, error) {
	path := policyPath(name)
	if includeSecrets {
		path += "?includeSecrets=true"
	}
	var p ContentKeyPolicy
	if err := c.do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListContentKeyPolicies returns every content key policy, sorted by name,
// with secrets redacted.
func (c *Client) ListContentKeyPolicies(ctx context.Context) ([]ContentKeyPolicy, error) {
	var list ContentKeyPolicyList
	if err := c.do(ctx, http.MethodGet, "contentKeyPolicies", nil, &list); err != nil {
		return nil, err
	}
	return list.ContentKeyPolicies, nil
}

// DeleteContentKeyPolicy deletes the content key policy name. The server
// returns 409 while a locator uses it.
func (c *Client) DeleteContentKeyPolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, policyPath(name), nil, nil)
}

// CreateLocatorWithKeys creates a streaming locator with the given content
// keys; see CreateLocatorWithKeysRequest.
func (c *Client) CreateLocatorWithKeys(ctx context.Context, req CreateLocatorWithKeysRequest) (*Locator, error) {
	var loc Locator
	if err := c.do(ctx, http.MethodPut, "streamingLocators", req, &loc); err != nil {
		return nil, err
	}
	return &loc, nil
}

// ListContentKeys returns the content keys of a locator: none for a clear
// one. Key values are included only when includeValues is true.
func (c *Client) ListContentKeys(ctx context.Context, nameOrID string, includeValues bool) ([]ContentKey, error) {
	path := locatorPath(nameOrID) + "/listContentKeys"
	if includeValues {
		path += "?includeValues=true"
	}
	var list ContentKeyList
	if err := c.do(ctx, http.MethodPost, path, nil, &list); err != nil {
		return nil, err
	}
	return list.ContentKeys, nil
}

// MintTestToken requests a server-signed token that grants the first
// content key of a locator, for trying a stream. The locator's content key
// policy must have a token restriction with a symmetric (HMAC) primary
// key. A zero ttl means the server's default of 1h.
func (c *Client) MintTestToken(ctx context.Context, nameOrID string, ttl time.Duration) (*TestToken, error) {
	var in any
	if ttl != 0 {
		in = TestTokenRequest{TTL: ttl.String()}
	}
	var token TestToken
	if err := c.do(ctx, http.MethodPost, locatorPath(nameOrID)+"/testToken", in, &token); err != nil {
		return nil, err
	}
	return &token, nil
}

// TestToken is MintTestToken returning the token and its expiry time only.
func (c *Client) TestToken(ctx context.Context, nameOrID string, ttl time.Duration) (string, time.Time, error) {
	token, err := c.MintTestToken(ctx, nameOrID, ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	return token.Token, token.ExpiresOn, nil
}

func policyPath(name string) string { return "contentKeyPolicies/" + url.PathEscape(name) }

func locatorPath(nameOrID string) string { return "streamingLocators/" + url.PathEscape(nameOrID) }
