package storage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// nameCases is shared by TestCheckName and the seeds of FuzzCheckName.
var nameCases = []struct {
	name string
	ok   bool
}{
	{"video_640x360_400k.mp4", true},
	{"sample", true},
	{"sample.ism", true},
	{"a b", true},
	{"clip-ünïcode.mp4", true},
	{"x..y", true},
	{"name.", true},

	// Percent-encoding is never decoded: these are literal names.
	{"%2e%2e", true},
	{"%2e%2e%2fetc%2fpasswd", true},
	{"%252e%252e", true},
	{"..%2f", false}, // leading '.'
	{"%2F", true},

	{"", false},
	{".", false},
	{"..", false},
	{"...", false},
	{".hidden", false},
	{".git", false},
	{"../x", false},
	{"x/..", false},
	{"a/b", false},
	{"/etc/passwd", false},
	{"/", false},
	{`..\x`, false},
	{`a\b`, false},
	{`C:\Windows`, false},
	{"a\x00b", false},
	{"\x00", false},
	{"a\nb", false},
	{"tab\there", false},
	{"del\x7f", false},
	{"c1\u0085", false},
	{"bad\xff", false},
	{strings.Repeat("a", 255), true},
	{strings.Repeat("a", 256), false},
}

func TestCheckName(t *testing.T) {
	for _, tc := range nameCases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckName(tc.name)
			if tc.ok && err != nil {
				t.Fatalf("CheckName(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidName) {
				t.Fatalf("CheckName(%q) = %v, want ErrInvalidName", tc.name, err)
			}
		})
	}
}

func TestCheckNameMessageNamesValue(t *testing.T) {
	err := CheckName("../x")
	if err == nil || !strings.Contains(err.Error(), `"../x"`) {
		t.Fatalf("CheckName(%q) = %v, want a message quoting the name", "../x", err)
	}
}

// FuzzCheckName asserts that every accepted name stays one element below
// any root after joining, whatever bytes it holds.
func FuzzCheckName(f *testing.F) {
	for _, tc := range nameCases {
		f.Add(tc.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) != nil {
			return
		}

		root := filepath.FromSlash("/media/root")
		joined := filepath.Join(root, name)
		if filepath.Dir(joined) != root {
			t.Fatalf("accepted %q joins to %q, outside %q", name, joined, root)
		}
		if filepath.Base(joined) != name {
			t.Fatalf("accepted %q joins to %q, which changes the name", name, joined)
		}
		if !filepath.IsLocal(name) || strings.HasPrefix(name, ".") {
			t.Fatalf("accepted %q, which is not a plain local name", name)
		}
		if strings.ContainsAny(name, "/\\\x00") {
			t.Fatalf("accepted %q, which contains a separator or NUL", name)
		}
	})
}
