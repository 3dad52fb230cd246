package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runArgs runs the command line args with the environment environ and
// returns the exit code and both outputs.
func runArgs(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, environ: environ}
	code = e.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestRunUsageErrors(t *testing.T) {
	withToken := []string{"LOCKSTREAM_ADMIN_TOKEN=test-admin-token"}
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string // part of the one-line message on stderr
	}{
		{"no subcommand", nil, nil, "missing subcommand"},
		{"unknown subcommand", nil, []string{"bogus"}, `unknown subcommand "bogus"`},
		{"unknown flag", nil, []string{"version", "--bogus"}, "flag provided but not defined: -bogus"},
		{"version argument", nil, []string{"version", "extra"}, `unexpected argument "extra"`},

		{"publish without asset", withToken, []string{"publish"}, "missing --asset"},
		{"publish without token", nil, []string{"publish", "--asset", "sample"}, "LOCKSTREAM_ADMIN_TOKEN is not set"},
		{"publish bad server", withToken, []string{"publish", "--asset", "sample", "--server", "ftp://host"}, `invalid --server "ftp://host"`},
		{"publish argument", withToken, []string{"publish", "--asset", "sample", "extra"}, `unexpected argument "extra"`},

		{"token without locator", withToken, []string{"token"}, "missing --locator"},
		{"token zero ttl", withToken, []string{"token", "--locator", "x", "--ttl", "0s"}, "invalid --ttl 0s"},
		{"token long ttl", withToken, []string{"token", "--locator", "x", "--ttl", "1000h"}, "invalid --ttl 1000h0m0s"},
		{"token bad ttl", withToken, []string{"token", "--locator", "x", "--ttl", "soon"}, `invalid value "soon" for flag -ttl`},

		{"inspect without path", nil, []string{"inspect"}, "missing FILE.mp4 or ASSET_DIR"},
		{"inspect two paths", nil, []string{"inspect", "a.mp4", "b.mp4"}, `unexpected argument "b.mp4"`},
		{"inspect short target", nil, []string{"inspect", "a.mp4", "--target", "100ms"}, "invalid --target 100ms"},

		{"serve argument", nil, []string{"serve", "extra"}, `unexpected argument "extra"`},
		{"serve bad listen", nil, []string{"serve", "--listen", "nonsense"}, `listen: invalid address "nonsense"`},
		{"serve bad env", []string{"LOCKSTREAM_HLS_TARGET_DURATION=six"}, []string{"serve"}, "LOCKSTREAM_HLS_TARGET_DURATION"},
		{"serve bad log format", nil, []string{"serve", "--log-format", "xml"}, `invalid --log-format "xml"`},
		{"serve missing config file", nil, []string{"serve", "--config", "/nonexistent/lockstream.yaml"}, "config file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tc.environ, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
			if tc.args != nil && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", strings.Count(stderr, "\n"), stderr)
			}
			if tc.args != nil && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"serve", "publish", "token", "inspect", "version"}},
		{[]string{"--help"}, []string{"Subcommands:"}},
		{[]string{"publish", "-h"}, []string{"-asset folder", "-streaming-policy name", "-json", "-player", "-server URL"}},
		{[]string{"token", "-h"}, []string{"-locator ID or name", "-ttl duration"}},
		{[]string{"inspect", "-h"}, []string{"-target duration"}},
		{[]string{"policy", "-h"}, []string{"create FILE", "list ", "delete NAME"}},
		{[]string{"policy", "--help"}, []string{"create FILE", "list ", "delete NAME"}},
		{[]string{"policy", "help"}, []string{"create FILE", "list ", "delete NAME"}},
		{[]string{"policy", "create", "-h"}, []string{"-name name", "-server URL"}},
		{[]string{"serve", "-h"}, []string{"-listen address", "-media path", "-data folder", "-config file", "-log-format format"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runArgs(t, nil, tc.args...)
			if code != exitOK {
				t.Errorf("exit code = %d, want 0 (stderr %q)", code, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestRunVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3-test", "abc1234"

	code, stdout, stderr := runArgs(t, nil, "version")
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0 (stderr %q)", code, stderr)
	}
	for _, want := range []string{"lockstream v1.2.3-test\n", "commit abc1234\n", "go1."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout = %q, want it to contain %q", stdout, want)
		}
	}
}

func TestManifestFormatLabel(t *testing.T) {
	base := "http://127.0.0.1:8080/3f1c/sample.ism/"
	tests := []struct {
		url, want string
	}{
		{base + "manifest", "Smooth"},
		{base + "manifest(format=m3u8-aapl)", "HLS TS"},
		{base + "manifest(format=m3u8-aapl-v3)", "HLS v3"},
		{base + "manifest(format=m3u8-cmaf)", "HLS CMAF"},
		{base + "manifest(format=mpd-time-csf)", "DASH CSF"},
		{base + "manifest(format=mpd-time-cmaf,encryption=cenc)", "DASH CMAF"},
		{base + "manifest(encryption=cbc,format=m3u8-aapl).m3u8", "HLS TS"},
		{base + "manifest(format=unknown)", "other"},
	}
	for _, tc := range tests {
		if got := formatLabel(tc.url); got != tc.want {
			t.Errorf("formatLabel(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestAbsoluteURL(t *testing.T) {
	tests := []struct {
		base, path, want string
	}{
		{"http://127.0.0.1:8080", "/id/a.ism/manifest", "http://127.0.0.1:8080/id/a.ism/manifest"},
		{"http://127.0.0.1:8080/", "id/a.ism/manifest(format=m3u8-aapl)", "http://127.0.0.1:8080/id/a.ism/manifest(format=m3u8-aapl)"},
		{"https://cdn.example.com/media", "/id/a.ism/manifest", "https://cdn.example.com/media/id/a.ism/manifest"},
		{"http://127.0.0.1:8080", "https://other.example.com/id/a.ism/manifest", "https://other.example.com/id/a.ism/manifest"},
	}
	for _, tc := range tests {
		if got := absoluteURL(tc.base, tc.path); got != tc.want {
			t.Errorf("absoluteURL(%q, %q) = %q, want %q", tc.base, tc.path, got, tc.want)
		}
	}
}

func TestPlayerURL(t *testing.T) {
	got := playerURL("http://127.0.0.1:8080", "http://127.0.0.1:8080/id/a.ism/manifest(format=m3u8-aapl)", "tok.en")
	want := "http://127.0.0.1:8080/player/?token=tok.en&url=http%3A%2F%2F127.0.0.1%3A8080%2Fid%2Fa.ism%2Fmanifest%28format%3Dm3u8-aapl%29"
	if got != want {
		t.Errorf("playerURL = %q, want %q", got, want)
	}
}
