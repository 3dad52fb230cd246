// Package adminapi holds the JSON types of the origin's admin API under
// /api/v1 and a client for it. The field names follow the hosted media
// service's REST API, so scripts written for it need few changes.
package adminapi

import (
	"time"

	"github.com/google/uuid"
)

// Locator is a streaming locator as the admin API returns it.
type Locator struct {
	StreamingLocatorID          uuid.UUID  `json:"streamingLocatorId"`
	Name                        string     `json:"name"`
	AssetName                   string     `json:"assetName"`
	StreamingPolicyName         string     `json:"streamingPolicyName"`
	DefaultContentKeyPolicyName string     `json:"defaultContentKeyPolicyName,omitempty"`
	StartTime                   *time.Time `json:"startTime,omitempty"`
	EndTime                     *time.Time `json:"endTime,omitempty"`
	Created                     time.Time  `json:"created"`
}

// CreateLocatorRequest is the body of PUT or POST /api/v1/streamingLocators.
// Creating is idempotent by Name: the same body again returns the existing
// locator with 200, a different body for an existing name gets 409.
type CreateLocatorRequest struct {
	// Name is required: 1 to 128 letters, digits, '-', '_' or '.', not
	// starting with '.'.
	Name string `json:"name"`
	// AssetName is the asset folder below the media root; it must exist.
	AssetName string `json:"assetName"`
	// StreamingPolicyName is Predefined_ClearStreamingOnly or
	// Predefined_ClearKey.
	StreamingPolicyName         string `json:"streamingPolicyName"`
	DefaultContentKeyPolicyName string `json:"defaultContentKeyPolicyName,omitempty"`
	// StartTime and EndTime bound when the locator streams (RFC 3339).
	StartTime *time.Time `json:"startTime,omitempty"`
	EndTime   *time.Time `json:"endTime,omitempty"`
	// StreamingLocatorID is the locator ID; a random one when omitted.
	StreamingLocatorID *uuid.UUID `json:"streamingLocatorId,omitempty"`
}

// LocatorList is the body of GET /api/v1/streamingLocators.
type LocatorList struct {
	StreamingLocators []Locator `json:"streamingLocators"`
}

// Streaming protocol names in ListPathsResponse.
const (
	ProtocolHLS    = "Hls"
	ProtocolDASH   = "Dash"
	ProtocolSmooth = "SmoothStreaming"
)

// Encryption scheme names in ListPathsResponse.
const (
	SchemeNoEncryption = "NoEncryption"
	SchemeEnvelope     = "EnvelopeEncryption"
	SchemeCENC         = "CommonEncryptionCenc"
)

// ListPathsResponse is the body of
// POST /api/v1/streamingLocators/{nameOrId}/listPaths: the streaming URLs
// of a locator, as paths relative to the origin's base URL.
type ListPathsResponse struct {
	StreamingPaths []StreamingPath `json:"streamingPaths"`
	// DownloadPaths is always empty: the origin serves no progressive
	// downloads.
	DownloadPaths []string `json:"downloadPaths"`
}

// StreamingPath lists the manifest paths of one protocol and scheme.
type StreamingPath struct {
	StreamingProtocol string   `json:"streamingProtocol"`
	EncryptionScheme  string   `json:"encryptionScheme"`
	Paths             []string `json:"paths"`
}

// ErrorResponse is the body of every admin API error.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names an error: Code is machine-readable ("NotFound",
// "InvalidValue", ...) and Message says what failed on which value.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
