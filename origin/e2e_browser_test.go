package origin_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/origin/player"
	"github.com/lockstream/lockstream/origin/player/browsertest"
	"github.com/lockstream/lockstream/policy"
)

// The browser tests play the origin's streams through its own player page
// (/player) in headless Chromium, with the player libraries the page embeds,
// and with key delivery answering real key and license requests.

// playCase is one stream played through the player page.
type playCase struct {
	name string
	// format is the manifest's format option; empty means Smooth Streaming.
	format string
	// player is the page's player parameter; empty means the page's choice.
	player string
	// wantPlayer is the start of the player name the page reports.
	wantPlayer string
}

// clearPlayCases covers every manifest format with the player that the
// page uses for it, and dash.js for the CMAF MPD.
var clearPlayCases = []playCase{
	{"hlsjs/hls-ts", "m3u8-aapl", "", "hls.js"},
	{"hlsjs/hls-cmaf", "m3u8-cmaf", "", "hls.js"},
	{"shaka/mpd-time-csf", "mpd-time-csf", "", "Shaka Player"},
	{"dashjs/mpd-time-cmaf", "mpd-time-cmaf", "dashjs", "dash.js"},
	{"dashjs/smooth", "", "", "dash.js"},
}

// encryptedPlayCases are the streams of a Predefined_ClearKey locator:
// AES-128 for HLS, CENC with ClearKey for DASH and Smooth Streaming.
var encryptedPlayCases = []playCase{
	{"hlsjs/hls-ts-aes128", "m3u8-aapl", "", "hls.js"},
	{"hlsjs/hls-cmaf-aes128", "m3u8-cmaf", "", "hls.js"},
	{"shaka/mpd-time-csf-cenc", "mpd-time-csf", "", "Shaka Player"},
	{"dashjs/mpd-time-cmaf-cenc", "mpd-time-cmaf", "dashjs", "dash.js"},
	{"dashjs/smooth-cenc", "", "", "dash.js"},
}

// playCasesNamed returns the cases with the given names, in that order.
func playCasesNamed(t *testing.T, cases []playCase, names ...string) []playCase {
	t.Helper()

	var picked []playCase
	for _, name := range names {
		i := slices.IndexFunc(cases, func(c playCase) bool { return c.name == name })
		if i < 0 {
			t.Fatalf("no play case named %q", name)
		}
		picked = append(picked, cases[i])
	}
	return picked
}

// streamURL returns the manifest URL of the sample asset in the case's
// format.
func (c playCase) streamURL(base, locator string) string {
	if c.format == "" {
		return base + "/" + locator + "/sample.ism/manifest"
	}
	return manifestURL(base, locator, c.format)
}

// playerPageURL returns the URL of the player page served by pageBase for
// the manifest, with the token the page sends on key and license requests.
func playerPageURL(pageBase, manifest, playerName, token string) string {
	q := url.Values{"url": {manifest}}
	if playerName != "" {
		q.Set("player", playerName)
	}
	if token != "" {
		q.Set("token", token)
	}
	return pageBase + "/player/?" + q.Encode()
}

// browserOptions returns the session options of the browser tests: audio
// must be decoded too, and the token never shows in diagnostics.
func browserOptions(token string) browsertest.Options {
	opts := browsertest.Options{RequireAudio: true}
	if token != "" {
		opts.Secrets = []string{token}
	}
	return opts
}

// accessLine is one request line of the origin's access log.
type accessLine struct {
	method string
	path   string
	status int
}

var accessLinePattern = regexp.MustCompile(`msg=request .*?method=(\S+) path=("(?:[^"\\]|\\.)*"|\S+) status=(\d+)`)

// keyRequests returns the access log lines of /keys/ requests in logs.
func keyRequests(logs string) []accessLine {
	var lines []accessLine
	for _, m := range accessLinePattern.FindAllStringSubmatch(logs, -1) {
		path := m[2]
		if unquoted, err := strconv.Unquote(path); err == nil {
			path = unquoted
		}
		if !strings.HasPrefix(path, "/keys/") {
			continue
		}
		status, _ := strconv.Atoi(m[3])
		lines = append(lines, accessLine{method: m[1], path: path, status: status})
	}
	return lines
}

// logsSince returns what the origin logged after mark, a length of o.Logs
// taken earlier.
func (o *testOrigin) logsSince(mark int) string {
	logs := o.Logs.String()
	if mark > len(logs) {
		return ""
	}
	return logs[mark:]
}

// playAndCheck plays the page in a new browser and requires that playback
// passed five seconds with growing video frames and decoded audio, without
// a player error. It returns the result of the wait for playback.
func playAndCheck(t *testing.T, pageURL, wantPlayer string, opts browsertest.Options) browsertest.Result {
	t.Helper()

	s, err := browsertest.Open(t.Context(), t, pageURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	res, err := s.WaitPlaying()
	saveBrowserScreenshot(t, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s played %.2f s in %s: %d frames, %d audio bytes, rendition %+v",
		res.Player, res.CurrentTime, res.Elapsed.Round(100*time.Millisecond), res.Frames, res.AudioBytes, res.Rendition)

	if !res.Played {
		t.Fatalf("stream did not play: %s", res.Summary())
	}
	if !strings.HasPrefix(res.Player, wantPlayer) {
		t.Errorf("player = %q, want %s", res.Player, wantPlayer)
	}
	if res.State != "playing" {
		t.Errorf("state = %q, want %q", res.State, "playing")
	}
	if res.Error != "" {
		t.Errorf("player error %q (%s), want none", res.Error, res.ErrorCode)
	}
	if res.CurrentTime <= 5 {
		t.Errorf("currentTime = %.2f s, want more than 5 s", res.CurrentTime)
	}
	if res.AudioBytes <= 0 {
		t.Errorf("webkitAudioDecodedByteCount = %d, want more than 0", res.AudioBytes)
	}
	if res.VideoHeight == 0 {
		t.Error("videoHeight = 0, want the picture height")
	}
	requireFramesGrow(t, s, res.Frames)
	return res
}

// requireFramesGrow polls the page for up to five seconds until the count
// of decoded video frames passes before.
func requireFramesGrow(t *testing.T, s *browsertest.Session, before int) {
	t.Helper()

	deadline := time.Now().Add(5 * time.Second)
	var st browsertest.Status
	for time.Now().Before(deadline) {
		var err error
		st, err = s.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Frames > before {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("totalVideoFrames stayed at %d for 5 s (now %d, state %q, currentTime %.2f)", before, st.Frames, st.State, st.CurrentTime)
}

func saveBrowserScreenshot(t *testing.T, res browsertest.Result) {
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

// requireKeyGranted checks that the access log has a /keys/ request that
// returned 200 and none that returned an error status.
func requireKeyGranted(t *testing.T, logs string) {
	t.Helper()

	granted := false
	for _, l := range keyRequests(logs) {
		switch {
		case l.status == http.StatusOK:
			granted = true
		case l.status >= 400:
			t.Errorf("%s %s returned %d, want 200", l.method, l.path, l.status)
		}
	}
	if !granted {
		t.Errorf("the access log has no /keys/ request that returned 200:\n%s", truncate([]byte(logs), 2000))
	}
}

func TestBrowserPlaysClearStreams(t *testing.T) {
	browsertest.Find(t)
	o := startOrigin(t, sampleMedia(t))
	locator := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")

	for _, c := range clearPlayCases {
		t.Run(c.name, func(t *testing.T) {
			mark := len(o.Logs.String())
			page := playerPageURL(o.URL, c.streamURL(o.URL, locator), c.player, "")
			res := playAndCheck(t, page, c.wantPlayer, browserOptions(""))

			if res.KeyStatus != 0 {
				t.Errorf("keyStatus = %d, want 0 for a clear stream", res.KeyStatus)
			}
			if got := keyRequests(o.logsSince(mark)); len(got) > 0 {
				t.Errorf("a clear stream made key requests: %+v", got)
			}
		})
	}
}

func TestBrowserPlaysEncryptedStreams(t *testing.T) {
	browsertest.Find(t)
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")

	for _, c := range encryptedPlayCases {
		t.Run(c.name, func(t *testing.T) {
			mark := len(o.Logs.String())
			page := playerPageURL(o.URL, c.streamURL(o.URL, enc.ID), c.player, enc.Token)
			res := playAndCheck(t, page, c.wantPlayer, browserOptions(enc.Token))

			if res.KeyStatus != http.StatusOK {
				t.Errorf("keyStatus = %d, want 200", res.KeyStatus)
			}
			requireKeyGranted(t, o.logsSince(mark))
		})
	}
}

// TestBrowserPlaysFromAnotherOrigin serves the player page from a second
// server, so every manifest, segment, key and license request is
// cross-origin: the key requests carry an Authorization header, which
// needs a preflight and CORS headers on key delivery's answers.
func TestBrowserPlaysFromAnotherOrigin(t *testing.T) {
	browsertest.Find(t)
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")

	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player", player.Handler()))
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)

	streams := playCasesNamed(t, encryptedPlayCases, "hlsjs/hls-ts-aes128", "shaka/mpd-time-csf-cenc", "dashjs/mpd-time-cmaf-cenc")
	for _, c := range streams {
		t.Run(c.name, func(t *testing.T) {
			mark := len(o.Logs.String())
			page := playerPageURL(pages.URL, c.streamURL(o.URL, enc.ID), c.player, enc.Token)
			res := playAndCheck(t, page, c.wantPlayer, browserOptions(enc.Token))

			if res.KeyStatus != http.StatusOK {
				t.Errorf("keyStatus = %d, want 200", res.KeyStatus)
			}
			logs := o.logsSince(mark)
			requireKeyGranted(t, logs)

			preflight := false
			for _, l := range keyRequests(logs) {
				if l.method == http.MethodOptions && l.status == http.StatusNoContent {
					preflight = true
				}
			}
			if !preflight {
				t.Errorf("the access log has no preflight (OPTIONS /keys/... 204) for the cross-origin key request")
			}
		})
	}
}

// TestBrowserRejectsMissingOrWrongToken plays encrypted streams without a
// token and with a token signed by another secret: the page must report a
// rejected key, and key delivery must have returned 401.
func TestBrowserRejectsMissingOrWrongToken(t *testing.T) {
	browsertest.Find(t)
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")

	forged := *enc.Policy
	forged.Options = append([]policy.ContentKeyPolicyOption(nil), enc.Policy.Options...)
	otherKey := *forged.Options[0].Restriction.PrimaryVerificationKey
	otherKey.KeyValue = "YW5vdGhlci1zZWNyZXQtbm90LWtub3duLXRvLXRoZS1vcmlnaW4=" // public test value
	forged.Options[0].Restriction.PrimaryVerificationKey = &otherKey
	wrongToken, err := policy.MintTestToken(&forged, enc.Key.ID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	streams := playCasesNamed(t, encryptedPlayCases, "hlsjs/hls-ts-aes128", "shaka/mpd-time-csf-cenc")
	tokens := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"wrong token", wrongToken},
	}
	for _, c := range streams {
		for _, tok := range tokens {
			t.Run(c.name+"/"+tok.name, func(t *testing.T) {
				mark := len(o.Logs.String())
				page := playerPageURL(o.URL, c.streamURL(o.URL, enc.ID), c.player, tok.token)
				opts := browserOptions(tok.token)
				opts.Secrets = append(opts.Secrets, enc.Token)

				res, err := browsertest.Play(t.Context(), t, page, opts)
				saveBrowserScreenshot(t, res)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s stopped after %s in state %q: %q", res.Player, res.Elapsed.Round(100*time.Millisecond), res.State, res.Error)

				if res.Played || res.State != "error" {
					t.Fatalf("state = %q, played = %v, want a key error: %s", res.State, res.Played, res.Summary())
				}
				if res.ErrorCode != "key_denied" {
					t.Errorf("errorCode = %q, want %q: %s", res.ErrorCode, "key_denied", res.Summary())
				}
				if res.KeyStatus != http.StatusUnauthorized {
					t.Errorf("keyStatus = %d, want 401", res.KeyStatus)
				}

				logs := o.logsSince(mark)
				rejected := 0
				for _, l := range keyRequests(logs) {
					switch {
					case l.method == http.MethodOptions:
					case l.status == http.StatusUnauthorized:
						rejected++
					default:
						t.Errorf("%s %s returned %d, want 401", l.method, l.path, l.status)
					}
				}
				if rejected == 0 {
					t.Errorf("the access log has no /keys/ request that returned 401:\n%s", truncate([]byte(logs), 2000))
				}
			})
		}
	}
}

// TestBrowserSwitchesAndPlaysToEnd forces the lowest rendition, seeks to
// two seconds before the end and waits for the ended event.
func TestBrowserSwitchesAndPlaysToEnd(t *testing.T) {
	browsertest.Find(t)
	o := startOrigin(t, sampleMedia(t))
	locator := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")

	for _, c := range playCasesNamed(t, clearPlayCases, "hlsjs/hls-cmaf", "shaka/mpd-time-csf") {
		t.Run(c.name, func(t *testing.T) {
			page := playerPageURL(o.URL, c.streamURL(o.URL, locator), c.player, "")
			s, err := browsertest.Open(t.Context(), t, page, browsertest.Options{MinTime: 1})
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
			if got := len(res.Renditions); got != len(sampleVideos) {
				t.Fatalf("renditions = %d (%+v), want %d", got, res.Renditions, len(sampleVideos))
			}

			// On loopback the players settle on the top rendition, so
			// the lowest one is a real switch.
			res, err = s.SwitchRendition(0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rendition == nil || res.Rendition.Height != 234 {
				t.Errorf("rendition after the switch = %+v, want height 234", res.Rendition)
			}
			if res.VideoHeight != 234 {
				t.Errorf("videoHeight after the switch = %d, want 234", res.VideoHeight)
			}

			res, err = s.PlayToEnd()
			saveBrowserScreenshot(t, res)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Ended || res.State != "ended" {
				t.Errorf("ended = %v, state = %q, want true, %q: %s", res.Ended, res.State, "ended", res.Summary())
			}
			if res.Error != "" {
				t.Errorf("player error %q (%s), want none", res.Error, res.ErrorCode)
			}
		})
	}
}
