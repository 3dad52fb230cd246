package keydelivery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// PlaylistKeyToken returns the key token that the key URIs of a playlist
// carry for a playlist request whose "token" query parameter is token, or
// "" when token earns none. client is the address failures count against,
// as Config.ClientIP returns it for the request.
//
// A derived token that is valid for kid is returned unchanged, so a player
// that loads media playlists with it never gets a token that lives longer.
// Any other token must be granted by the key's content key policy, and
// earns a derived token that expires after ttl or at the token's own exp
// claim, whichever comes first.
//
// A refused token counts as a failure of client against the same limit as
// key requests, so the playlist endpoint is no unlimited token oracle, and
// a blocked client earns no token at all. The playlist itself is served
// either way, without a key token.
func (h *Handler) PlaylistKeyToken(ctx context.Context, kid uuid.UUID, token, client string, ttl time.Duration) string {
	if token == "" {
		return ""
	}
	now := h.now()
	if blocked, _ := h.limiter.blocked(client, now); blocked {
		return ""
	}

	key, f := h.lookupKey(ctx, kid)
	if f != nil {
		h.logPlaylistRefusal(ctx, client, f)
		return ""
	}
	if f := h.authorize(ctx, key, token); f != nil {
		if f.status != http.StatusInternalServerError && h.limiter.fail(client, now) {
			h.logger.Warn("client reached the key delivery failure limit", "client_ip", client)
		}
		h.logPlaylistRefusal(ctx, client, f)
		return ""
	}
	if isDerivedToken(token) {
		return token
	}

	expiry := now.Add(ttl + time.Second - 1).Truncate(time.Second)
	if exp, ok := tokenExpiry(token); ok && exp.Before(expiry) {
		expiry = exp
	}
	if !expiry.After(now) {
		// The policy accepted the token within its clock skew, but a
		// derived token must not outlive it.
		return ""
	}
	return h.deriveKeyTokenUntil(kid, expiry)
}

// logPlaylistRefusal logs a token that earned no key token, at the level a
// refused key request of the same kind gets.
func (h *Handler) logPlaylistRefusal(ctx context.Context, client string, f *failure) {
	attrs := []any{"reason", f.reason, "client_ip", client, "kid", f.kid.String()}
	if f.err != nil {
		h.logger.ErrorContext(ctx, "checking a playlist token failed", append(attrs, "err", f.err.Error())...)
		return
	}
	h.logger.InfoContext(ctx, "playlist token refused", attrs...)
}

// maxJWTPayload bounds the payload that tokenExpiry decodes.
const maxJWTPayload = 8 << 10

// tokenExpiry returns the exp claim of a compact JWS. It does not verify
// the signature: call it only for a token the content key policy has
// granted. ok is false when the token has no readable exp claim.
func tokenExpiry(token string) (exp time.Time, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > maxJWTPayload {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	if math.IsNaN(*claims.Exp) || *claims.Exp < 0 || *claims.Exp > 1<<40 {
		return time.Time{}, false
	}
	// A fractional exp is rounded down, so the derived token never
	// outlives it.
	return time.Unix(int64(*claims.Exp), 0), true
}
