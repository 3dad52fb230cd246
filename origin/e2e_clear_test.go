package origin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/lockstream/lockstream/policy"
)

// sampleVideos lists the sample asset's video files and their track names
// in the presentation the .ism defines, in bitrate order.
var sampleVideos = []string{
	"video_416x234_200k.mp4",
	"video_640x360_400k.mp4",
	"video_854x480_700k.mp4",
}

// sampleDuration is the sample asset's duration in seconds.
const sampleDuration = 12.0

// manifestFormats lists every manifest format ffmpeg can read, with the
// longest segment duration its plan allows, for the duration check.
var manifestFormats = []struct {
	format  string
	segment float64
}{
	{"m3u8-aapl", 6},
	{"m3u8-aapl-v3", 6},
	{"m3u8-cmaf", 6},
	{"mpd-time-csf", 2},
	{"mpd-time-cmaf", 2},
}

func manifestURL(base, locator, format string) string {
	return fmt.Sprintf("%s/%s/sample.ism/manifest(format=%s)", base, locator, format)
}

// TestFFprobeReadsEveryFormat checks that ffprobe finds every rendition
// and the full duration in each manifest format.
func TestFFprobeReadsEveryFormat(t *testing.T) {
	_, ffprobe := needFFmpeg(t)
	o := startOrigin(t, sampleMedia(t))
	locator := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")

	for _, f := range manifestFormats {
		t.Run(f.format, func(t *testing.T) {
			out, stderr, err := runTool(t, time.Minute, ffprobe, "-v", "error", "-of", "json",
				"-show_format", "-show_streams", manifestURL(o.URL, locator, f.format))
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, stderr)
			}
			var probe struct {
				Streams []struct {
					CodecType string `json:"codec_type"`
					Width     int    `json:"width"`
					Height    int    `json:"height"`
				} `json:"streams"`
				Format struct {
					Duration string `json:"duration"`
				} `json:"format"`
			}
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatalf("ffprobe output: %v", err)
			}

			heights := map[int]bool{}
			audio := 0
			for _, s := range probe.Streams {
				switch s.CodecType {
				case "video":
					heights[s.Height] = true
				case "audio":
					audio++
				}
			}
			for _, h := range []int{234, 360, 480} {
				if !heights[h] {
					t.Errorf("no video stream of height %d; streams %+v", h, probe.Streams)
				}
			}
			if audio == 0 {
				t.Errorf("no audio stream; streams %+v", probe.Streams)
			}

			duration, err := strconv.ParseFloat(probe.Format.Duration, 64)
			if err != nil {
				t.Fatalf("duration %q: %v", probe.Format.Duration, err)
			}
			if math.Abs(duration-sampleDuration) > f.segment {
				t.Errorf("duration = %.3f s, want %.1f s within one segment (%.0f s)", duration, sampleDuration, f.segment)
			}
		})
	}
}

// TestFFmpegDecodesEveryFormat decodes every stream of every format and
// requires a clean run.
func TestFFmpegDecodesEveryFormat(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	o := startOrigin(t, sampleMedia(t))
	locator := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")

	for _, f := range manifestFormats {
		t.Run(f.format, func(t *testing.T) {
			_, stderr, err := runTool(t, 3*time.Minute, ffmpeg, "-v", "error", "-nostdin",
				"-i", manifestURL(o.URL, locator, f.format), "-map", "0", "-f", "null", "-")
			if err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr)
			}
			if len(stderr) > 0 {
				t.Errorf("ffmpeg reported errors:\n%s", stderr)
			}
		})
	}
}

// TestDecodedFramesEqualSource compares the decoded pictures of every
// video rendition, in HLS TS, HLS fMP4 and DASH, with the source file's.
func TestDecodedFramesEqualSource(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	media := sampleMedia(t)
	o := startOrigin(t, media)
	locator := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")
	tracks := sampleVideoTracks(t, o, locator)

	for i, file := range sampleVideos {
		want := frameHashes(t, ffmpeg, "-i", filepath.Join(media, "sample", file), "-map", "0:v")
		if len(want) == 0 {
			t.Fatalf("%s: no frames decoded from the source", file)
		}
		base := fmt.Sprintf("%s/%s/sample.ism/", o.URL, locator)
		outputs := map[string][]string{
			"hls-ts":   {"-i", base + "hls-ts/clear/" + tracks[i] + ".m3u8"},
			"hls-cmaf": {"-i", base + "hls-cmaf/clear/" + tracks[i] + ".m3u8"},
			"dash":     {"-i", manifestURL(o.URL, locator, "mpd-time-csf"), "-map", fmt.Sprintf("0:v:%d", i)},
		}
		for name, args := range outputs {
			t.Run(file+"/"+name, func(t *testing.T) {
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

// sampleVideoTracks returns the track names of the sample's video
// renditions in bitrate order, read from the HLS multivariant playlist.
func sampleVideoTracks(t *testing.T, o *testOrigin, locator string) []string {
	t.Helper()
	body := get(t, manifestURL(o.URL, locator, "m3u8-aapl"), nil)
	playlist, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MASTER {
		t.Fatalf("multivariant playlist: kind %v, err %v\n%s", kind, err, body)
	}
	variants := playlist.(*m3u8.MasterPlaylist).Variants
	sort.SliceStable(variants, func(i, j int) bool { return variants[i].Bandwidth < variants[j].Bandwidth })

	var names []string
	for _, v := range variants {
		names = append(names, strings.TrimSuffix(path.Base(v.URI), ".m3u8"))
	}
	if len(names) != len(sampleVideos) {
		t.Fatalf("multivariant playlist has %d variants, want %d:\n%s", len(names), len(sampleVideos), body)
	}
	return names
}
