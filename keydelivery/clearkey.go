package keydelivery

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// Limits of a license request. Players ask for one or two key IDs; a
// request of 16 key IDs is about 500 bytes.
const (
	maxLicenseRequestBytes = 16 << 10
	maxLicenseKeyIDs       = 16
)

const licenseTypeTemporary = "temporary"

// licenseRequest is the W3C Encrypted Media Extensions ClearKey license
// request (section 9.1.3 of the EME recommendation).
type licenseRequest struct {
	KeyIDs []string `json:"kids"`
	Type   string   `json:"type"`
}

// licenseResponse is the ClearKey license: a JSON Web Key set.
type licenseResponse struct {
	Keys []jsonWebKey `json:"keys"`
	Type string       `json:"type"`
}

type jsonWebKey struct {
	KeyType string `json:"kty"`
	KeyID   string `json:"kid"`
	Key     string `json:"k"`
}

// ServeClearKeyLicense serves POST of a ClearKey license request
// {"kids":["<base64url key ID>"],"type":"temporary"} with the JWK set of
// the requested keys that the request's token grants.
//
// Statuses: 200 with every granted key (key IDs that are unknown or not
// granted are left out, as EME lets a license cover part of a request);
// 400 for a malformed request (1 to 16 unpadded or padded base64url key
// IDs of 16 bytes, type "temporary" or absent); 413 for a body over 16 KiB;
// 404 when no requested key ID is known; 401 when none is granted and the
// token is missing or invalid for some known key; else 403; 429 while the
// client is over the failure limit; 500 for a store failure.
func (h *Handler) ServeClearKeyLicense(w http.ResponseWriter, r *http.Request) {
	h.cors.apply(w, r)
	if h.rateLimited(w, r, endpointClearKey) {
		return
	}

	kids, f := readLicenseRequest(w, r)
	if f != nil {
		h.respond(w, r, endpointClearKey, f)
		return
	}
	granted, f := h.grantLicense(r, kids)
	if f != nil {
		h.respond(w, r, endpointClearKey, f)
		return
	}

	reason := "ok"
	if len(granted) < len(kids) {
		reason = "partial"
	}
	h.metrics.count(endpointClearKey, outcomeGranted, reason)

	resp := licenseResponse{Keys: make([]jsonWebKey, len(granted)), Type: licenseTypeTemporary}
	for i, key := range granted {
		h.logger.Debug("key delivered", "endpoint", endpointClearKey, "kid", key.ID.String(), "locator_id", key.LocatorID.String())
		resp.Keys[i] = jsonWebKey{
			KeyType: "oct",
			KeyID:   base64.RawURLEncoding.EncodeToString(key.ID[:]),
			Key:     base64.RawURLEncoding.EncodeToString(key.Value[:]),
		}
	}
	body, err := json.Marshal(resp)
	if err != nil {
		h.respond(w, r, endpointClearKey, &failure{status: http.StatusInternalServerError, reason: "encoding", err: err})
		return
	}
	writeJSON(w, r, http.StatusOK, body)
}

// readLicenseRequest decodes and checks the request body and returns its
// distinct key IDs in request order.
func readLicenseRequest(w http.ResponseWriter, r *http.Request) ([]uuid.UUID, *failure) {
	bad := func(format string, args ...any) *failure {
		return &failure{status: http.StatusBadRequest, reason: "malformed_request", message: fmt.Sprintf(format, args...)}
	}

	var req licenseRequest
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLicenseRequestBytes)).Decode(&req)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &failure{status: http.StatusRequestEntityTooLarge, reason: "oversized_request",
			message: fmt.Sprintf("license request is larger than %d bytes", maxLicenseRequestBytes)}
	case err != nil:
		return nil, bad("license request is not a JSON object of the form {\"kids\":[...],\"type\":\"temporary\"}")
	}

	if req.Type != "" && req.Type != licenseTypeTemporary {
		return nil, bad("license type is not supported; use \"temporary\"")
	}
	switch {
	case len(req.KeyIDs) == 0:
		return nil, bad("kids: at least one key ID is required")
	case len(req.KeyIDs) > maxLicenseKeyIDs:
		return nil, bad("kids: %d key IDs, at most %d are allowed", len(req.KeyIDs), maxLicenseKeyIDs)
	}

	kids := make([]uuid.UUID, 0, len(req.KeyIDs))
	for i, text := range req.KeyIDs {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(text, "="))
		if err != nil || len(raw) != 16 {
			return nil, bad("kids[%d]: not a base64url-encoded 16-byte key ID", i)
		}
		kid := uuid.UUID(raw)
		if !containsKeyID(kids, kid) {
			kids = append(kids, kid)
		}
	}
	return kids, nil
}

func containsKeyID(kids []uuid.UUID, kid uuid.UUID) bool {
	for _, k := range kids {
		if k == kid {
			return true
		}
	}
	return false
}

// grantLicense returns the keys among kids that the request's token
// grants, or the failure when it grants none.
func (h *Handler) grantLicense(r *http.Request, kids []uuid.UUID) ([]*policy.ContentKey, *failure) {
	token := requestToken(r)

	var granted []*policy.ContentKey
	var unauthorized, forbidden, notFound *failure
	for _, kid := range kids {
		key, f := h.lookupKey(r.Context(), kid)
		if f == nil {
			f = h.authorize(r.Context(), key, token)
		}
		switch {
		case f == nil:
			granted = append(granted, key)
		case f.status == http.StatusInternalServerError:
			return nil, f
		case f.status == http.StatusUnauthorized && unauthorized == nil:
			unauthorized = f
		case f.status == http.StatusForbidden && forbidden == nil:
			forbidden = f
		case f.status == http.StatusNotFound && notFound == nil:
			notFound = f
		}
	}

	switch {
	case len(granted) > 0:
		return granted, nil
	case unauthorized != nil:
		return nil, unauthorized
	case forbidden != nil:
		return nil, forbidden
	}
	return nil, notFound
}
