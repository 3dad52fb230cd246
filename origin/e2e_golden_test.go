package origin_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

var update = flag.Bool("update", false, "rewrite the golden manifests in testdata/golden")

// goldenLocator is the fixed locator ID of the golden manifests, so the
// files do not change from run to run.
var goldenLocator = uuid.MustParse("4f1c0a52-7d3e-4b8a-9c61-2e5f0d9a7b13")

// TestSampleManifestsGolden compares every clear manifest and the media
// playlists of the sample asset with the files in testdata/golden. Run
// `go test ./origin -run TestSampleManifestsGolden -update` after a
// deliberate change and review the diff.
func TestSampleManifestsGolden(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := goldenLocator
	if _, err := o.Admin.CreateLocator(ctx, adminapi.CreateLocatorRequest{
		Name:                "sample-golden",
		AssetName:           "sample",
		StreamingPolicyName: policy.PolicyClearStreamingOnly,
		StreamingLocatorID:  &id,
	}); err != nil {
		t.Fatalf("publishing: %v", err)
	}

	base := o.URL + "/" + id.String() + "/sample.ism/"
	files := map[string]string{
		"smooth.xml":        base + "manifest",
		"m3u8-aapl.m3u8":    base + "manifest(format=m3u8-aapl)",
		"m3u8-aapl-v3.m3u8": base + "manifest(format=m3u8-aapl-v3)",
		"m3u8-cmaf.m3u8":    base + "manifest(format=m3u8-cmaf)",
		"mpd-time-csf.mpd":  base + "manifest(format=mpd-time-csf)",
		"mpd-time-cmaf.mpd": base + "manifest(format=mpd-time-cmaf)",
	}
	for _, track := range allTracks(t, o, id.String()) {
		files["hls-ts-"+track+".m3u8"] = base + "hls-ts/clear/" + track + ".m3u8"
		files["hls-cmaf-"+track+".m3u8"] = base + "hls-cmaf/clear/" + track + ".m3u8"
	}

	for name, url := range files {
		t.Run(name, func(t *testing.T) {
			got := get(t, url, nil)
			path := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file: %v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from %s:\n got:\n%s\nwant:\n%s", url, path, firstLines(got, 40), firstLines(want, 40))
			}
		})
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}
