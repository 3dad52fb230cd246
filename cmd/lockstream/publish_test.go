package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

const testAdminToken = "test-admin-token-0123456789abcdef"

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newTestOrigin starts a real origin server over testdata/media with an
// SQLite catalog in a temporary folder, and returns its base URL and the
// catalog.
func newTestOrigin(t *testing.T) (string, *policy.SQLiteStore) {
	t.Helper()
	dataDir := t.TempDir()
	mediaDir := filepath.Join("..", "..", "testdata", "media")

	cfg := origin.DefaultConfig()
	cfg.Media = mediaDir
	cfg.DataDir = dataDir
	cfg.AdminToken = testAdminToken

	store, err := storage.NewLocal(mediaDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	masterKey := make([]byte, policy.MasterKeySize)
	catalog, err := policy.OpenSQLite(filepath.Join(dataDir, "catalog.db"), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })

	srv, err := origin.New(cfg, nil, origin.Deps{Store: store, Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, catalog
}

func TestRunPublish(t *testing.T) {
	server, _ := newTestOrigin(t)
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}

	code, stdout, stderr := runArgs(t, environ, "publish", "--asset", "sample", "--name", "sample-clear", "--player")
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0 (stderr %q)", code, stderr)
	}
	first, _, _ := strings.Cut(stdout, "\n")
	fields := strings.Fields(first)
	if len(fields) < 2 || fields[0] != "locator" {
		t.Fatalf("first line = %q, want \"locator ID ...\"", first)
	}
	id, err := uuid.Parse(fields[1])
	if err != nil {
		t.Fatalf("locator ID %q: %v", fields[1], err)
	}

	for _, label := range []string{"Smooth", "HLS TS", "HLS v3", "HLS CMAF", "DASH CSF", "DASH CMAF"} {
		if !strings.Contains(stdout, "  "+label+" ") {
			t.Errorf("stdout lacks a %q line:\n%s", label, stdout)
		}
	}
	wantURL := server + "/" + id.String() + "/sample.ism/manifest(format=m3u8-aapl)"
	if !strings.Contains(stdout, wantURL) {
		t.Errorf("stdout lacks %q:\n%s", wantURL, stdout)
	}
	if !strings.Contains(stdout, server+"/player/?url=") {
		t.Errorf("stdout lacks a player URL:\n%s", stdout)
	}

	// Publishing the same name again returns the same locator.
	code, stdout, stderr = runArgs(t, environ, "publish", "--asset", "sample", "--name", "sample-clear", "--json")
	if code != exitOK {
		t.Fatalf("second publish: exit code = %d, want 0 (stderr %q)", code, stderr)
	}
	var out struct {
		LocatorID      string `json:"locatorId"`
		StreamingPaths []struct {
			StreamingProtocol string   `json:"streamingProtocol"`
			EncryptionScheme  string   `json:"encryptionScheme"`
			Paths             []string `json:"paths"`
		} `json:"streamingPaths"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("decoding --json output: %v\n%s", err, stdout)
	}
	if out.LocatorID != id.String() {
		t.Errorf("second publish locatorId = %q, want %q", out.LocatorID, id)
	}
	var paths int
	for _, sp := range out.StreamingPaths {
		for _, p := range sp.Paths {
			paths++
			if !strings.HasPrefix(p, server+"/"+id.String()+"/") {
				t.Errorf("%s path %q is not an absolute URL below the server", sp.StreamingProtocol, p)
			}
		}
	}
	if paths != 6 {
		t.Errorf("--json listed %d paths, want 6:\n%s", paths, stdout)
	}
}

func TestRunPublishFailures(t *testing.T) {
	server, _ := newTestOrigin(t)
	tests := []struct {
		name  string
		token string
		args  []string
		want  string
	}{
		{"wrong admin token", "wrong-token", []string{"--asset", "sample"}, "401"},
		{"missing asset", testAdminToken, []string{"--asset", "no-such-asset"}, "no-such-asset"},
		{"unknown streaming policy", testAdminToken, []string{"--asset", "sample", "--streaming-policy", "Predefined_Nothing"}, "Predefined_Nothing"},
		{"name taken with other settings", testAdminToken, []string{"--asset", "sample", "--name", "taken", "--streaming-policy", "Predefined_ClearKey"}, "409"},
	}
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}
	if code, _, stderr := runArgs(t, environ, "publish", "--asset", "sample", "--name", "taken"); code != exitOK {
		t.Fatalf("publishing locator %q: exit code %d (stderr %q)", "taken", code, stderr)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + tc.token, "LOCKSTREAM_SERVER=" + server}
			code, stdout, stderr := runArgs(t, environ, append([]string{"publish"}, tc.args...)...)
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d (stdout %q)", code, exitFailure, stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
			if strings.Contains(stderr, tc.token) {
				t.Errorf("stderr contains the admin token: %q", stderr)
			}
		})
	}
}

func TestRunPublishServerDown(t *testing.T) {
	ts := httptest.NewServer(nil)
	server := ts.URL
	ts.Close()

	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken}
	code, _, stderr := runArgs(t, environ, "publish", "--asset", "sample", "--server", server)
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "connection refused") {
		t.Errorf("stderr = %q, want it to name the refused connection", stderr)
	}
}
