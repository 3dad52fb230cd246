package origin

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// Test token lifetimes. A test token is for trying a stream by hand. A day
// covers a working session, and a leaked token stops working soon.
const (
	defaultTestTokenTTL = time.Hour
	maxTestTokenTTL     = 24 * time.Hour
)

// maxLocatorKeys bounds the content keys of a create request. A locator
// needs one shared key, or one per scheme for keys imported from the
// hosted service.
const maxLocatorKeys = 8

// listContentKeys returns the content keys of a locator: key ID, type and
// policy name. Key values are included only with ?includeValues=true, the
// admin's explicit option for exporting keys. Such a request is logged
// with the locator ID and the number of keys, never the values.
func (a *keyAdmin) listContentKeys(w http.ResponseWriter, r *http.Request) error {
	includeValues, err := queryBool(r, "includeValues")
	if err != nil {
		return err
	}
	loc, err := a.findLocator(r.Context(), chi.URLParam(r, "nameOrId"))
	if err != nil {
		return err
	}
	keys, err := a.store.ListContentKeys(r.Context(), loc.ID)
	if err != nil {
		return err
	}

	resp := adminapi.ContentKeyList{ContentKeys: make([]adminapi.ContentKey, 0, len(keys))}
	for i := range keys {
		k := &keys[i]
		item := adminapi.ContentKey{ID: k.ID, Type: k.Type, PolicyName: k.PolicyName}
		if includeValues {
			item.Value = base64.StdEncoding.EncodeToString(k.Value[:])
		}
		resp.ContentKeys = append(resp.ContentKeys, item)
	}
	if includeValues {
		a.requestLogger(r).Info("content key values listed", "locator_id", loc.ID.String(), "keys", len(keys))
	}
	a.writeJSON(w, r, http.StatusOK, resp)
	return nil
}

// testToken signs a token that grants a content key of the locator, with
// the HMAC key of the key's content key policy. The optional JSON body
// sets the lifetime ("ttl", default 1h, at most 24h) and the key ("keyId",
// default the locator's first key). The token is never logged.
func (a *keyAdmin) testToken(w http.ResponseWriter, r *http.Request) error {
	var body adminapi.TestTokenRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	ttl, err := parseTestTokenTTL(body.TTL)
	if err != nil {
		return err
	}

	ctx := r.Context()
	loc, err := a.findLocator(ctx, chi.URLParam(r, "nameOrId"))
	if err != nil {
		return err
	}
	keys, err := a.store.ListContentKeys(ctx, loc.ID)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errorf(http.StatusUnprocessableEntity,
			"streaming locator %s streams in the clear (%s): it has no content key, so players need no token",
			quote(loc.Name), loc.StreamingPolicy)
	}
	key, err := selectTokenKey(keys, body.KeyID)
	if err != nil {
		return err
	}

	p, err := a.store.GetContentKeyPolicy(ctx, key.PolicyName)
	if err != nil {
		return fmt.Errorf("reading content key policy %q of key %s: %w", key.PolicyName, key.ID, err)
	}
	if !hasSymmetricPrimaryKey(p) {
		return errorf(http.StatusUnprocessableEntity,
			"content key policy %s has no token restriction with a symmetric (HMAC) primary verification key: "+
				"the server can mint test tokens only for HMAC policies; sign tokens with the issuer's own key instead",
			quote(p.Name))
	}

	now := a.now()
	token, err := policy.MintTestToken(p, key.ID, ttl, now)
	if err != nil {
		return err
	}

	// The exp claim has whole seconds, so expiresOn is truncated to match.
	expires := time.Unix(now.Add(ttl).Unix(), 0).UTC()
	a.requestLogger(r).Info("test token minted", "locator_id", loc.ID.String(), "kid", key.ID.String(),
		"content_key_policy", p.Name, "ttl", ttl.String())
	a.writeJSON(w, r, http.StatusOK, adminapi.TestToken{Token: token, ExpiresOn: expires, KeyID: key.ID})
	return nil
}

// parseTestTokenTTL returns the lifetime a testToken request sets:
// defaultTestTokenTTL when text is empty, else a Go duration from 1s to
// maxTestTokenTTL.
func parseTestTokenTTL(text string) (time.Duration, error) {
	if text == "" {
		return defaultTestTokenTTL, nil
	}
	ttl, err := time.ParseDuration(text)
	if err != nil {
		return 0, errorf(http.StatusUnprocessableEntity, "ttl %s is not a duration: want a value such as 30m or 2h", quote(text))
	}
	if ttl < time.Second || ttl > maxTestTokenTTL {
		return 0, errorf(http.StatusUnprocessableEntity, "ttl %s is out of range: want 1s to %v", quote(text), maxTestTokenTTL)
	}
	return ttl, nil
}

// selectTokenKey returns the key with ID keyID, or the first key when
// keyID is empty.
func selectTokenKey(keys []policy.ContentKey, keyID string) (*policy.ContentKey, error) {
	if keyID == "" {
		return &keys[0], nil
	}
	id, err := uuid.Parse(keyID)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "keyId %s is not a UUID", quote(keyID))
	}
	for i := range keys {
		if keys[i].ID == id {
			return &keys[i], nil
		}
	}
	return nil, errorf(http.StatusUnprocessableEntity, "keyId %s is not a content key of this streaming locator", id)
}

// hasSymmetricPrimaryKey reports whether policy.MintTestToken can sign for
// p: some token option has a symmetric primary verification key.
func hasSymmetricPrimaryKey(p *policy.ContentKeyPolicy) bool {
	for _, o := range p.Options {
		k := o.Restriction.PrimaryVerificationKey
		if o.Restriction.Type == policy.RestrictionToken && k != nil && k.Type == policy.VerificationKeySymmetric {
			return true
		}
	}
	return false
}

// parseLocatorKeys checks the content keys of a create request and returns
// them in the catalog's form. A zero ID or value in the result means the
// request left it out, so the catalog generates it. Problems name the
// field and never quote a key value.
func parseLocatorKeys(in []adminapi.LocatorContentKey) ([]policy.ContentKey, []string) {
	if len(in) > maxLocatorKeys {
		return nil, []string{fmt.Sprintf("contentKeys has %d keys; at most %d are allowed", len(in), maxLocatorKeys)}
	}

	var problems []string
	keys := make([]policy.ContentKey, len(in))
	for i, k := range in {
		field := fmt.Sprintf("contentKeys[%d]", i)
		if k.ID != "" {
			id, err := uuid.Parse(k.ID)
			if err != nil || id == uuid.Nil {
				problems = append(problems, fmt.Sprintf("%s.id %s is not a UUID other than the nil UUID", field, quote(k.ID)))
			}
			keys[i].ID = id
		}

		if k.Value != "" {
			value, err := base64.StdEncoding.DecodeString(k.Value)
			switch {
			case err != nil:
				problems = append(problems, field+".value is not standard base64")
			case len(value) != len(keys[i].Value):
				problems = append(problems, fmt.Sprintf("%s.value decodes to %d bytes; want 16", field, len(value)))
			case [16]byte(value) == [16]byte{}:
				// The catalog reads a zero value as "generate one".
				problems = append(problems, field+".value is all zeros")
			default:
				keys[i].Value = [16]byte(value)
			}
		}

		switch k.Type {
		case "", policy.KeyTypeShared, policy.KeyTypeEnvelope, policy.KeyTypeCENC:
			keys[i].Type = k.Type
		default:
			problems = append(problems, fmt.Sprintf("%s.type %s is unknown: want %s, %s or %s",
				field, quote(k.Type), policy.KeyTypeShared, policy.KeyTypeEnvelope, policy.KeyTypeCENC))
		}
	}
	return keys, problems
}

// createLocatorWithKeys stores loc with the requested keys, or with a
// generated key when keys is empty.
func (s *Server) createLocatorWithKeys(ctx context.Context, loc *policy.Locator, keys []policy.ContentKey) error {
	if len(keys) == 0 {
		return s.catalog.CreateLocator(ctx, loc)
	}
	store, ok := s.catalog.(policy.ContentKeyStore)
	if !ok {
		return errorf(http.StatusUnprocessableEntity, "contentKeys cannot be given: this server's catalog does not store content keys")
	}
	_, err := store.CreateLocatorWithKeys(ctx, loc, keys)
	return err
}

// keysDiffer reports whether the stored keys of loc differ from the keys
// of a create request. A field the request left out matches any stored
// value, as an omitted streamingLocatorId does.
func (s *Server) keysDiffer(ctx context.Context, loc *policy.Locator, want []policy.ContentKey) (bool, error) {
	if len(want) == 0 {
		return false, nil
	}
	store, ok := s.catalog.(policy.ContentKeyStore)
	if !ok {
		return true, nil
	}
	have, err := store.ListContentKeys(ctx, loc.ID)
	if err != nil {
		return false, err
	}
	if len(have) != len(want) {
		return true, nil
	}

	// The catalog lists keys created together in key ID order, not in
	// request order. So each requested key is matched to an unused stored
	// key, those with an ID first, so that a key without an ID cannot take
	// the stored key that a later one names.
	used := make([]bool, len(have))
	for _, withID := range []bool{true, false} {
		for i := range want {
			if (want[i].ID != uuid.Nil) != withID {
				continue
			}
			j := unusedMatch(&want[i], have, used)
			if j < 0 {
				return true, nil
			}
			used[j] = true
		}
	}
	return false, nil
}

// unusedMatch returns the index of the first stored key that is not used
// and matches w, or -1.
func unusedMatch(w *policy.ContentKey, have []policy.ContentKey, used []bool) int {
	for j := range have {
		if !used[j] && keyMatches(w, &have[j]) {
			return j
		}
	}
	return -1
}

// keyMatches reports whether stored key h satisfies requested key w.
func keyMatches(w, h *policy.ContentKey) bool {
	if w.ID != uuid.Nil && w.ID != h.ID {
		return false
	}
	if w.Value != ([16]byte{}) && subtle.ConstantTimeCompare(w.Value[:], h.Value[:]) != 1 {
		return false
	}
	return cmp.Or(w.Type, policy.KeyTypeShared) == h.Type
}

// conflictMessage explains an ErrConflict from creating loc when no
// locator has its name: its ID or one of the requested key IDs is taken.
func (s *Server) conflictMessage(ctx context.Context, loc *policy.Locator, keys []policy.ContentKey) string {
	if len(keys) == 0 {
		return fmt.Sprintf("streaming locator ID %s is already taken", loc.ID)
	}
	if _, err := s.catalog.GetLocator(ctx, loc.ID); err == nil || !errors.Is(err, policy.ErrNotFound) {
		return fmt.Sprintf("streaming locator ID %s is already taken", loc.ID)
	}
	return "a key ID in contentKeys is already used by another streaming locator"
}
