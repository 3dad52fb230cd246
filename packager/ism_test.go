package packager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseServerManifest(t *testing.T) {
	f, err := os.Open(filepath.Join(sampleDir, "sample.ism"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseServerManifest(f, "sample.ism")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "sample" || len(m.Entries) != 4 {
		t.Fatalf("got name %q with %d entries, want sample with 4", m.Name, len(m.Entries))
	}
	want := ManifestEntry{Kind: KindAudio, Src: "audio_eng_96k.mp4", SystemBitrate: 96000, SystemLanguage: "eng", TrackID: 1, TrackName: "audio_eng"}
	if m.Entries[3] != want {
		t.Errorf("got %+v, want %+v", m.Entries[3], want)
	}
}

func TestParseServerManifestInvalid(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"not_xml", "<smil><body>"},
		{"no_tracks", `<smil><body><switch></switch></body></smil>`},
		{"path_in_src", `<smil><body><switch><video src="../x.mp4"/></switch></body></smil>`},
		{"bad_bitrate", `<smil><body><switch><video src="a.mp4" systemBitrate="fast"/></switch></body></smil>`},
		{"bad_track_id", `<smil><body><switch><video src="a.mp4"><param name="trackID" value="-1"/></video></switch></body></smil>`},
		{"unknown_element", `<smil><body><switch><image src="a.png"/></switch></body></smil>`},
		{"too_large", `<smil>` + strings.Repeat(" ", maxServerManifest) + `</smil>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseServerManifest(strings.NewReader(tc.doc), "bad.ism")
			if !errors.Is(err, ErrInvalidMedia) || !strings.Contains(err.Error(), "bad.ism") {
				t.Errorf("got %v, want ErrInvalidMedia naming bad.ism", err)
			}
		})
	}
}

// TestServerManifestLanguage guards the systemLanguage check: the value
// reaches HLS LANGUAGE attributes, so only language tags pass, and a value
// that could end the quoted-string and add playlist lines is rejected
// with an error naming the .ism and the value.
func TestServerManifestLanguage(t *testing.T) {
	tests := []struct {
		lang string
		ok   bool
	}{
		{"en", true},
		{"eng", true},
		{"pt-BR", true},
		{"zh-Hant-TW", true},
		{"es-419", true},
		{"x-private1", true},
		{"en\",URI=\"http://evil.example/\n#EXT-X-STREAM-INF:BANDWIDTH=1", false},
		{"en&quot;,URI=&quot;http://evil.example/&#10;#EXT-X-STREAM-INF:BANDWIDTH=1", false},
		{"en us", false},
		{"en--us", false},
		{"-en", false},
		{"419", false},
		{"toolongsubtag", false},
		{strings.Repeat("ab-", 12) + "ab", false},
		{"é", false},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			doc := `<smil><body><switch><audio src="a.mp4" systemLanguage="` + xmlAttr(tc.lang) + `"/></switch></body></smil>`
			m, err := ParseServerManifest(strings.NewReader(doc), "lang.ism")
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want %q accepted", err, tc.lang)
				}
				if got := m.Entries[0].SystemLanguage; got != tc.lang {
					t.Errorf("got language %q, want %q", got, tc.lang)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMedia) {
				t.Fatalf("got %v, want ErrInvalidMedia", err)
			}
			if !strings.Contains(err.Error(), "lang.ism") || !strings.Contains(err.Error(), "systemLanguage") {
				t.Errorf("error %q does not name the file and attribute", err)
			}
		})
	}
}

// xmlAttr escapes s for a double-quoted XML attribute, leaving entity
// references that s already holds as they are.
func xmlAttr(s string) string {
	return strings.NewReplacer(`"`, "&quot;", "<", "&lt;", "\n", "&#10;").Replace(s)
}

func TestSanitizeTrackName(t *testing.T) {
	tests := map[string]string{"audio_eng": "audio_eng", "Audio English": "audio_english", "a/b?c": "a_b_c", "x-1": "x-1"}
	for in, want := range tests {
		if got := sanitizeTrackName(in); got != want {
			t.Errorf("sanitizeTrackName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseServerManifest(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(sampleDir, "sample.ism"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := ParseServerManifest(strings.NewReader(string(doc)), "f.ism")
		if err != nil {
			if !errors.Is(err, ErrInvalidMedia) {
				t.Fatalf("got %v, want ErrInvalidMedia", err)
			}
			return
		}
		for _, e := range m.Entries {
			if !isPlainFileName(e.Src) {
				t.Fatalf("accepted src %q", e.Src)
			}
			if strings.ContainsAny(e.SystemLanguage, "\"\r\n,") {
				t.Fatalf("accepted systemLanguage %q", e.SystemLanguage)
			}
		}
	})
}
