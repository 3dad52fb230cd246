package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// runJSON runs the tool with -json and returns the decoded report, the
// exit code and stderr.
func runJSON(t *testing.T, args ...string) (*report, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"-json"}, args...), &stdout, &stderr)
	if stdout.Len() == 0 {
		return nil, code, stderr.String()
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, stdout.String())
	}
	return &rep, code, stderr.String()
}

func TestRunHLSWalksSelectedRendition(t *testing.T) {
	origin := newFakeOrigin(t)
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "1", "-n", "10", "-token", testToken)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}

	// One client: multivariant, media playlist, key once, init once, then
	// the four segments and around again.
	want := []string{
		"/hls/master.m3u8", "/hls/high.m3u8", "/keys/hls/" + testKID, "/hls/high/init.mp4",
		"/hls/high/1.m4s", "/hls/high/2.m4s", "/hls/high/3.m4s", "/hls/high/4.m4s",
		"/hls/high/1.m4s", "/hls/high/2.m4s",
	}
	if got := origin.requestedPaths(); !slices.Equal(got, want) {
		t.Errorf("requested paths:\ngot  %q\nwant %q", got, want)
	}
	if got, want := rep.Requests, int64(10); got != want {
		t.Errorf("requests = %d, want %d", got, want)
	}
	if got, want := rep.Segments, int64(6); got != want {
		t.Errorf("segments = %d, want %d", got, want)
	}
	if got, want := rep.Bytes, origin.bytesSent.Load(); got != want {
		t.Errorf("bytes = %d, want %d (what the server wrote)", got, want)
	}
	wantSegmentBytes := int64(initSize + 16)
	for _, n := range []int{1, 2, 3, 4, 1, 2} {
		wantSegmentBytes += int64(segmentSize("high", n))
	}
	if got := rep.Bytes - int64(len(fakeMultivariant)) - int64(len(fakeMediaPlaylist("high"))); got != wantSegmentBytes {
		t.Errorf("bytes after the playlists = %d, want %d", got, wantSegmentBytes)
	}
	wantKinds := map[string]int64{"manifest": 1, "playlist": 1, "key": 1, "init": 1, "segment": 6}
	for kind, n := range wantKinds {
		if rep.RequestsByKind[kind] != n {
			t.Errorf("requestsByKind[%s] = %d, want %d", kind, rep.RequestsByKind[kind], n)
		}
	}
	if got := origin.keyAuthorizations(); !slices.Equal(got, []string{"Bearer " + testToken}) {
		t.Errorf("key request Authorization headers = %q, want one %q", got, "Bearer "+testToken)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors = %v, want none", rep.Errors)
	}
}

func TestRunDASHFetchesLicenseAndTimeline(t *testing.T) {
	origin := newFakeOrigin(t)
	t.Setenv(tokenEnv, testToken)
	rep, code, stderr := runJSON(t, "-url", origin.url("/dash/manifest.mpd"), "-c", "1", "-n", "7")
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}

	want := []string{
		"/dash/manifest.mpd", "/keys/clearkey", "/dash/high/init.mp4",
		"/dash/high/001.m4s", "/dash/high/002.m4s", "/dash/high/003.m4s", "/dash/high/004.m4s",
	}
	if got := origin.requestedPaths(); !slices.Equal(got, want) {
		t.Errorf("requested paths:\ngot  %q\nwant %q", got, want)
	}
	if got, want := rep.Bytes, origin.bytesSent.Load(); got != want {
		t.Errorf("bytes = %d, want %d (what the server wrote)", got, want)
	}
	if got := origin.keyAuthorizations(); !slices.Equal(got, []string{"Bearer " + testToken}) {
		t.Errorf("license request Authorization headers = %q, want the token from %s", got, tokenEnv)
	}
	wantBody := `{"kids":["` + testKIDB64 + `"],"type":"temporary"}`
	if got := origin.licenseBodies; !slices.Equal(got, []string{wantBody}) {
		t.Errorf("license request bodies = %q, want %q", got, wantBody)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors = %v, want none", rep.Errors)
	}
}

func TestRunRenditionSelection(t *testing.T) {
	tests := []struct {
		rendition string
		want      string
	}{
		{"highest", "high"},
		{"lowest", "low"},
		{"0", "low"},
		{"2", "mid"},
	}
	for _, manifest := range []string{"/hls/master.m3u8", "/dash/manifest.mpd"} {
		for _, tt := range tests {
			t.Run(manifest+"/"+tt.rendition, func(t *testing.T) {
				origin := newFakeOrigin(t)
				_, code, stderr := runJSON(t, "-url", origin.url(manifest), "-c", "1", "-n", "5", "-rendition", tt.rendition, "-token", testToken)
				if code != exitOK {
					t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
				}
				paths := origin.requestedPaths()
				last := paths[len(paths)-1]
				if !strings.Contains(last, "/"+tt.want+"/") {
					t.Errorf("last request %q is not of rendition %q (all: %q)", last, tt.want, paths)
				}
			})
		}
	}
}

func TestRunRenditionIndexOutOfRange(t *testing.T) {
	origin := newFakeOrigin(t)
	_, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "1", "-n", "5", "-rendition", "3")
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "-rendition 3 is out of range") {
		t.Errorf("stderr = %q, want the out-of-range rendition named", stderr)
	}
}

func TestRunStopsAtRequestBound(t *testing.T) {
	for _, manifest := range []string{"/hls/master.m3u8", "/dash/manifest.mpd"} {
		t.Run(manifest, func(t *testing.T) {
			origin := newFakeOrigin(t)
			rep, code, stderr := runJSON(t, "-url", origin.url(manifest), "-c", "8", "-n", "100", "-d", "30s", "-token", testToken)
			if code != exitOK {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
			}
			if got := len(origin.requestedPaths()); got != 100 {
				t.Errorf("server saw %d requests, want 100", got)
			}
			if rep.Requests != 100 {
				t.Errorf("report requests = %d, want 100", rep.Requests)
			}
			if got, want := rep.RequestsByKind["manifest"], int64(8); got != want {
				t.Errorf("manifest requests = %d, want %d (one per client)", got, want)
			}
			if got, want := rep.Bytes, origin.bytesSent.Load(); got != want {
				t.Errorf("bytes = %d, want %d (what the server wrote)", got, want)
			}
			if rep.ElapsedSeconds > 10 {
				t.Errorf("elapsed = %.1fs: the request bound did not end the run", rep.ElapsedSeconds)
			}
		})
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.segmentDelay = time.Millisecond
	start := time.Now()
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "4", "-d", "300ms", "-n", "1000000000")
	wall := time.Since(start)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if wall < 300*time.Millisecond || wall > 3*time.Second {
		t.Errorf("run took %v, want about 300ms", wall)
	}
	if rep.ElapsedSeconds < 0.3 || rep.ElapsedSeconds > 3 {
		t.Errorf("elapsed = %.2fs, want about 0.3s", rep.ElapsedSeconds)
	}
	if rep.Segments == 0 {
		t.Error("segments = 0, want some in 300ms")
	}
	// The key request has no token, so the server returns 401 once per client.
	if got, want := rep.Errors["401"], int64(4); got != want {
		t.Errorf("errors[401] = %d, want %d; errors %v", got, want, rep.Errors)
	}
}

func TestRunSegmentURLMode(t *testing.T) {
	origin := newFakeOrigin(t)
	rep, code, stderr := runJSON(t, "-segment-url", origin.url("/dash/high/3.m4s"), "-c", "4", "-n", "50")
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	paths := origin.requestedPaths()
	if len(paths) != 50 {
		t.Errorf("server saw %d requests, want 50", len(paths))
	}
	for _, p := range paths {
		if p != "/dash/high/3.m4s" {
			t.Fatalf("requested %q, want only /dash/high/3.m4s", p)
		}
	}
	if got, want := rep.Bytes, int64(50*segmentSize("high", 3)); got != want {
		t.Errorf("bytes = %d, want %d", got, want)
	}
	if rep.Segments != 50 || rep.SegmentLatency.Count != 50 {
		t.Errorf("segments = %d with %d latencies, want 50 and 50", rep.Segments, rep.SegmentLatency.Count)
	}
	if rep.Mode != "segment" {
		t.Errorf("mode = %q, want segment", rep.Mode)
	}
}

func TestRunCountsErrorsByStatus(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.failSegment = "/hls/high/2.m4s"
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "1", "-n", "12", "-token", testToken)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	// Segments 1 2 3 4 1 2 3 4: segment 2 is requested twice.
	if got := rep.Errors["404"]; got != 2 {
		t.Errorf("errors[404] = %d, want 2; errors %v", got, rep.Errors)
	}
	if got, want := rep.Segments, int64(6); got != want {
		t.Errorf("segments = %d, want %d (the 404s are not segments)", got, want)
	}
	if !strings.Contains(rep.FirstError, "/hls/high/2.m4s: HTTP 404") {
		t.Errorf("first error = %q, want the failing URL and status", rep.FirstError)
	}
}

func TestRunRetriesManifest(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.manifestFails = 2
	rep, code, stderr := runJSON(t, "-url", origin.url("/dash/manifest.mpd"), "-c", "1", "-n", "8", "-token", testToken)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if got := rep.Errors["503"]; got != 2 {
		t.Errorf("errors[503] = %d, want 2", got)
	}
	if got, want := rep.RequestsByKind["manifest"], int64(3); got != want {
		t.Errorf("manifest requests = %d, want %d", got, want)
	}
	if rep.Segments == 0 {
		t.Error("segments = 0, want the client to go on after the retries")
	}
}

func TestRunStopsOnManifestNotFound(t *testing.T) {
	origin := newFakeOrigin(t)
	start := time.Now()
	_, code, stderr := runJSON(t, "-url", origin.url("/missing.m3u8"), "-c", "4", "-d", "10s")
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "missing.m3u8: HTTP 404") {
		t.Errorf("stderr = %q, want the manifest URL and its status", stderr)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("run took %v: a 404 manifest should end it at once", elapsed)
	}
}

func TestRunWrongTokenCountsKeyError(t *testing.T) {
	origin := newFakeOrigin(t)
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "1", "-n", "6", "-token", "wrong")
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if got := rep.Errors["401"]; got != 1 {
		t.Errorf("errors[401] = %d, want 1; errors %v", got, rep.Errors)
	}
	if strings.Contains(stderr, "wrong") || strings.Contains(rep.FirstError, "wrong") {
		t.Errorf("the token appears in the output: stderr %q, first error %q", stderr, rep.FirstError)
	}
}

func TestRunFailsWithoutSegments(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.failSegment = "/hls/high/1.m4s"
	_, code, stderr := runJSON(t, "-segment-url", origin.url("/hls/high/1.m4s"), "-c", "2", "-n", "10")
	if code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "no segment was fetched") || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("stderr = %q, want 'no segment was fetched' and the first error", stderr)
	}
}

func TestRunRejectsForeignHost(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"segment", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttp://192.0.2.1/1.ts\n#EXT-X-ENDLIST\n"},
		{"key", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"http://192.0.2.1/key\"\n#EXTINF:4,\n1.ts\n#EXT-X-ENDLIST\n"},
		{"variant", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://192.0.2.1/v.m3u8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := serveBody(t, tt.body)
			var stdout, stderr bytes.Buffer
			code := run([]string{"-url", path, "-c", "2", "-n", "20"}, &stdout, &stderr)
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d", code, exitFailure)
			}
			if !strings.Contains(stderr.String(), `host "192.0.2.1" is neither the host of the given URL`) {
				t.Errorf("stderr = %q, want the rejected host named", stderr.String())
			}
		})
	}
}

func TestRunSamplesServerRSS(t *testing.T) {
	origin := newFakeOrigin(t)
	rep, code, stderr := runJSON(t, "-segment-url", origin.url("/dash/high/1.m4s"), "-c", "1", "-n", "5", "-pid", fmt.Sprint(os.Getpid()))
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	// The kernel updates VmHWM lazily, so it may trail a sampled VmRSS.
	if rep.PeakRSSBytes <= 0 || rep.VmHWMBytes <= 0 {
		t.Errorf("peak RSS = %d, VmHWM = %d: want both positive", rep.PeakRSSBytes, rep.VmHWMBytes)
	}
}

func TestRunMeasuresLatency(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.segmentDelay = 20 * time.Millisecond
	rep, code, stderr := runJSON(t, "-segment-url", origin.url("/dash/high/1.m4s"), "-c", "2", "-n", "20")
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if rep.SegmentLatency.P50 < 20 || rep.SegmentLatency.Max < rep.SegmentLatency.P99 {
		t.Errorf("segment latency %+v: want p50 at least the server's 20 ms delay and max >= p99", rep.SegmentLatency)
	}
}

func TestRunTextReport(t *testing.T) {
	origin := newFakeOrigin(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-url", origin.url("/hls/master.m3u8"), "-c", "1", "-n", "6", "-token", testToken}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, want := range []string{
		"requests     6,", "manifest 1, playlist 1, key 1, init 1, segment 2", "segments     2,",
		"MB/s", "p99", "errors       none",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestRunLoadPrintsProgress(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.segmentDelay = time.Millisecond
	cfg, err := parseArgs([]string{"-segment-url", origin.url("/dash/high/1.m4s"), "-c", "1", "-d", "250ms"}, &bytes.Buffer{}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.progressInterval = 50 * time.Millisecond
	var progress bytes.Buffer
	if _, err := runLoad(context.Background(), cfg, &progress); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(progress.String(), "\n")
	if lines < 2 || !strings.Contains(progress.String(), "MB/s") {
		t.Errorf("progress output has %d lines, want at least 2 with MB/s:\n%s", lines, progress.String())
	}
}

func TestRunListPrintsPlan(t *testing.T) {
	origin := newFakeOrigin(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-list", "-url", origin.url("/hls/master.m3u8"), "-rendition", "lowest"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	base := origin.url("/hls/low/")
	want := "key GET " + origin.url("/keys/hls/"+testKID) + "\n" +
		"init " + base + "init.mp4\n" +
		"segment " + base + "1.m4s\nsegment " + base + "2.m4s\nsegment " + base + "3.m4s\nsegment " + base + "4.m4s\n"
	if stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if got, want := origin.requestedPaths(), []string{"/hls/master.m3u8", "/hls/low.m3u8"}; !slices.Equal(got, want) {
		t.Errorf("requested paths = %q, want %q", got, want)
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no URL", nil, "missing -url"},
		{"both URLs", []string{"-url", "http://127.0.0.1/m", "-segment-url", "http://127.0.0.1/s"}, "exclude each other"},
		{"relative URL", []string{"-url", "/manifest.mpd"}, "want an absolute http://"},
		{"ftp URL", []string{"-url", "ftp://127.0.0.1/m"}, "want an absolute http://"},
		{"zero clients", []string{"-url", "http://127.0.0.1/m", "-c", "0"}, "invalid -c 0"},
		{"zero duration", []string{"-url", "http://127.0.0.1/m", "-d", "0s"}, "invalid -d 0s"},
		{"long duration", []string{"-url", "http://127.0.0.1/m", "-d", "2h"}, "invalid -d 2h0m0s"},
		{"zero requests", []string{"-url", "http://127.0.0.1/m", "-n", "0"}, "invalid -n 0"},
		{"bad rendition", []string{"-url", "http://127.0.0.1/m", "-rendition", "best"}, `invalid -rendition "best"`},
		{"missing process", []string{"-url", "http://127.0.0.1/m", "-pid", "999999999"}, "invalid -pid 999999999"},
		{"unknown flag", []string{"-url", "http://127.0.0.1/m", "-x"}, "flag provided but not defined: -x"},
		{"negative pace", []string{"-url", "http://127.0.0.1/m", "-pace", "-1"}, "invalid -pace -1"},
		{"huge pace", []string{"-url", "http://127.0.0.1/m", "-pace", "1e9"}, "invalid -pace 1e+09"},
		{"negative buffer", []string{"-url", "http://127.0.0.1/m", "-pace", "1", "-buffer", "-1"}, "invalid -buffer -1"},
		{"negative ramp", []string{"-url", "http://127.0.0.1/m", "-ramp", "-1s"}, "invalid -ramp -1s"},
		{"ramp not below duration", []string{"-url", "http://127.0.0.1/m", "-d", "10s", "-ramp", "10s"}, "invalid -ramp 10s: want 0 or a duration below -d 10s"},
		{"negative warmup", []string{"-url", "http://127.0.0.1/m", "-warmup", "-1s"}, "invalid -warmup -1s"},
		{"warmup not below duration", []string{"-url", "http://127.0.0.1/m", "-d", "10s", "-warmup", "15s"}, "invalid -warmup 15s: want 0 or a duration below -d 10s"},
		{"pace with segment URL", []string{"-pace", "1", "-segment-url", "http://127.0.0.1/s"}, "-pace needs a manifest -url"},
		{"list with segment URL", []string{"-list", "-segment-url", "http://127.0.0.1/s"}, "-list needs a manifest -url"},
		{"positional argument", []string{"-url", "http://127.0.0.1/m", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != exitOK {
		t.Errorf("exit code = %d, want %d", code, exitOK)
	}
	for _, flag := range []string{"-url", "-segment-url", "-c", "-d", "-n", "-token", "-rendition", "-pid", "-json", "-list", "-pace", "-buffer", "-ramp", "-warmup"} {
		if !strings.Contains(stdout.String(), "  "+flag+" ") && !strings.Contains(stdout.String(), "  "+flag+"\n") {
			t.Errorf("help lacks flag %s", flag)
		}
	}
}
