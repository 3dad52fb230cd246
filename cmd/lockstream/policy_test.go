package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunPolicyCreateListDelete(t *testing.T) {
	server, catalog := newTestOrigin(t)
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}

	code, stdout, stderr := runArgs(t, environ, "policy", "create", samplePolicyFile)
	if code != exitOK {
		t.Fatalf("policy create: exit code %d (stderr %q)", code, stderr)
	}
	if !strings.Contains(stdout, `"name": "sample-token-policy"`) {
		t.Errorf("policy create output lacks the policy name:\n%s", stdout)
	}
	secret := loadSamplePolicy(t).Options[0].Restriction.PrimaryVerificationKey.KeyValue
	if strings.Contains(stdout, secret) {
		t.Error("policy create printed the HMAC secret")
	}
	if _, err := catalog.GetContentKeyPolicy(context.Background(), "sample-token-policy"); err != nil {
		t.Fatalf("the catalog lacks the created policy: %v", err)
	}

	code, stdout, _ = runArgs(t, environ, "policy", "list")
	if code != exitOK || !strings.Contains(stdout, "sample-token-policy") {
		t.Errorf("policy list: exit code %d, output:\n%s", code, stdout)
	}

	code, _, stderr = runArgs(t, environ, "policy", "delete", "sample-token-policy")
	if code != exitOK {
		t.Fatalf("policy delete: exit code %d (stderr %q)", code, stderr)
	}
	if _, err := catalog.GetContentKeyPolicy(context.Background(), "sample-token-policy"); err == nil {
		t.Error("the policy is still in the catalog after delete")
	}
}

func TestRunPolicyCreateYAMLWithName(t *testing.T) {
	server, catalog := newTestOrigin(t)
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken, "LOCKSTREAM_SERVER=" + server}

	file := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(file, []byte("options:\n  - restriction:\n      type: open\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runArgs(t, environ, "policy", "create", "--name", "open-policy", file)
	if code != exitOK {
		t.Fatalf("policy create: exit code %d (stderr %q)", code, stderr)
	}
	if _, err := catalog.GetContentKeyPolicy(context.Background(), "open-policy"); err != nil {
		t.Fatalf("the catalog lacks the created policy: %v", err)
	}
}

func TestRunPolicyUsageErrors(t *testing.T) {
	environ := []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no action", []string{"policy"}, exitUsage, "missing action"},
		{"unknown action", []string{"policy", "rename"}, exitUsage, "unknown action"},
		{"no file", []string{"policy", "create"}, exitUsage, "exactly one FILE"},
		{"missing file", []string{"policy", "create", "/nonexistent/policy.json"}, exitFailure, "policy file"},
		{"malformed file", []string{"policy", "create", bad}, exitFailure, bad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, environ, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q lacks %q", stderr, c.want)
			}
		})
	}
}
