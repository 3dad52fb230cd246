package keydelivery

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/policy"
)

// ServeHLSKey serves GET or HEAD of an HLS AES-128 key URI for the key ID
// kidText (the canonical 36-character UUID form, any case). On success the
// body is exactly the 16 key bytes in binary, the form METHOD=AES-128
// with the default "identity" KEYFORMAT expects (RFC 8216).
//
// Statuses: 200 with the key; 401 without a usable token; 403 for a valid
// token that does not grant this key; 404 for an unknown or malformed key
// ID (one response for both, so probing learns nothing from the format);
// 429 while the client is over the failure limit; 500 for a store failure.
func (h *Handler) ServeHLSKey(w http.ResponseWriter, r *http.Request, kidText string) {
	h.cors.apply(w, r)
	if h.rateLimited(w, r, endpointHLS) {
		return
	}

	key, f := h.grantHLSKey(r, kidText)
	if f != nil {
		h.respond(w, r, endpointHLS, f)
		return
	}

	h.metrics.count(endpointHLS, outcomeGranted, "ok")
	h.logger.Debug("key delivered", "endpoint", endpointHLS, "kid", key.ID.String(), "locator_id", key.LocatorID.String())
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", "16")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(key.Value[:])
	}
}

func (h *Handler) grantHLSKey(r *http.Request, kidText string) (*policy.ContentKey, *failure) {
	kid, ok := parseKeyID(kidText)
	if !ok {
		return nil, &failure{status: http.StatusNotFound, reason: "malformed_kid"}
	}

	key, f := h.lookupKey(r.Context(), kid)
	if f != nil {
		return nil, f
	}
	if f := h.authorize(r.Context(), key, requestToken(r)); f != nil {
		return nil, f
	}
	return key, nil
}

// parseKeyID accepts only the canonical hyphenated form that manifests
// carry, not the braces and urn:uuid: forms uuid.Parse also takes.
func parseKeyID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.Nil, false
	}
	kid, err := uuid.Parse(s)
	return kid, err == nil
}

func (h *Handler) lookupKey(ctx context.Context, kid uuid.UUID) (*policy.ContentKey, *failure) {
	key, err := h.keys.GetContentKey(ctx, kid)
	switch {
	case errors.Is(err, policy.ErrNotFound):
		return nil, &failure{status: http.StatusNotFound, reason: "unknown_kid", kid: kid}
	case err != nil:
		return nil, &failure{status: http.StatusInternalServerError, reason: "store_error", kid: kid, err: err}
	}
	return key, nil
}

// authorize checks token for key: a derived token by its own MAC, any
// other token (or none) by the key's content key policy.
func (h *Handler) authorize(ctx context.Context, key *policy.ContentKey, token string) *failure {
	if isDerivedToken(token) {
		if te := h.checkDerivedToken(token, key.ID); te != nil {
			return classify(te, key)
		}
		return nil
	}
	if err := h.authorizer.AuthorizeKey(ctx, key, token); err != nil {
		return classify(err, key)
	}
	return nil
}
