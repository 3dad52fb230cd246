package origin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

func newAdminServer(t *testing.T) (*testEnv, *httptest.Server, *adminapi.Client) {
	t.Helper()
	env := newTestEnv(t, nil)
	srv := httptest.NewServer(env.server.Handler())
	t.Cleanup(srv.Close)
	return env, srv, adminapi.NewClient(srv.URL, testAdminToken, srv.Client())
}

func TestAdminLocatorLifecycle(t *testing.T) {
	_, srv, client := newAdminServer(t)
	ctx := t.Context()

	end := testNow.Add(24 * time.Hour)
	req := adminapi.CreateLocatorRequest{
		Name:                        "film-1",
		AssetName:                   "sample",
		StreamingPolicyName:         policy.PolicyClearKey,
		DefaultContentKeyPolicyName: "open",
		EndTime:                     &end,
	}
	created, err := client.CreateLocator(ctx, req)
	if err != nil {
		t.Fatalf("CreateLocator: %v", err)
	}
	if created.StreamingLocatorID == uuid.Nil || created.Name != "film-1" || created.AssetName != "sample" {
		t.Errorf("created = %+v, want an ID, name film-1 and asset sample", created)
	}

	again, err := client.CreateLocator(ctx, req)
	if err != nil {
		t.Fatalf("CreateLocator again: %v", err)
	}
	if again.StreamingLocatorID != created.StreamingLocatorID {
		t.Errorf("second create returned ID %s, want the existing %s", again.StreamingLocatorID, created.StreamingLocatorID)
	}

	changed := req
	changed.StreamingPolicyName = policy.PolicyClearStreamingOnly
	changed.DefaultContentKeyPolicyName = ""
	_, err = client.CreateLocator(ctx, changed)
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !strings.Contains(apiErr.Message, "streamingPolicyName") {
		t.Errorf("create with a different body: error %v, want 409 naming streamingPolicyName", err)
	}

	byName, err := client.GetLocator(ctx, "film-1")
	if err != nil || byName.StreamingLocatorID != created.StreamingLocatorID {
		t.Errorf("GetLocator by name = %+v, %v", byName, err)
	}
	byID, err := client.GetLocator(ctx, created.StreamingLocatorID.String())
	if err != nil || byID.Name != "film-1" {
		t.Errorf("GetLocator by ID = %+v, %v", byID, err)
	}

	list, err := client.ListLocators(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("ListLocators = %d locators, %v; want 1", len(list), err)
	}

	paths, err := client.ListPaths(ctx, "film-1")
	if err != nil {
		t.Fatalf("ListPaths: %v", err)
	}
	id := created.StreamingLocatorID.String()
	want := []adminapi.StreamingPath{
		{StreamingProtocol: "Hls", EncryptionScheme: "EnvelopeEncryption", Paths: []string{
			"/" + id + "/sample.ism/manifest(format=m3u8-aapl,encryption=cbc)",
			"/" + id + "/sample.ism/manifest(format=m3u8-cmaf,encryption=cbc)"}},
		{StreamingProtocol: "Dash", EncryptionScheme: "CommonEncryptionCenc", Paths: []string{
			"/" + id + "/sample.ism/manifest(format=mpd-time-csf,encryption=cenc)",
			"/" + id + "/sample.ism/manifest(format=mpd-time-cmaf,encryption=cenc)"}},
		{StreamingProtocol: "SmoothStreaming", EncryptionScheme: "CommonEncryptionCenc", Paths: []string{
			"/" + id + "/sample.ism/manifest(encryption=cenc)"}},
	}
	gotJSON, _ := json.Marshal(paths.StreamingPaths)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("streamingPaths\n got  %s\n want %s", gotJSON, wantJSON)
	}
	if paths.DownloadPaths == nil || len(paths.DownloadPaths) != 0 {
		t.Errorf("downloadPaths = %v, want an empty list", paths.DownloadPaths)
	}

	// Every listed path must stream through the same server.
	for _, sp := range paths.StreamingPaths {
		for _, p := range sp.Paths {
			resp, err := srv.Client().Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET %s: status %d, want 200", p, resp.StatusCode)
			}
		}
	}

	if err := client.DeleteLocator(ctx, "film-1"); err != nil {
		t.Fatalf("DeleteLocator: %v", err)
	}
	if _, err := client.GetLocator(ctx, "film-1"); !adminapi.IsNotFound(err) {
		t.Errorf("GetLocator after delete: error %v, want 404", err)
	}
	if err := client.DeleteLocator(ctx, "film-1"); !adminapi.IsNotFound(err) {
		t.Errorf("second DeleteLocator: error %v, want 404", err)
	}
}

func TestAdminCreateErrors(t *testing.T) {
	_, srv, client := newAdminServer(t)
	ctx := t.Context()

	cases := []struct {
		name   string
		req    adminapi.CreateLocatorRequest
		status int
		// message lists, separated by '|', texts that must all appear in
		// the error message.
		message string
	}{
		{"missing asset", adminapi.CreateLocatorRequest{Name: "a", AssetName: "nope", StreamingPolicyName: policy.PolicyClearStreamingOnly}, 404, `asset "nope" not found`},
		{"empty asset", adminapi.CreateLocatorRequest{Name: "a", AssetName: "empty", StreamingPolicyName: policy.PolicyClearStreamingOnly}, 404, `asset "empty" not found`},
		{"traversal asset", adminapi.CreateLocatorRequest{Name: "a", AssetName: "..", StreamingPolicyName: policy.PolicyClearStreamingOnly}, 422, "assetName"},
		{"unknown policy", adminapi.CreateLocatorRequest{Name: "a", AssetName: "sample", StreamingPolicyName: "Predefined_Nope"}, 422, "streamingPolicyName"},
		{"every field named", adminapi.CreateLocatorRequest{Name: "bad name!", StreamingPolicyName: ""}, 422, "name \"bad name!\" is invalid|assetName is missing|streamingPolicyName \"\" is unknown"},
		{"end before start", adminapi.CreateLocatorRequest{Name: "a", AssetName: "sample", StreamingPolicyName: policy.PolicyClearStreamingOnly,
			StartTime: timePtr(testNow), EndTime: timePtr(testNow.Add(-time.Second))}, 422, "endTime"},
		{"clear key without key policy", adminapi.CreateLocatorRequest{Name: "a", AssetName: "sample", StreamingPolicyName: policy.PolicyClearKey}, 422, "defaultContentKeyPolicyName"},
		{"unknown key policy", adminapi.CreateLocatorRequest{Name: "a", AssetName: "sample", StreamingPolicyName: policy.PolicyClearKey, DefaultContentKeyPolicyName: "nope"}, 422, `"nope" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.CreateLocator(ctx, tc.req)
			var apiErr *adminapi.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *adminapi.Error", err)
			}
			if apiErr.Status != tc.status {
				t.Errorf("status = %d, want %d (message %q)", apiErr.Status, tc.status, apiErr.Message)
			}
			for part := range strings.SplitSeq(tc.message, "|") {
				if !strings.Contains(apiErr.Message, part) {
					t.Errorf("message = %q, want it to contain %q", apiErr.Message, part)
				}
			}
		})
	}

	t.Run("raw requests", func(t *testing.T) {
		valid := `{"name":"a","assetName":"sample","streamingPolicyName":"Predefined_ClearStreamingOnly"}`
		raw := []struct {
			name        string
			method      string
			contentType string
			body        string
			status      int
			message     string
		}{
			{"bad json", "PUT", "application/json", `{"name":`, 400, "invalid JSON body"},
			{"syntax error", "PUT", "application/json", `{"name" "a"}`, 400, "syntax error"},
			{"wrong type", "PUT", "application/json", `{"name": 5}`, 400, `field "name"`},
			{"unknown field", "PUT", "application/json", `{"name":"a","colour":"red"}`, 400, `unknown field "colour"`},
			{"trailing data", "PUT", "application/json", valid + `{}`, 400, "after the JSON object"},
			{"empty body", "POST", "application/json", ``, 400, "empty body"},
			{"wrong content type", "PUT", "text/plain", valid, 415, "application/json"},
			{"no content type", "PUT", "", valid, 415, "application/json"},
			{"oversized", "PUT", "application/json", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "larger than"},
			{"json with charset", "POST", "application/json; charset=utf-8", valid, 201, ""},
		}
		for _, tc := range raw {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, srv.URL+"/api/v1/streamingLocators", strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
				if tc.contentType != "" {
					req.Header.Set("Content-Type", tc.contentType)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body adminapi.ErrorResponse
				data, _ := io.ReadAll(resp.Body)
				json.Unmarshal(data, &body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, data)
				}
				if tc.message != "" && !strings.Contains(body.Error.Message, tc.message) {
					t.Errorf("message = %q, want it to contain %q", body.Error.Message, tc.message)
				}
				if tc.status >= 400 && resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", resp.Header.Get("Content-Type"))
				}
			})
		}
	})
}

func TestAdminAuth(t *testing.T) {
	_, srv, _ := newAdminServer(t)
	cases := []struct {
		name   string
		header string
		status int
	}{
		{"no header", "", 401},
		{"wrong token", "Bearer wrong", 401},
		{"token prefix", "Bearer " + testAdminToken[:10], 401},
		{"basic scheme", "Basic " + testAdminToken, 401},
		{"bearer without token", "Bearer ", 401},
		{"right token", "Bearer " + testAdminToken, 200},
		{"lower-case scheme", "bearer " + testAdminToken, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/streamingLocators", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestAdminDisabled(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.AdminToken = "" })
	srv := httptest.NewServer(env.server.Handler())
	defer srv.Close()

	_, err := adminapi.NewClient(srv.URL, "anything", srv.Client()).ListLocators(t.Context())
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != "AdminDisabled" || !strings.Contains(apiErr.Message, "LOCKSTREAM_ADMIN_TOKEN") {
		t.Errorf("error = %v, want 404 AdminDisabled naming LOCKSTREAM_ADMIN_TOKEN", err)
	}
	if !strings.Contains(env.logs.String(), "admin API disabled") {
		t.Error("no log line says the admin API is disabled")
	}
}

func TestAdminUnknownRoute(t *testing.T) {
	_, srv, _ := newAdminServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/nothing", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d Content-Type %q, want 404 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestClientErrors(t *testing.T) {
	t.Run("bad base URL", func(t *testing.T) {
		_, err := adminapi.NewClient("not a url", "", nil).ListLocators(t.Context())
		if err == nil || !strings.Contains(err.Error(), "invalid base URL") {
			t.Errorf("error = %v, want invalid base URL", err)
		}
	})
	t.Run("non-JSON error body", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "proxy says no", http.StatusBadGateway)
		}))
		defer srv.Close()
		_, err := adminapi.NewClient(srv.URL, "", srv.Client()).ListLocators(t.Context())
		var apiErr *adminapi.Error
		if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Message != "proxy says no" {
			t.Errorf("error = %v, want 502 with the body text", err)
		}
	})
}
