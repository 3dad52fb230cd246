package storage

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxNameLen is NAME_MAX on Linux and most other file systems: a longer
// element cannot name a file anyway.
const maxNameLen = 255

// CheckName returns an error wrapping ErrInvalidName unless name is a
// single plain path element that is safe to use as an asset or file name
// below the media root.
//
// Threat model: name comes from a request URL or from the admin API, so an
// attacker chooses every byte. CheckName is the only gate between that
// input and the file system, and it rejects:
//
//   - the empty name, "." and "..", and every name that starts with '.'
//     (hidden files such as ".git" are never served);
//   - '/' and '\\', so a name is one element on every platform and cannot
//     be absolute or reach a parent;
//   - NUL, the other C0 control characters, DEL, and invalid UTF-8, which
//     truncate C strings, forge log lines or confuse terminals;
//   - names longer than 255 bytes;
//   - anything filepath.IsLocal rejects, such as Windows device names.
//
// CheckName decodes nothing. The router has already percent-decoded the
// URL path once. A name that still contains "%2e%2e" or "%2f" is a literal
// file name with a percent sign in it, and it stays one, because decoding
// it a second time would allow a double-encoded traversal.
//
// A plain name can still lead outside the root through a symbolic link.
// Local opens every path through an os.Root, which refuses any link
// that resolves outside the media root; CheckName alone does not
// guard against links.
func CheckName(name string) error {
	if reason := nameProblem(name); reason != "" {
		return fmt.Errorf("%q %s: %w", name, reason, ErrInvalidName)
	}
	return nil
}

// nameProblem returns why name is not a plain path element, or "" when
// it is.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > maxNameLen:
		return fmt.Sprintf("is longer than %d bytes", maxNameLen)
	case name[0] == '.':
		return "starts with '.'"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case strings.ContainsFunc(name, isControl):
		return "contains a control character"
	case !filepath.IsLocal(name) || filepath.Base(name) != name:
		return "is not a local file name"
	}
	return ""
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}
