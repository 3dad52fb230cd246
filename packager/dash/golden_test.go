package dash

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testKeyID is a public test key ID.
var testKeyID = [16]byte{0x5f, 0x2a, 0x9c, 0x3e, 0x8d, 0x41, 0x4b, 0x6a, 0x9e, 0x07, 0x1c, 0x3d, 0x5b, 0x7f, 0x9a, 0x21}

// testOptions returns the options the origin uses: templates relative to
// the server manifest folder /{locator}/{name}.ism/.
func testOptions(profile Profile, encrypted bool) *Options {
	o := &Options{
		Profile:       profile,
		InitTemplate:  "dash/clear/$RepresentationID$/init.mp4",
		MediaTemplate: "dash/clear/$RepresentationID$/$Number$.m4s",
	}
	if encrypted {
		o.InitTemplate = "dash/cenc/$RepresentationID$/init.mp4"
		o.MediaTemplate = "dash/cenc/$RepresentationID$/$Number$.m4s"
		o.Protection = &Protection{
			KeyID:      testKeyID,
			LicenseURL: "https://lockstream.test/keydelivery/clearkey",
			PSSH:       true,
		}
	}
	return o
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file      string
		fixture   fixture.Options
		profile   Profile
		encrypted bool
	}{
		{"csf-clear.mpd", fixture.Options{}, ProfileCSF, false},
		{"csf-cenc.mpd", fixture.Options{}, ProfileCSF, true},
		{"cmaf-cenc.mpd", fixture.Options{}, ProfileCMAF, true},
		{"cmaf-clear-two-languages.mpd", fixture.Options{AudioLangs: []string{"eng", "fra"}, StartTicks: 1024}, ProfileCMAF, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, plan := fixture.Build(tt.fixture)
			got, err := Write(nil, p, plan, testOptions(tt.profile, tt.encrypted))
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tt.file, got)
		})
	}
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}
