package packager

import "testing"

func TestLanguageTag(t *testing.T) {
	tests := []struct {
		code, want string
	}{
		{"eng", "en"},
		{"deu", "de"},
		{"zho", "zh"},
		{"und", ""},
		{"", ""},
		{"gsw", "gsw"}, // no ISO 639-1 code
		{"en", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := LanguageTag(tt.code); got != tt.want {
				t.Errorf("LanguageTag(%q) = %q, want %q", tt.code, got, tt.want)
			}
		})
	}
}
