package hls

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testOptions returns the options the origin uses for protocol proto
// (hls-ts, hls-ts3 or hls-cmaf) and encryption enc (clear or cbc): URIs
// relative to the server manifest folder /{locator}/{name}.ism/ for media
// playlists, relative to the media playlist for segments.
func testOptions(proto, enc string) *Options {
	o := &Options{
		Container:   packager.ContainerTS,
		PlaylistURI: func(t *packager.Track) string { return proto + "/" + enc + "/" + t.Name + ".m3u8" },
		SegmentURI: func(t *packager.Track, n int) string {
			ext := ".ts"
			if proto == "hls-cmaf" {
				ext = ".m4s"
			}
			return t.Name + "/" + itoa(n) + ext
		},
		InitURI: func(t *packager.Track) string { return t.Name + "/init.mp4" },
	}
	switch proto {
	case "hls-ts3":
		o.Version = VersionLegacy
	case "hls-cmaf":
		o.Container = packager.ContainerFMP4
	}
	if enc == "cbc" {
		o.KeyURI = func(*packager.Track) string {
			return "https://lockstream.test/keydelivery/hls/5f2a9c3e-8d41-4b6a-9e07-1c3d5b7f9a21"
		}
	}
	return o
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(dst []byte, n int) []byte {
	if n >= 10 {
		dst = appendInt(dst, n/10)
	}
	return append(dst, byte('0'+n%10))
}

func TestGolden(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	audioOnly, audioPlan := fixture.Build(fixture.Options{NoVideo: true, AudioLangs: []string{"eng", "fra"}})
	video, audio := p.Tracks[0], p.Tracks[3]

	tests := []struct {
		file  string
		write func() ([]byte, error)
	}{
		{"multivariant-ts-clear.m3u8", func() ([]byte, error) { return WriteMultivariant(nil, p, plan, testOptions("hls-ts", "clear")) }},
		{"multivariant-ts-cbc.m3u8", func() ([]byte, error) { return WriteMultivariant(nil, p, plan, testOptions("hls-ts", "cbc")) }},
		{"multivariant-ts3-cbc.m3u8", func() ([]byte, error) { return WriteMultivariant(nil, p, plan, testOptions("hls-ts3", "cbc")) }},
		{"multivariant-cmaf-cbc.m3u8", func() ([]byte, error) { return WriteMultivariant(nil, p, plan, testOptions("hls-cmaf", "cbc")) }},
		{"multivariant-audio-only.m3u8", func() ([]byte, error) {
			return WriteMultivariant(nil, audioOnly, audioPlan, testOptions("hls-ts", "clear"))
		}},
		{"media-ts-clear-video.m3u8", func() ([]byte, error) { return WriteMedia(nil, video, plan, testOptions("hls-ts", "clear")) }},
		{"media-ts-cbc-video.m3u8", func() ([]byte, error) { return WriteMedia(nil, video, plan, testOptions("hls-ts", "cbc")) }},
		{"media-ts3-cbc-audio.m3u8", func() ([]byte, error) { return WriteMedia(nil, audio, plan, testOptions("hls-ts3", "cbc")) }},
		{"media-cmaf-clear-audio.m3u8", func() ([]byte, error) { return WriteMedia(nil, audio, plan, testOptions("hls-cmaf", "clear")) }},
		{"media-cmaf-cbc-video.m3u8", func() ([]byte, error) { return WriteMedia(nil, video, plan, testOptions("hls-cmaf", "cbc")) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.write()
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
