package origin

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// testPolicySecret is the HMAC secret of the test policies, in base64. It
// is public test data.
var testPolicySecret = base64.StdEncoding.EncodeToString([]byte("public-test-secret-for-the-admin-api-tests"))

// tokenPolicyJSON returns a token policy as JSON with the given name
// (omitted when empty) and audience.
func tokenPolicyJSON(name, audience string) string {
	nameField := ""
	if name != "" {
		nameField = `"name": "` + name + `", `
	}
	return `{` + nameField + `"description": "test policy", "options": [{"name": "hmac", "restriction": {
		"type": "token", "issuer": "https://issuer.test", "audience": "` + audience + `",
		"primaryVerificationKey": {"type": "symmetric", "keyValue": "` + testPolicySecret + `"},
		"requiredClaims": [{"claimType": "tier", "claimValue": "gold"}]}}]}`
}

// tokenPolicyYAML is the YAML form of tokenPolicyJSON("", "yaml-players").
var tokenPolicyYAML = `description: test policy from YAML
options:
  - name: hmac
    restriction:
      type: token
      issuer: https://issuer.test
      audience: yaml-players
      primaryVerificationKey:
        type: symmetric
        keyValue: ` + testPolicySecret + `
`

// adminResponse is one raw admin API response.
type adminResponse struct {
	status int
	header http.Header
	body   []byte
}

// errorMessage returns the message of a JSON error body.
func (r adminResponse) errorMessage() string {
	var e adminapi.ErrorResponse
	json.Unmarshal(r.body, &e)
	return e.Error.Message
}

// adminDo sends one admin API request with the admin token.
func adminDo(t *testing.T, srv *httptest.Server, method, path, contentType, body string) adminResponse {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return adminResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

// checkRedacted fails when p carries a symmetric secret.
func checkRedacted(t *testing.T, p *adminapi.ContentKeyPolicy) {
	t.Helper()
	for i, o := range p.Options {
		if k := o.Restriction.PrimaryVerificationKey; k != nil && k.KeyValue != "" && k.KeyValue != adminapi.RedactedSecret {
			t.Errorf("policy %q option %d: keyValue is not redacted", p.Name, i)
		}
	}
}

func TestAdminPolicyLifecycle(t *testing.T) {
	_, srv, client := newAdminServer(t)
	ctx := t.Context()

	t.Run("create from JSON", func(t *testing.T) {
		resp := adminDo(t, srv, "PUT", "/api/v1/contentKeyPolicies/film-policy", "application/json", tokenPolicyJSON("", "players"))
		if resp.status != http.StatusCreated {
			t.Fatalf("status = %d, want 201; body %s", resp.status, resp.body)
		}
		if got, want := resp.header.Get("Location"), "/api/v1/contentKeyPolicies/film-policy"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		if bytes.Contains(resp.body, []byte(testPolicySecret)) {
			t.Errorf("PUT response contains the secret: %s", resp.body)
		}
		var p adminapi.ContentKeyPolicy
		if err := json.Unmarshal(resp.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Name != "film-policy" || p.Created.IsZero() {
			t.Errorf("response = %+v, want name film-policy and a creation time", p)
		}
		r := p.Options[0].Restriction
		if r.RestrictionTokenType != "Jwt" || r.ContentKeyIdentifierClaim != policy.DefaultContentKeyIdentifierClaim {
			t.Errorf("restriction = %+v, want the defaults filled in", r)
		}
	})

	t.Run("create from YAML", func(t *testing.T) {
		for _, contentType := range []string{"application/yaml", "application/x-yaml; charset=utf-8"} {
			name := "yaml-" + strings.NewReplacer("/", "-", ";", "", " ", "", "=", "-").Replace(contentType)
			p, err := client.PutContentKeyPolicy(ctx, name, []byte(tokenPolicyYAML), contentType)
			if err != nil {
				t.Fatalf("PUT as %s: %v", contentType, err)
			}
			if p.Name != name || p.Options[0].Restriction.Audience != "yaml-players" {
				t.Errorf("PUT as %s returned %+v", contentType, p)
			}
			checkRedacted(t, p)
		}
	})

	t.Run("update takes effect", func(t *testing.T) {
		resp := adminDo(t, srv, "PUT", "/api/v1/contentKeyPolicies/film-policy", "application/json", tokenPolicyJSON("film-policy", "new-players"))
		if resp.status != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", resp.status, resp.body)
		}
		p, err := client.GetContentKeyPolicy(ctx, "film-policy", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Options[0].Restriction.Audience; got != "new-players" {
			t.Errorf("audience after update = %q, want new-players", got)
		}
		if !p.LastModified.After(p.Created) && !p.LastModified.Equal(p.Created) {
			t.Errorf("lastModified %v is before created %v", p.LastModified, p.Created)
		}
	})

	t.Run("get redacts", func(t *testing.T) {
		resp := adminDo(t, srv, "GET", "/api/v1/contentKeyPolicies/film-policy", "", "")
		if resp.status != http.StatusOK {
			t.Fatalf("status = %d; body %s", resp.status, resp.body)
		}
		if bytes.Contains(resp.body, []byte(testPolicySecret)) {
			t.Errorf("GET response contains the secret")
		}
		if !bytes.Contains(resp.body, []byte(adminapi.RedactedSecret)) {
			t.Errorf("GET response lacks %q: %s", adminapi.RedactedSecret, resp.body)
		}
	})

	t.Run("list redacts", func(t *testing.T) {
		list, err := client.ListContentKeyPolicies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for i := range list {
			names = append(names, list[i].Name)
			checkRedacted(t, &list[i])
		}
		want := []string{"film-policy", "open", "yaml-application-x-yamlcharset-utf-8", "yaml-application-yaml"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("names = %q, want %q", names, want)
		}
	})

	t.Run("includeSecrets", func(t *testing.T) {
		p, err := client.GetContentKeyPolicy(ctx, "film-policy", true)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Options[0].Restriction.PrimaryVerificationKey.KeyValue; got != testPolicySecret {
			t.Errorf("keyValue with includeSecrets is not the stored secret")
		}
		resp := adminDo(t, srv, "GET", "/api/v1/contentKeyPolicies/film-policy?includeSecrets=false", "", "")
		if bytes.Contains(resp.body, []byte(testPolicySecret)) {
			t.Errorf("includeSecrets=false returned the secret")
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := client.DeleteContentKeyPolicy(ctx, "film-policy"); err != nil {
			t.Fatalf("DeleteContentKeyPolicy: %v", err)
		}
		if _, err := client.GetContentKeyPolicy(ctx, "film-policy", false); !adminapi.IsNotFound(err) {
			t.Errorf("GET after delete: error %v, want 404", err)
		}
		if err := client.DeleteContentKeyPolicy(ctx, "film-policy"); !adminapi.IsNotFound(err) {
			t.Errorf("second delete: error %v, want 404", err)
		}
	})
}

func TestAdminPolicyObject(t *testing.T) {
	_, _, client := newAdminServer(t)
	in := &adminapi.ContentKeyPolicy{
		Name: "object-policy",
		Options: []adminapi.ContentKeyPolicyOption{{Restriction: adminapi.ContentKeyPolicyRestriction{
			Type:                   adminapi.RestrictionToken,
			Issuer:                 "https://issuer.test",
			Audience:               "players",
			PrimaryVerificationKey: &adminapi.ContentKeyPolicyTokenKey{Type: adminapi.VerificationKeySymmetric, KeyValue: testPolicySecret},
		}}},
	}
	out, err := client.PutContentKeyPolicyObject(t.Context(), in)
	if err != nil {
		t.Fatalf("PutContentKeyPolicyObject: %v", err)
	}
	if out.Name != "object-policy" || out.Options[0].Restriction.Issuer != "https://issuer.test" {
		t.Errorf("returned %+v", out)
	}
	checkRedacted(t, out)
}

func TestAdminPolicyErrors(t *testing.T) {
	_, srv, _ := newAdminServer(t)
	const path = "/api/v1/contentKeyPolicies/p1"

	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		// message lists, separated by '|', texts that must all appear in
		// the error message.
		message string
	}{
		{"name differs", "PUT", path, "application/json", tokenPolicyJSON("p2", "a"), 422, `"p2"|"p1"`},
		{"every invalid field named", "PUT", path, "application/json",
			`{"options": [{"restriction": {"type": "token", "primaryVerificationKey": {"type": "symmetric", "keyValue": "c2hvcnQ="}}}, {"restriction": {}}]}`,
			422, "options[0].restriction.issuer|options[0].restriction.audience|options[0].restriction.primaryVerificationKey.keyValue|options[1].restriction.type"},
		{"no options", "PUT", path, "application/json", `{}`, 422, "options"},
		{"invalid name", "PUT", "/api/v1/contentKeyPolicies/bad%21name", "application/json", tokenPolicyJSON("", "a"), 422, "name"},
		{"invalid YAML field", "PUT", path, "application/yaml", "options:\n  - restriction:\n      type: open\n      issuer: x\n", 422, "options[0].restriction"},
		{"wrong content type", "PUT", path, "text/plain", tokenPolicyJSON("", "a"), 415, "application/json, application/yaml"},
		{"no content type", "PUT", path, "", tokenPolicyJSON("", "a"), 415, "Content-Type"},
		{"bad JSON", "PUT", path, "application/json", `{"options": [`, 400, "invalid JSON body"},
		{"JSON syntax error", "PUT", path, "application/json", `{"options" []}`, 400, "syntax error"},
		{"JSON array", "PUT", path, "application/json", `[]`, 400, "JSON object"},
		{"JSON trailing data", "PUT", path, "application/json", `{} {}`, 400, "after the JSON object"},
		{"empty JSON body", "PUT", path, "application/json", ``, 400, "empty body"},
		{"empty YAML body", "PUT", path, "application/yaml", "\n", 400, "empty body"},
		{"unknown JSON field", "PUT", path, "application/json", `{"colour": "red"}`, 400, "colour"},
		{"bad YAML", "PUT", path, "application/yaml", "options: [\n", 400, "YAML"},
		{"oversized", "PUT", path, "application/json", `{"description": "` + strings.Repeat("a", 2<<20) + `"}`, 413, "larger than"},
		{"unknown policy", "GET", "/api/v1/contentKeyPolicies/nope", "", "", 404, `content key policy "nope" not found`},
		{"unknown policy delete", "DELETE", "/api/v1/contentKeyPolicies/nope", "", "", 404, `"nope"`},
		{"bad includeSecrets", "GET", "/api/v1/contentKeyPolicies/open?includeSecrets=maybe", "", "", 400, "includeSecrets"},
		{"POST not allowed", "POST", path, "application/json", tokenPolicyJSON("", "a"), 405, "POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := adminDo(t, srv, tc.method, tc.path, tc.contentType, tc.body)
			if resp.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tc.status, resp.body)
			}
			if got := resp.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			msg := resp.errorMessage()
			for part := range strings.SplitSeq(tc.message, "|") {
				if !strings.Contains(msg, part) {
					t.Errorf("message = %q, want it to contain %q", msg, part)
				}
			}
			if bytes.Contains(resp.body, []byte(testPolicySecret)) {
				t.Errorf("error body contains the secret")
			}
		})
	}

	t.Run("nothing stored", func(t *testing.T) {
		resp := adminDo(t, srv, "GET", path, "", "")
		if resp.status != http.StatusNotFound {
			t.Errorf("GET %s after rejected PUTs: status %d, want 404", path, resp.status)
		}
	})
}

func TestAdminPolicyDeleteConflict(t *testing.T) {
	env, srv, client := newAdminServer(t)
	ctx := t.Context()
	env.addLocator(t, "film-1", policy.PolicyClearKey, nil, nil)

	err := client.DeleteContentKeyPolicy(ctx, "open")
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("delete of a policy in use: error %v, want 409", err)
	}
	if !strings.Contains(apiErr.Message, `"film-1"`) {
		t.Errorf("message = %q, want it to name locator film-1", apiErr.Message)
	}

	if err := client.DeleteLocator(ctx, "film-1"); err != nil {
		t.Fatal(err)
	}
	resp := adminDo(t, srv, "DELETE", "/api/v1/contentKeyPolicies/open", "", "")
	if resp.status != http.StatusNoContent || len(resp.body) != 0 {
		t.Errorf("delete after the locator went: status %d body %q, want 204 and no body", resp.status, resp.body)
	}
}

func TestAdminPolicyAuth(t *testing.T) {
	_, srv, _ := newAdminServer(t)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/contentKeyPolicies"},
		{"GET", "/api/v1/contentKeyPolicies/open"},
		{"PUT", "/api/v1/contentKeyPolicies/open"},
		{"DELETE", "/api/v1/contentKeyPolicies/open"},
		{"POST", "/api/v1/streamingLocators/film-1/listContentKeys"},
		{"POST", "/api/v1/streamingLocators/film-1/testToken"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, header := range []string{"", "Bearer wrong-token"} {
				req, _ := http.NewRequest(rt.method, srv.URL+rt.path, strings.NewReader(tokenPolicyJSON("", "a")))
				req.Header.Set("Content-Type", "application/json")
				if header != "" {
					req.Header.Set("Authorization", header)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("Authorization %q: status %d, want 401", header, resp.StatusCode)
				}
			}
		})
	}

	// The rejected requests changed nothing.
	resp := adminDo(t, srv, "GET", "/api/v1/contentKeyPolicies/open", "", "")
	if resp.status != http.StatusOK {
		t.Errorf("policy open after unauthorized requests: status %d, want 200", resp.status)
	}
}

// TestPolicyJSONMatchesClientType guards the client's copy of the policy
// JSON: every field the server sends must decode into
// adminapi.ContentKeyPolicy and encode back to the same JSON.
func TestPolicyJSONMatchesClientType(t *testing.T) {
	full := &policy.ContentKeyPolicy{
		Name:        "full",
		Description: "every field set",
		Created:     testNow,
		Updated:     testNow.Add(time.Minute),
		Options: []policy.ContentKeyPolicyOption{{
			Name:          "token",
			Configuration: &policy.OptionConfiguration{ODataType: "#Microsoft.Media.ContentKeyPolicyClearKeyConfiguration"},
			Restriction: policy.Restriction{
				Type:                      policy.RestrictionToken,
				ODataType:                 "#odata",
				Issuer:                    "iss",
				Audience:                  "aud",
				PrimaryVerificationKey:    &policy.VerificationKey{Type: "x509", ODataType: "#k", KeyValue: "kv", PEM: "pem", RawBody: "raw", Exponent: "e", Modulus: "n"},
				AlternateVerificationKeys: []policy.VerificationKey{{Type: "rsa", PEM: "pem2"}},
				RequiredClaims:            []policy.RequiredClaim{{ClaimType: "tier", ClaimValue: "gold"}},
				RestrictionTokenType:      "Jwt",
				ContentKeyIdentifierClaim: "kid-claim",
			},
		}},
	}
	server, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}

	var client adminapi.ContentKeyPolicy
	dec := json.NewDecoder(bytes.NewReader(server))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&client); err != nil {
		t.Fatalf("decoding the server's JSON into adminapi.ContentKeyPolicy: %v", err)
	}
	back, err := json.Marshal(&client)
	if err != nil {
		t.Fatal(err)
	}

	var want, got any
	json.Unmarshal(server, &want)
	json.Unmarshal(back, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("client round trip:\n got %s\nwant %s", back, server)
	}
}

// ecdsaPolicyJSON returns a token policy verified by a new P-256 public
// key, which the server cannot sign with.
func ecdsaPolicyJSON(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemText, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return `{"options": [{"restriction": {"type": "token", "issuer": "https://issuer.test", "audience": "players",
		"primaryVerificationKey": {"type": "ecdsa", "pem": ` + string(pemText) + `}}}]}`
}

// TestAdminPolicySampleFile sends the demo policy file as the demo script
// does: the hosted service's @odata.type names, the name in the body equal
// to the name in the path.
func TestAdminPolicySampleFile(t *testing.T) {
	_, _, client := newAdminServer(t)
	data, err := os.ReadFile(filepath.Join("..", "testdata", "policies", "sample-token-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.PutContentKeyPolicy(t.Context(), "sample-token-policy", data, adminapi.ContentTypeJSON)
	if err != nil {
		t.Fatalf("PUT of the sample policy: %v", err)
	}
	r := p.Options[0].Restriction
	if r.Type != adminapi.RestrictionToken || r.PrimaryVerificationKey == nil || r.PrimaryVerificationKey.Type != adminapi.VerificationKeySymmetric {
		t.Errorf("restriction = %+v, want a token restriction with a symmetric key", r)
	}
	checkRedacted(t, p)

	createEncryptedLocator(t, client, "sample-aes", "sample-token-policy")
	if _, err := client.MintTestToken(t.Context(), "sample-aes", 0); err != nil {
		t.Errorf("MintTestToken under the sample policy: %v", err)
	}
}
