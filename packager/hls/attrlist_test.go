package hls

import (
	"errors"
	"strings"
	"testing"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

// TestQuotedRejectsBreakingCharacters guards RFC 8216 section 4.2: a
// quoted-string must not contain a double quote, CR or LF, which would end
// the attribute or the tag line and let the value add playlist lines.
func TestQuotedRejectsBreakingCharacters(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"en", true},
		{"audio-mp4a.40.2", true},
		{`en",URI="http://evil.example/`, false},
		{"en\n#EXT-X-STREAM-INF:BANDWIDTH=1", false},
		{"en\r", false},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			a := attrList{buf: []byte("#EXT-X-MEDIA:")}
			a.quoted("LANGUAGE", tc.value)
			if tc.ok {
				if a.err != nil {
					t.Fatalf("got %v, want %q written", a.err, tc.value)
				}
				if want := `#EXT-X-MEDIA:LANGUAGE="` + tc.value + `"`; string(a.buf) != want {
					t.Errorf("got %q, want %q", a.buf, want)
				}
				return
			}
			if !errors.Is(a.err, packager.ErrInvalidMedia) {
				t.Fatalf("got error %v, want ErrInvalidMedia", a.err)
			}
			if strings.ContainsAny(string(a.buf), "\"\r\n") {
				t.Errorf("buffer %q holds part of the rejected value", a.buf)
			}
		})
	}
}

// TestMultivariantRejectsInjectedLanguage guards the playlist writer
// against a language that would inject a variant stream, in case one
// reaches it past the .ism checks.
func TestMultivariantRejectsInjectedLanguage(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	for _, tr := range p.Tracks {
		if tr.Kind == packager.KindAudio {
			tr.Language = "en\",URI=\"http://evil.example/a.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/v.m3u8\n#X=\""
		}
	}
	text, err := WriteMultivariant([]byte("prefix"), p, plan, testOptions("hls-ts", "clear"))
	if !errors.Is(err, packager.ErrInvalidMedia) || !strings.Contains(err.Error(), "LANGUAGE") {
		t.Fatalf("got %v, want ErrInvalidMedia naming LANGUAGE", err)
	}
	if string(text) != "prefix" {
		t.Errorf("got %q appended after an error, want dst unchanged", text[len("prefix"):])
	}
}
