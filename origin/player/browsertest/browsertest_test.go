package browsertest_test

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lockstream/lockstream/origin/player"
	"github.com/lockstream/lockstream/origin/player/browsertest"
)

// The key and token are test values, public on purpose.
var (
	testKey   = []byte("0123456789abcdef")
	testToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
)

const sampleDir = "../../../testdata/media/sample"

// findFFmpeg returns the ffmpeg path, skipping the test without it unless
// CI=true.
func findFFmpeg(t *testing.T) string {
	t.Helper()

	p, err := exec.LookPath("ffmpeg")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("ffmpeg not found: %v; install it with `apt-get install ffmpeg`", err)
	}
	t.Skipf("ffmpeg not found: %v; install it with `apt-get install ffmpeg`", err)
	return ""
}

func runFFmpeg(t *testing.T, dir string, args ...string) {
	t.Helper()

	cmd := exec.Command(findFFmpeg(t), append([]string{"-hide_banner", "-v", "error", "-y"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func sample(t *testing.T, name string) string {
	t.Helper()

	p, err := filepath.Abs(filepath.Join(sampleDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// makeHLSTS writes three muxed video+audio MPEG-TS variants and master.m3u8.
// keyInfo, when not empty, is the path of an ffmpeg -hls_key_info_file.
func makeHLSTS(t *testing.T, dir, keyInfo string) {
	t.Helper()

	args := []string{
		"-i", sample(t, "video_416x234_200k.mp4"),
		"-i", sample(t, "video_640x360_400k.mp4"),
		"-i", sample(t, "video_854x480_700k.mp4"),
		"-i", sample(t, "audio_eng_96k.mp4"),
		"-map", "0:v", "-map", "3:a", "-map", "1:v", "-map", "3:a", "-map", "2:v", "-map", "3:a",
		"-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
		"-var_stream_map", "v:0,a:0 v:1,a:1 v:2,a:2",
		"-master_pl_name", "master.m3u8",
		"-hls_segment_filename", "ts_%v_%03d.ts",
	}
	if keyInfo != "" {
		args = append(args, "-hls_key_info_file", keyInfo)
	}
	runFFmpeg(t, dir, append(args, "ts_%v.m3u8")...)
}

// makeHLSFMP4 writes three fMP4 video variants, one audio rendition and a
// master playlist that lists only the video variants, so that no player
// starts on an audio-only variant.
func makeHLSFMP4(t *testing.T, dir string) {
	t.Helper()

	runFFmpeg(t, dir,
		"-i", sample(t, "video_416x234_200k.mp4"),
		"-i", sample(t, "video_640x360_400k.mp4"),
		"-i", sample(t, "video_854x480_700k.mp4"),
		"-i", sample(t, "audio_eng_96k.mp4"),
		"-map", "0:v", "-map", "1:v", "-map", "2:v", "-map", "3:a",
		"-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-var_stream_map", "v:0 v:1 v:2 a:0",
		"-hls_segment_filename", "fmp4_%v_%03d.m4s",
		"fmp4_%v.m3u8",
	)

	master := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="fmp4_3.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=330000,RESOLUTION=416x234,AUDIO="aud"
fmp4_0.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=550000,RESOLUTION=640x360,AUDIO="aud"
fmp4_1.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=880000,RESOLUTION=854x480,AUDIO="aud"
fmp4_2.m3u8
`
	if err := os.WriteFile(filepath.Join(dir, "fmp4.m3u8"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeDASH writes a static MPD with three video representations and one
// audio representation, SegmentTemplate with SegmentTimeline.
func makeDASH(t *testing.T, dir string) {
	t.Helper()

	runFFmpeg(t, dir,
		"-i", sample(t, "video_416x234_200k.mp4"),
		"-i", sample(t, "video_640x360_400k.mp4"),
		"-i", sample(t, "video_854x480_700k.mp4"),
		"-i", sample(t, "audio_eng_96k.mp4"),
		"-map", "0:v", "-map", "1:v", "-map", "2:v", "-map", "3:a",
		// 854x480 is not exactly 16:9; the DASH muxer rejects mixed aspect
		// ratios in one adaptation set unless told the display ratio.
		"-c", "copy", "-aspect:v", "16:9", "-f", "dash", "-seg_duration", "2",
		"-use_template", "1", "-use_timeline", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a",
		"stream.mpd",
	)
}

// makeSmooth writes a Smooth Streaming presentation with ffmpeg's
// smoothstreaming muxer into dir/sample.ism: a Manifest file and one file per
// fragment, which a static file server can serve.
func makeSmooth(t *testing.T, dir string) {
	t.Helper()

	runFFmpeg(t, dir,
		"-i", sample(t, "video_416x234_200k.mp4"),
		"-i", sample(t, "video_640x360_400k.mp4"),
		"-i", sample(t, "video_854x480_700k.mp4"),
		"-i", sample(t, "audio_eng_96k.mp4"),
		"-map", "0:v", "-map", "1:v", "-map", "2:v", "-map", "3:a",
		"-c", "copy", "-f", "smoothstreaming", "-min_frag_duration", "2000000",
		"sample.ism",
	)
	fixSmoothStart(t, filepath.Join(dir, "sample.ism"))
}

// fixSmoothStart adds t= to the first <c> of each stream. ffmpeg 5.1 leaves
// it out although the fragments start after zero (the edit lists of the
// sample shift them), and players then request a fragment at time 0 that
// does not exist.
func fixSmoothStart(t *testing.T, ism string) {
	t.Helper()

	manifestPath := filepath.Join(ism, "Manifest")
	manifest, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	fragments, err := filepath.Glob(filepath.Join(ism, "QualityLevels(*)", "Fragments(*)"))
	if err != nil {
		t.Fatal(err)
	}

	first := map[string]int64{} // stream type -> earliest fragment start
	for _, f := range fragments {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Fragments("), ")")
		kind, startText, ok := strings.Cut(name, "=")
		if !ok {
			t.Fatalf("unexpected fragment name %q", f)
		}
		start, err := strconv.ParseInt(startText, 10, 64)
		if err != nil {
			t.Fatalf("fragment start of %q: %v", f, err)
		}
		if cur, ok := first[kind]; !ok || start < cur {
			first[kind] = start
		}
	}

	text := string(manifest)
	for kind, start := range first {
		marker := `Url="QualityLevels({bitrate})/Fragments(` + kind + `={start time})">`
		i := strings.Index(text, marker)
		if i < 0 {
			t.Fatalf("manifest has no %s stream", kind)
		}
		j := i + strings.Index(text[i:], `<c n="0"`)
		text = text[:j] + fmt.Sprintf(`<c n="0" t="%d"`, start) + text[j+len(`<c n="0"`):]
	}
	if err := os.WriteFile(manifestPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// keyServer answers HLS key requests like the origin's key delivery: 401
// without a bearer token, 403 with a wrong one, the key bytes otherwise.
type keyServer struct {
	granted atomic.Int32
}

func (k *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")

	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		http.Error(w, "missing bearer token", http.StatusUnauthorized)
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(testToken)) != 1 {
		http.Error(w, "token does not grant this key", http.StatusForbidden)
		return
	}

	k.granted.Add(1)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(testKey)
}

type testServer struct {
	URL  string
	keys *keyServer
}

// startServer makes every test stream once per test and serves them with
// the player page and the key endpoint on one loopback server.
func startServer(t *testing.T) *testServer {
	t.Helper()

	media := t.TempDir()
	makeHLSTS(t, media, "")
	makeHLSFMP4(t, media)
	makeDASH(t, media)
	makeSmooth(t, media)

	encrypted := filepath.Join(media, "aes")
	if err := os.Mkdir(encrypted, 0o755); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.bin")
	keyInfo := filepath.Join(t.TempDir(), "key.info")
	if err := os.WriteFile(keyFile, testKey, 0o600); err != nil {
		t.Fatal(err)
	}
	// Key info file: key URI, key file, and no IV line, so ffmpeg uses the
	// media sequence number as the IV (RFC 8216 section 5.2).
	if err := os.WriteFile(keyInfo, []byte("/key\n"+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	makeHLSTS(t, encrypted, keyInfo)

	keys := &keyServer{}
	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player", player.Handler()))
	mux.Handle("/media/", http.StripPrefix("/media/", http.FileServer(http.Dir(media))))
	mux.Handle("/key", keys)

	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL, keys: keys}
}

func (s *testServer) pageURL(manifest string, query url.Values) string {
	if query == nil {
		query = url.Values{}
	}
	query.Set("url", s.URL+"/media/"+manifest)
	return s.URL + "/player/?" + query.Encode()
}

func saveScreenshot(t *testing.T, res browsertest.Result) {
	t.Helper()

	if len(res.Screenshot) == 0 {
		t.Log("no screenshot was captured")
		return
	}
	if !bytes.HasPrefix(res.Screenshot, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG: starts with %q", res.Screenshot[:min(8, len(res.Screenshot))])
	}
	t.Logf("screenshot: %s", browsertest.SaveArtifact(t, "screenshot.png", res.Screenshot))
}

func TestPlayers(t *testing.T) {
	browsertest.Find(t)
	srv := startServer(t)

	tests := []struct {
		name       string
		manifest   string
		query      url.Values
		wantPlayer string
	}{
		{"hlsjs/ts", "master.m3u8", nil, "hls.js 1.7.4"},
		{"hlsjs/fmp4", "fmp4.m3u8", nil, "hls.js 1.7.4"},
		{"shaka/dash", "stream.mpd", nil, "Shaka Player v5.2.12"},
		{"dashjs/dash", "stream.mpd", url.Values{"player": {"dashjs"}}, "dash.js 5.2.1"},
		{"dashjs/smooth", "sample.ism/Manifest", nil, "dash.js 5.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := browsertest.Play(t.Context(), t, srv.pageURL(tc.manifest, tc.query),
				browsertest.Options{RequireAudio: true})
			saveScreenshot(t, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("played %.2f s in %s: %d frames, rendition %+v", res.CurrentTime, res.Elapsed.Round(100_000_000), res.Frames, res.Rendition)

			if !res.Played {
				t.Fatalf("stream did not play: %s", res.Summary())
			}
			if res.Player != tc.wantPlayer {
				t.Errorf("player = %q, want %q", res.Player, tc.wantPlayer)
			}
			if res.State != "playing" {
				t.Errorf("state = %q, want %q", res.State, "playing")
			}
			if res.Error != "" {
				t.Errorf("error = %q, want none", res.Error)
			}
			if got := len(res.Renditions); got != 3 {
				t.Errorf("renditions = %d (%+v), want 3", got, res.Renditions)
			}
			if res.Rendition == nil || res.Rendition.Height == 0 {
				t.Errorf("rendition = %+v, want a video rendition", res.Rendition)
			}
			if res.VideoHeight == 0 {
				t.Errorf("videoHeight = 0, want the picture height")
			}
		})
	}
}

func TestHLSKeyToken(t *testing.T) {
	browsertest.Find(t)
	srv := startServer(t)

	tests := []struct {
		name          string
		query         url.Values
		wantPlayed    bool
		wantKeyStatus int
		wantErrorCode string
		wantError     string
	}{
		{"right token", url.Values{"token": {testToken}}, true, 200, "", ""},
		{"hosted service aestoken", url.Values{"aestoken": {"Bearer=" + testToken}}, true, 200, "", ""},
		{"no token", nil, false, 401, "key_denied", "The key server requires a valid token (HTTP 401)."},
		{"wrong token", url.Values{"token": {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3cm9uZyJ9.d3Jvbmc"}}, false, 403, "key_denied", "The key server refused the token (HTTP 403)."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			granted := srv.keys.granted.Load()
			res, err := browsertest.Play(t.Context(), t, srv.pageURL("aes/master.m3u8", tc.query),
				browsertest.Options{RequireAudio: true, Secrets: []string{testToken}})
			saveScreenshot(t, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ended after %s in state %q", res.Elapsed.Round(100_000_000), res.State)

			if res.Played != tc.wantPlayed {
				t.Fatalf("played = %v, want %v: %s", res.Played, tc.wantPlayed, res.Summary())
			}
			if res.KeyStatus != tc.wantKeyStatus {
				t.Errorf("keyStatus = %d, want %d", res.KeyStatus, tc.wantKeyStatus)
			}
			if res.ErrorCode != tc.wantErrorCode {
				t.Errorf("errorCode = %q, want %q", res.ErrorCode, tc.wantErrorCode)
			}
			if res.Error != tc.wantError {
				t.Errorf("error = %q, want %q", res.Error, tc.wantError)
			}
			if gotGranted := srv.keys.granted.Load() > granted; gotGranted != tc.wantPlayed {
				t.Errorf("key server granted a key = %v, want %v", gotGranted, tc.wantPlayed)
			}
			for _, line := range append(res.Console, res.NetworkFailures...) {
				if strings.Contains(line, testToken) {
					t.Errorf("diagnostics contain the token: %q", line)
				}
			}
		})
	}
}

func TestRenditionSwitchAndEnd(t *testing.T) {
	browsertest.Find(t)
	srv := startServer(t)

	tests := []struct {
		name     string
		manifest string
		query    url.Values
	}{
		{"hlsjs/fmp4", "fmp4.m3u8", nil},
		{"shaka/dash", "stream.mpd", nil},
		{"dashjs/dash", "stream.mpd", url.Values{"player": {"dashjs"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := browsertest.Open(t.Context(), t, srv.pageURL(tc.manifest, tc.query), browsertest.Options{MinTime: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			res, err := s.WaitPlaying()
			if err != nil {
				t.Fatal(err)
			}
			if !res.Played {
				t.Fatalf("stream did not play: %s", res.Summary())
			}

			// On loopback every player settles on the top rendition, so the
			// lowest one is a real switch.
			res, err = s.SwitchRendition(0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rendition == nil || res.Rendition.Height != 234 {
				t.Errorf("rendition after switch = %+v, want height 234", res.Rendition)
			}
			if res.VideoHeight != 234 {
				t.Errorf("videoHeight after switch = %d, want 234", res.VideoHeight)
			}

			res, err = s.PlayToEnd()
			saveScreenshot(t, res)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Ended || res.State != "ended" {
				t.Errorf("ended = %v, state = %q, want true, %q: %s", res.Ended, res.State, "ended", res.Summary())
			}
		})
	}
}

func TestPageFormatDetection(t *testing.T) {
	browsertest.Find(t)

	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player", player.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// The manifests do not exist: the page picks its player before loading.
	tests := []struct {
		manifest   string
		query      url.Values
		wantFormat string
		wantPlayer string
	}{
		{"/l/a.ism/manifest(format=m3u8-aapl)", nil, "hls", "hls.js"},
		{"/l/a.ism/manifest(format=m3u8-cmaf,encryption=cbc).m3u8", nil, "hls", "hls.js"},
		{"/l/a.ism/manifest(format=mpd-time-csf)", nil, "dash", "Shaka Player"},
		{"/l/a.ism/manifest(format=mpd-time-cmaf).mpd", url.Values{"player": {"dashjs"}}, "dash", "dash.js"},
		{"/l/a.ism/manifest", nil, "smooth", "dash.js"},
		{"/l/a.ism/Manifest", nil, "smooth", "dash.js"},
		{"/l/a.ism/manifest(encryption=cenc)", nil, "smooth", "dash.js"},
		{"/media/x.m3u8", nil, "hls", "hls.js"},
		{"/media/x.mpd", nil, "dash", "Shaka Player"},
		{"/media/x", url.Values{"format": {"dash"}}, "dash", "Shaka Player"},
	}

	s, err := browsertest.Open(t.Context(), t, srv.URL+"/player/", browsertest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.manifest, func(t *testing.T) {
			q := url.Values{}
			for k, v := range tc.query {
				q[k] = v
			}
			q.Set("url", srv.URL+tc.manifest)
			if err := s.Navigate(srv.URL + "/player/?" + q.Encode()); err != nil {
				t.Fatal(err)
			}

			var st browsertest.Status
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				if st, err = s.Status(); err == nil && st.Player != "" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st.Format != tc.wantFormat {
				t.Errorf("format = %q, want %q", st.Format, tc.wantFormat)
			}
			if !strings.HasPrefix(st.Player, tc.wantPlayer) {
				t.Errorf("player = %q, want %s", st.Player, tc.wantPlayer)
			}
		})
	}
}

func TestPageHidesToken(t *testing.T) {
	browsertest.Find(t)
	srv := startServer(t)

	s, err := browsertest.Open(t.Context(), t, srv.pageURL("aes/master.m3u8", url.Values{"aestoken": {"Bearer=" + testToken}}),
		browsertest.Options{MinTime: 1, Secrets: []string{testToken}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.WaitPlaying()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Played {
		t.Fatalf("stream did not play: %s", res.Summary())
	}

	for _, expr := range []string{`document.documentElement.outerHTML`, `document.body.innerText`, `location.href`} {
		got, err := chromedp.Run(s.Context(), chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		if strings.Contains(got, testToken) {
			t.Errorf("%s contains the token", expr)
		}
	}
	for _, line := range res.Console {
		if strings.Contains(line, testToken) {
			t.Errorf("console contains the token: %q", line)
		}
	}
}
