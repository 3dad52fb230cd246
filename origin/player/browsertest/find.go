// Package browsertest plays streams in headless Chromium through the player
// page of package player and reports what the page and the video element
// showed. Tests of any package can import it:
//
//	res, err := browsertest.Play(t.Context(), t, pageURL, browsertest.Options{})
//	if err != nil {
//		t.Fatal(err)
//	}
//	if !res.Played {
//		t.Fatalf("stream did not play: %s", res.Summary())
//	}
//
// pageURL is the player page with its query, for example
// http://127.0.0.1:8080/player/?url=<manifest URL>&token=<jwt>&player=dashjs.
package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// chromiumPath is the install path of Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// Find returns the path of the Chromium executable: $LOCKSTREAM_CHROMIUM when
// set, otherwise /usr/bin/chromium, otherwise "chromium" on $PATH. When none
// exists it skips the test, or fails it when the environment has CI=true,
// because CI must not pass by skipping the browser tests.
func Find(t testing.TB) string {
	t.Helper()

	if p := os.Getenv("LOCKSTREAM_CHROMIUM"); p != "" {
		if isExecutable(p) {
			return p
		}
		missing(t, "LOCKSTREAM_CHROMIUM="+p+" is not an executable file")
		return ""
	}
	if isExecutable(chromiumPath) {
		return chromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	missing(t, "Chromium was not found at "+chromiumPath+" or on $PATH")
	return ""
}

func missing(t testing.TB, reason string) {
	t.Helper()

	const hint = "; install it with `apt-get install chromium` or set LOCKSTREAM_CHROMIUM to its path"
	if os.Getenv("CI") == "true" {
		t.Fatal(reason + hint)
	}
	t.Skip(reason + hint)
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
