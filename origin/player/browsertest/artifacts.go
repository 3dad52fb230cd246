package browsertest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SaveArtifact writes data to a file named after the test and name and
// returns its path. The folder is $LOCKSTREAM_ARTIFACTS when set (created if
// needed, and kept after the test), otherwise t.ArtifactDir(), which
// `go test -artifacts` keeps under -outputdir and otherwise removes.
func SaveArtifact(t testing.TB, name string, data []byte) string {
	t.Helper()

	dir := os.Getenv("LOCKSTREAM_ARTIFACTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating artifacts folder %q: %v", dir, err)
	}

	file := filepath.Join(dir, unsafeNameChars.ReplaceAllString(t.Name()+"-"+name, "_"))
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatalf("writing artifact %q: %v", file, err)
	}
	return file
}
