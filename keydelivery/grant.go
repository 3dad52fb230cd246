package keydelivery

import (
	"context"

	"github.com/google/uuid"
)

// Grants reports whether token grants the key kid, by the same rules as a
// key request: a derived token by its own MAC and expiry, any other token
// by the key's content key policy. The origin uses it to decide whether a
// playlist request's token earns a derived token in the playlist's key
// URIs. Refusals are neither logged nor counted here: no key is released.
func (h *Handler) Grants(ctx context.Context, kid uuid.UUID, token string) bool {
	key, f := h.lookupKey(ctx, kid)
	if f != nil {
		return false
	}
	return h.authorize(ctx, key, token) == nil
}
