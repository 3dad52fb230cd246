package origin_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lockstream/lockstream/policy"
)

// TestS3MediaPlaysLikeLocal serves the sample asset from an in-process
// S3-compatible server and requires the same decoded frames as the
// source, through HLS TS and DASH.
func TestS3MediaPlaysLikeLocal(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	media := sampleMedia(t)

	// Credentials come from the environment, as in production. The shared
	// config files and the instance metadata service stay out of reach, so
	// no request leaves loopback.
	t.Setenv("AWS_ACCESS_KEY_ID", "lockstream-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "lockstream-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "missing"))

	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(filepath.Join(media, "sample"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(media, "sample", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := backend.PutObject("media", "library/sample/"+f.Name(), nil, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatalf("uploading %s: %v", f.Name(), err)
		}
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3.Close)

	o := startOrigin(t, "s3://media/library?endpoint="+s3.URL+"&use_path_style=true&disable_https=true")
	locator := o.publish(t, "sample-s3", "sample", policy.PolicyClearStreamingOnly, "")
	tracks := sampleVideoTracks(t, o, locator)

	for i, file := range sampleVideos {
		want := frameHashes(t, ffmpeg, "-i", filepath.Join(media, "sample", file), "-map", "0:v")
		for name, url := range map[string]string{
			"hls-ts": o.URL + "/" + locator + "/sample.ism/hls-ts/clear/" + tracks[i] + ".m3u8",
			"dash":   manifestURL(o.URL, locator, "mpd-time-cmaf"),
		} {
			t.Run(file+"/"+name, func(t *testing.T) {
				args := []string{"-i", url}
				if name == "dash" {
					args = append(args, "-map", "0:v:"+string(rune('0'+i)))
				}
				got := frameHashes(t, ffmpeg, args...)
				if len(got) != len(want) {
					t.Fatalf("decoded %d frames, source has %d", len(got), len(want))
				}
				for k := range want {
					if got[k] != want[k] {
						t.Fatalf("frame %d: hash %s, source %s", k, got[k], want[k])
					}
				}
			})
		}
	}
}
