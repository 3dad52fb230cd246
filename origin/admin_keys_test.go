package origin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// The token subcommand of cmd/lockstream calls this method.
var _ interface {
	TestToken(ctx context.Context, nameOrID string, ttl time.Duration) (string, time.Time, error)
} = (*adminapi.Client)(nil)

// putTokenPolicy stores tokenPolicyJSON(name, "players") through the API.
func putTokenPolicy(t *testing.T, client *adminapi.Client, name string) {
	t.Helper()
	if _, err := client.PutContentKeyPolicy(t.Context(), name, []byte(tokenPolicyJSON("", "players")), ""); err != nil {
		t.Fatalf("creating content key policy %q: %v", name, err)
	}
}

// createEncryptedLocator creates a Predefined_ClearKey locator of asset
// sample through the API.
func createEncryptedLocator(t *testing.T, client *adminapi.Client, name, keyPolicy string, keys ...adminapi.LocatorContentKey) *adminapi.Locator {
	t.Helper()
	loc, err := client.CreateLocatorWithKeys(t.Context(), adminapi.CreateLocatorRequest{
		Name: name, AssetName: "sample", StreamingPolicyName: policy.PolicyClearKey, DefaultContentKeyPolicyName: keyPolicy,
	}.WithKeys(keys...))
	if err != nil {
		t.Fatalf("creating locator %q: %v", name, err)
	}
	return loc
}

func TestAdminListContentKeys(t *testing.T) {
	env, srv, client := newAdminServer(t)
	ctx := t.Context()
	env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil)
	id := env.addLocator(t, "film-1", policy.PolicyClearKey, nil, nil)
	stored, err := env.catalog.ListContentKeys(ctx, id)
	if err != nil || len(stored) != 1 {
		t.Fatalf("catalog keys = %d, %v; want 1", len(stored), err)
	}
	value := base64.StdEncoding.EncodeToString(stored[0].Value[:])

	t.Run("without values", func(t *testing.T) {
		resp := adminDo(t, srv, "POST", "/api/v1/streamingLocators/film-1/listContentKeys", "", "")
		if resp.status != http.StatusOK {
			t.Fatalf("status = %d; body %s", resp.status, resp.body)
		}
		if bytes.Contains(resp.body, []byte(`"value"`)) || bytes.Contains(resp.body, []byte(value)) {
			t.Errorf("response without includeValues carries a key value: %s", resp.body)
		}
		var list adminapi.ContentKeyList
		if err := json.Unmarshal(resp.body, &list); err != nil {
			t.Fatal(err)
		}
		want := adminapi.ContentKey{ID: stored[0].ID, Type: policy.KeyTypeShared, PolicyName: "open"}
		if len(list.ContentKeys) != 1 || list.ContentKeys[0] != want {
			t.Errorf("contentKeys = %+v, want [%+v]", list.ContentKeys, want)
		}
	})

	t.Run("with values", func(t *testing.T) {
		keys, err := client.ListContentKeys(ctx, id.String(), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0].ID != stored[0].ID || keys[0].Value != value {
			t.Errorf("keys = %+v, want key %s with its value", keys, stored[0].ID)
		}
		if strings.Contains(env.logs.String(), value) {
			t.Error("the log contains the key value")
		}
		if !strings.Contains(env.logs.String(), "content key values listed") {
			t.Error("no log line records that key values were listed")
		}
	})

	t.Run("clear locator", func(t *testing.T) {
		resp := adminDo(t, srv, "POST", "/api/v1/streamingLocators/clear/listContentKeys?includeValues=true", "", "")
		if resp.status != http.StatusOK || !bytes.Contains(resp.body, []byte(`"contentKeys": []`)) {
			t.Errorf("status %d body %s, want 200 with an empty contentKeys list", resp.status, resp.body)
		}
	})

	errorCases := []struct {
		name    string
		path    string
		status  int
		message string
	}{
		{"unknown locator", "/api/v1/streamingLocators/nope/listContentKeys", 404, `"nope"`},
		{"bad includeValues", "/api/v1/streamingLocators/film-1/listContentKeys?includeValues=yes-please", 400, "includeValues"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := adminDo(t, srv, "POST", tc.path, "", "")
			if resp.status != tc.status || !strings.Contains(resp.errorMessage(), tc.message) {
				t.Errorf("status %d message %q, want %d containing %q", resp.status, resp.errorMessage(), tc.status, tc.message)
			}
		})
	}
}

// verifyTestToken checks token against the stored policy of key kid at
// time now, as key delivery does, and returns its claims.
func verifyTestToken(t *testing.T, env *testEnv, kid uuid.UUID, token string, now time.Time) jwt.MapClaims {
	t.Helper()
	key, err := env.catalog.GetContentKey(t.Context(), kid)
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.catalog.GetContentKeyPolicy(t.Context(), key.PolicyName)
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.NewTokenVerifier(func() time.Time { return now }, 0).Verify(p, kid, token); err != nil {
		t.Fatalf("verifying the minted token at %v: %v", now, err)
	}

	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestAdminTestToken(t *testing.T) {
	env, srv, client := newAdminServer(t)
	ctx := t.Context()
	putTokenPolicy(t, client, "hmac")
	loc := createEncryptedLocator(t, client, "film-1", "hmac")
	keys, err := client.ListContentKeys(ctx, "film-1", false)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListContentKeys = %d keys, %v; want 1", len(keys), err)
	}
	kid := keys[0].ID

	t.Run("default ttl", func(t *testing.T) {
		token, err := client.MintTestToken(ctx, loc.StreamingLocatorID.String(), 0)
		if err != nil {
			t.Fatalf("MintTestToken: %v", err)
		}
		if token.KeyID != kid {
			t.Errorf("keyId = %s, want %s", token.KeyID, kid)
		}
		if want := testNow.Add(time.Hour); !token.ExpiresOn.Equal(want) {
			t.Errorf("expiresOn = %v, want %v", token.ExpiresOn, want)
		}
		claims := verifyTestToken(t, env, kid, token.Token, testNow)
		if got := claims[policy.DefaultContentKeyIdentifierClaim]; got != kid.String() {
			t.Errorf("key ID claim = %v, want %s", got, kid)
		}
		if got := claims["tier"]; got != "gold" {
			t.Errorf("required claim tier = %v, want gold", got)
		}
		exp, _ := claims.GetExpirationTime()
		if exp == nil || !exp.Equal(token.ExpiresOn) {
			t.Errorf("exp claim = %v, want expiresOn %v", exp, token.ExpiresOn)
		}
		if strings.Contains(env.logs.String(), token.Token) {
			t.Error("the log contains the token")
		}
	})

	t.Run("CLI form", func(t *testing.T) {
		token, expires, err := client.TestToken(ctx, "film-1", 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := testNow.Add(10 * time.Minute); !expires.Equal(want) {
			t.Errorf("expires = %v, want %v", expires, want)
		}
		verifyTestToken(t, env, kid, token, testNow.Add(9*time.Minute))
	})

	t.Run("token opens key delivery", func(t *testing.T) {
		token, err := client.MintTestToken(ctx, "film-1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		key, err := env.catalog.GetContentKey(ctx, kid)
		if err != nil {
			t.Fatal(err)
		}
		rec := env.do(t, "GET", "/keys/hls/"+kid.String(), bearerHeader(token.Token))
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), key.Value[:]) {
			t.Fatalf("key request with the minted token: status %d, %d bytes; want 200 and the key", rec.Code, rec.Body.Len())
		}

		// A policy update through the API governs the next key request.
		if _, err := client.PutContentKeyPolicy(ctx, "hmac", []byte(tokenPolicyJSON("hmac", "other-players")), ""); err != nil {
			t.Fatal(err)
		}
		rec = env.do(t, "GET", "/keys/hls/"+kid.String(), bearerHeader(token.Token))
		if rec.Code == http.StatusOK {
			t.Fatalf("key request with a token for the old audience: status 200, want 401 or 403")
		}
		renewed, err := client.MintTestToken(ctx, "film-1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rec := env.do(t, "GET", "/keys/hls/"+kid.String(), bearerHeader(renewed.Token)); rec.Code != http.StatusOK {
			t.Errorf("key request with a token minted after the update: status %d, want 200", rec.Code)
		}
	})

	ttlCases := []struct {
		body    string
		status  int
		expires time.Duration
	}{
		{`{"ttl": "1s"}`, 200, time.Second},
		{`{"ttl": "30m"}`, 200, 30 * time.Minute},
		{`{"ttl": "24h"}`, 200, 24 * time.Hour},
		{`{}`, 200, time.Hour},
		{`{"ttl": "24h0m1s"}`, 422, 0},
		{`{"ttl": "500ms"}`, 422, 0},
		{`{"ttl": "0s"}`, 422, 0},
		{`{"ttl": "-1h"}`, 422, 0},
		{`{"ttl": "an hour"}`, 422, 0},
		{`{"ttl": 3600}`, 400, 0},
		{`{"lifetime": "1h"}`, 400, 0},
	}
	for _, tc := range ttlCases {
		t.Run("ttl "+tc.body, func(t *testing.T) {
			resp := adminDo(t, srv, "POST", "/api/v1/streamingLocators/film-1/testToken", "application/json", tc.body)
			if resp.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			if tc.status != http.StatusOK {
				if !strings.Contains(resp.errorMessage(), "ttl") && !strings.Contains(resp.errorMessage(), "lifetime") {
					t.Errorf("message = %q, want it to name the field", resp.errorMessage())
				}
				return
			}
			var token adminapi.TestToken
			if err := json.Unmarshal(resp.body, &token); err != nil {
				t.Fatal(err)
			}
			if want := testNow.Add(tc.expires); !token.ExpiresOn.Equal(want) {
				t.Errorf("expiresOn = %v, want %v", token.ExpiresOn, want)
			}
		})
	}

	t.Run("keyId", func(t *testing.T) {
		resp := adminDo(t, srv, "POST", "/api/v1/streamingLocators/film-1/testToken", "application/json", `{"keyId": "`+kid.String()+`"}`)
		if resp.status != http.StatusOK {
			t.Errorf("the locator's own key: status %d; body %s", resp.status, resp.body)
		}
		resp = adminDo(t, srv, "POST", "/api/v1/streamingLocators/film-1/testToken", "application/json", `{"keyId": "`+uuid.NewString()+`"}`)
		if resp.status != http.StatusUnprocessableEntity || !strings.Contains(resp.errorMessage(), "keyId") {
			t.Errorf("another key ID: status %d message %q, want 422 naming keyId", resp.status, resp.errorMessage())
		}
	})
}

func TestAdminTestTokenErrors(t *testing.T) {
	env, srv, client := newAdminServer(t)
	env.addLocator(t, "clear", policy.PolicyClearStreamingOnly, nil, nil)
	env.addLocator(t, "open-film", policy.PolicyClearKey, nil, nil)
	if _, err := client.PutContentKeyPolicy(t.Context(), "ecdsa", []byte(ecdsaPolicyJSON(t)), ""); err != nil {
		t.Fatal(err)
	}
	createEncryptedLocator(t, client, "ecdsa-film", "ecdsa")

	cases := []struct {
		name        string
		locator     string
		contentType string
		body        string
		status      int
		message     string
	}{
		{"unknown locator", "nope", "", "", 404, `"nope"`},
		{"clear locator", "clear", "", "", 422, "streams in the clear"},
		{"open policy", "open-film", "", "", 422, "only for HMAC policies"},
		{"ECDSA policy", "ecdsa-film", "", "", 422, `"ecdsa"|symmetric (HMAC)`},
		{"body without content type", "open-film", "", `{"ttl": "1h"}`, 415, "application/json"},
		{"bad JSON", "open-film", "application/json", `{"ttl":`, 400, "invalid JSON body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := adminDo(t, srv, "POST", "/api/v1/streamingLocators/"+tc.locator+"/testToken", tc.contentType, tc.body)
			if resp.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			for part := range strings.SplitSeq(tc.message, "|") {
				if !strings.Contains(resp.errorMessage(), part) {
					t.Errorf("message = %q, want it to contain %q", resp.errorMessage(), part)
				}
			}
		})
	}
}

func TestAdminCreateLocatorWithKeys(t *testing.T) {
	env, srv, client := newAdminServer(t)
	ctx := t.Context()
	kid := uuid.MustParse("7f3d1a2b-4c5e-4f60-8a9b-0c1d2e3f4a5b")
	value := [16]byte{0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f}
	givenKey := adminapi.NewLocatorContentKey(kid, value)

	loc := createEncryptedLocator(t, client, "imported", "open", givenKey)

	t.Run("listContentKeys returns it", func(t *testing.T) {
		keys, err := client.ListContentKeys(ctx, "imported", true)
		if err != nil {
			t.Fatal(err)
		}
		want := adminapi.ContentKey{ID: kid, Type: policy.KeyTypeShared, PolicyName: "open", Value: base64.StdEncoding.EncodeToString(value[:])}
		if len(keys) != 1 || keys[0] != want {
			t.Errorf("keys = %+v, want [%+v]", keys, want)
		}
	})

	t.Run("key delivery serves it", func(t *testing.T) {
		rec := env.do(t, "GET", "/keys/hls/"+kid.String(), nil)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), value[:]) {
			t.Errorf("key request under the open policy: status %d, %d bytes; want 200 and the given key", rec.Code, rec.Body.Len())
		}
	})

	t.Run("same body is idempotent", func(t *testing.T) {
		again := createEncryptedLocator(t, client, "imported", "open", givenKey)
		if again.StreamingLocatorID != loc.StreamingLocatorID {
			t.Errorf("second create returned ID %s, want %s", again.StreamingLocatorID, loc.StreamingLocatorID)
		}
		// Leaving the keys out requests no particular key, as leaving
		// streamingLocatorId out requests no particular ID.
		createEncryptedLocator(t, client, "imported", "open")
	})

	t.Run("different key is a conflict", func(t *testing.T) {
		other := value
		other[0] ^= 1
		for name, key := range map[string]adminapi.LocatorContentKey{
			"value": adminapi.NewLocatorContentKey(kid, other),
			"id":    adminapi.NewLocatorContentKey(uuid.New(), value),
			"type":  {ID: kid.String(), Type: policy.KeyTypeEnvelope},
		} {
			_, err := client.CreateLocatorWithKeys(ctx, adminapi.CreateLocatorRequest{Name: "imported", AssetName: "sample",
				StreamingPolicyName: policy.PolicyClearKey, DefaultContentKeyPolicyName: "open"}.WithKeys(key))
			var apiErr *adminapi.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !strings.Contains(apiErr.Message, "contentKeys") {
				t.Errorf("different %s: error %v, want 409 naming contentKeys", name, err)
			}
		}
	})

	t.Run("key ID of another locator", func(t *testing.T) {
		_, err := client.CreateLocatorWithKeys(ctx, adminapi.CreateLocatorRequest{Name: "copy", AssetName: "sample",
			StreamingPolicyName: policy.PolicyClearKey, DefaultContentKeyPolicyName: "open"}.WithKeys(givenKey))
		var apiErr *adminapi.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !strings.Contains(apiErr.Message, "key ID") {
			t.Errorf("error %v, want 409 saying a key ID is taken", err)
		}
		if _, err := client.GetLocator(ctx, "copy"); !adminapi.IsNotFound(err) {
			t.Errorf("locator copy exists after the failed create: %v", err)
		}
	})

	t.Run("one key per scheme", func(t *testing.T) {
		keys := []adminapi.LocatorContentKey{
			{ID: "ffffffff-0000-4000-8000-000000000001", Type: policy.KeyTypeEnvelope},
			{ID: "00000000-0000-4000-8000-000000000002", Type: policy.KeyTypeCENC},
		}
		first := createEncryptedLocator(t, client, "per-scheme", "open", keys...)
		again := createEncryptedLocator(t, client, "per-scheme", "open", keys...)
		if again.StreamingLocatorID != first.StreamingLocatorID {
			t.Errorf("second create returned ID %s, want %s", again.StreamingLocatorID, first.StreamingLocatorID)
		}
		listed, err := client.ListContentKeys(ctx, "per-scheme", false)
		if err != nil || len(listed) != 2 {
			t.Fatalf("ListContentKeys = %+v, %v; want 2 keys", listed, err)
		}
	})

	validBase := `"name": "bad-keys", "assetName": "sample", "streamingPolicyName": "Predefined_ClearKey", "defaultContentKeyPolicyName": "open"`
	invalid := []struct {
		name    string
		body    string
		status  int
		message string
	}{
		{"every key field named", `{` + validBase + `, "contentKeys": [
			{"id": "not-a-uuid", "value": "@@@"},
			{"id": "00000000-0000-0000-0000-000000000000", "value": "` + base64.StdEncoding.EncodeToString(make([]byte, 15)) + `"},
			{"value": "` + base64.StdEncoding.EncodeToString(make([]byte, 16)) + `", "type": "Widevine"}]}`,
			422, `contentKeys[0].id "not-a-uuid"|contentKeys[0].value is not standard base64|contentKeys[1].id|contentKeys[1].value decodes to 15 bytes|contentKeys[2].value is all zeros|contentKeys[2].type "Widevine"`},
		{"key fields with locator fields", `{"name": "bad name!", "assetName": "sample", "streamingPolicyName": "Predefined_ClearKey", "contentKeys": [{"id": "x"}]}`,
			422, `name "bad name!"|contentKeys[0].id`},
		{"duplicate key ID", `{` + validBase + `, "contentKeys": [{"id": "` + kid.String() + `"}, {"id": "` + kid.String() + `"}]}`, 422, "contentKeys[1].id"},
		{"keys on a clear locator", `{"name": "clear-keys", "assetName": "sample", "streamingPolicyName": "Predefined_ClearStreamingOnly",
			"contentKeys": [{"id": "` + uuid.NewString() + `"}]}`, 422, "contentKeys"},
		{"envelope key only", `{` + validBase + `, "contentKeys": [{"type": "EnvelopeEncryption"}]}`, 422, "no key serves cenc"},
		{"too many keys", `{` + validBase + `, "contentKeys": [` + strings.Repeat(`{},`, 8) + `{}]}`, 422, "at most 8"},
		{"unknown key field", `{` + validBase + `, "contentKeys": [{"kid": "x"}]}`, 400, `unknown field "kid"`},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			resp := adminDo(t, srv, "PUT", "/api/v1/streamingLocators", "application/json", tc.body)
			if resp.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			for part := range strings.SplitSeq(tc.message, "|") {
				if !strings.Contains(resp.errorMessage(), part) {
					t.Errorf("message = %q, want it to contain %q", resp.errorMessage(), part)
				}
			}
		})
	}

	t.Run("no key value in errors or logs", func(t *testing.T) {
		secret := base64.StdEncoding.EncodeToString(value[:15])
		resp := adminDo(t, srv, "PUT", "/api/v1/streamingLocators", "application/json",
			`{`+validBase+`, "contentKeys": [{"value": "`+secret+`"}]}`)
		if resp.status != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422", resp.status)
		}
		if bytes.Contains(resp.body, []byte(secret)) {
			t.Error("the error body quotes the key value")
		}
		if strings.Contains(env.logs.String(), base64.StdEncoding.EncodeToString(value[:])) || strings.Contains(env.logs.String(), secret) {
			t.Error("the log contains a key value")
		}
	})
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestCreateLocatorRequestFieldsMatch guards the repeated fields of
// CreateLocatorWithKeysRequest: every field of CreateLocatorRequest must
// decode into it and come back unchanged.
func TestCreateLocatorRequestFieldsMatch(t *testing.T) {
	id := uuid.New()
	full := adminapi.CreateLocatorRequest{
		Name: "n", AssetName: "a", StreamingPolicyName: "s", DefaultContentKeyPolicyName: "k",
		StartTime: timePtr(testNow), EndTime: timePtr(testNow.Add(time.Hour)), StreamingLocatorID: &id,
	}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}

	var withKeys adminapi.CreateLocatorWithKeysRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&withKeys); err != nil {
		t.Fatalf("decoding a CreateLocatorRequest as CreateLocatorWithKeysRequest: %v", err)
	}
	if got := withKeys.LocatorRequest(); !reflect.DeepEqual(got, full) {
		t.Errorf("LocatorRequest() = %+v, want %+v", got, full)
	}
	if got := full.WithKeys().LocatorRequest(); !reflect.DeepEqual(got, full) {
		t.Errorf("WithKeys().LocatorRequest() = %+v, want %+v", got, full)
	}
}
