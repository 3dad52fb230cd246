package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fake origin serves a small HLS and DASH presentation with segments
// of known sizes. It tests the load generator, not Lockstream.
const (
	testToken  = "test-token"
	testKID    = "5f2a9c3e-8d41-4b6a-9e07-1c3d5b7f9a21"
	testKIDB64 = "XyqcPo1BS2qeBxw9W3-aIQ" // base64url of testKID's 16 bytes
	initSize   = 1000
)

// fakeMultivariant lists its variants out of bandwidth order, so that an
// index, lowest and highest select three different ones.
const fakeMultivariant = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=300000,CODECS="avc1.4d400d"
low.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001e"
high.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=2000000,URI="iframes.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=600000,CODECS="avc1.4d401e"
mid.m3u8
`

const fakeMPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT13S" minBufferTime="PT4S">
  <Period>
    <AdaptationSet mimeType="audio/mp4" contentType="audio">
      <SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s" timescale="48000">
        <SegmentTimeline><S t="0" d="192000" r="3"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="audio" bandwidth="96000"/>
    </AdaptationSet>
    <AdaptationSet mimeType="video/mp4" contentType="video">
      <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" xmlns:cenc="urn:mpeg:cenc:2013" cenc:default_KID="` + testKID + `" value="cenc"/>
      <ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0" xmlns:dashif="https://dashif.org/CPS">
        <dashif:laurl>/keys/clearkey</dashif:laurl>
      </ContentProtection>
      <SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%03d$.m4s" startNumber="1" timescale="12288">
        <SegmentTimeline>
          <S t="0" d="49152" r="2"/>
          <S d="12288"/>
        </SegmentTimeline>
      </SegmentTemplate>
      <Representation id="low" bandwidth="300000"/>
      <Representation id="high" bandwidth="900000"/>
      <Representation id="mid" bandwidth="600000"/>
    </AdaptationSet>
  </Period>
</MPD>
`

// fakeMediaPlaylist returns the media playlist of a variant: an init
// segment, one key URI on every segment (one distinct URI), four segments.
func fakeMediaPlaylist(variant string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n")
	fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"%s/init.mp4\"\n", variant)
	for n := 1; n <= 4; n++ {
		fmt.Fprintf(&b, "#EXT-X-KEY:METHOD=AES-128,URI=\"/keys/hls/%s\",IV=0x%032x\n", testKID, n)
		fmt.Fprintf(&b, "#EXTINF:4.000,\n%s/%d.m4s\n", variant, n)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}

// segmentSize returns the body size of media segment n of a rendition,
// different for each so that byte counts show which ones were fetched.
func segmentSize(rendition string, n int) int {
	return 10_000*n + len(rendition)
}

// fakeOrigin records what the load generator asked for.
type fakeOrigin struct {
	t      *testing.T
	server *httptest.Server

	// Settings, written before the first request.
	segmentDelay  time.Duration
	failSegment   string // path that gets 404
	manifestFails int32  // number of first manifest requests that get 503
	// Media segments requested before slowUntil wait slowDelay instead
	// of segmentDelay, as from a server that is busy starting up.
	slowUntil time.Time
	slowDelay time.Duration

	bytesSent     atomic.Int64
	manifestCalls atomic.Int32

	mu            sync.Mutex
	paths         []string
	times         []time.Time // when each of paths arrived
	authorization []string    // Authorization headers of key requests
	licenseBodies []string
}

func newFakeOrigin(t *testing.T) *fakeOrigin {
	t.Helper()
	f := &fakeOrigin{t: t}
	f.server = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeOrigin) url(path string) string { return f.server.URL + path }

func (f *fakeOrigin) requestedPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

// requestTimes returns when each request for path arrived, in order.
func (f *fakeOrigin) requestTimes(path string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var times []time.Time
	for i, p := range f.paths {
		if p == path {
			times = append(times, f.times[i])
		}
	}
	return times
}

func (f *fakeOrigin) keyAuthorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.authorization...)
}

func (f *fakeOrigin) serveHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.times = append(f.times, arrived)
	f.mu.Unlock()
	cw := &countingWriter{ResponseWriter: w, count: &f.bytesSent}

	path := r.URL.Path
	switch {
	case path == "/hls/master.m3u8" || path == "/dash/manifest.mpd":
		if f.manifestCalls.Add(1) <= f.manifestFails {
			http.Error(cw, "warming up", http.StatusServiceUnavailable)
			return
		}
		if strings.HasSuffix(path, ".mpd") {
			io.WriteString(cw, fakeMPD)
			return
		}
		io.WriteString(cw, fakeMultivariant)
	case strings.HasPrefix(path, "/hls/") && strings.HasSuffix(path, ".m3u8"):
		io.WriteString(cw, fakeMediaPlaylist(strings.TrimSuffix(strings.TrimPrefix(path, "/hls/"), ".m3u8")))
	case strings.HasPrefix(path, "/keys/"):
		f.serveKey(cw, r)
	case path == f.failSegment:
		http.NotFound(cw, r)
	default:
		f.serveSegment(cw, r)
	}
}

func (f *fakeOrigin) serveKey(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	var body []byte
	if r.Method == http.MethodPost {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<16))
	}
	f.mu.Lock()
	f.authorization = append(f.authorization, auth)
	if body != nil {
		f.licenseBodies = append(f.licenseBodies, string(body))
	}
	f.mu.Unlock()

	if auth != "Bearer "+testToken {
		http.Error(w, "no usable token", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"keys": []map[string]string{{"kty": "oct", "kid": testKIDB64, "k": "AAECAwQFBgcICQoLDA0ODw"}},
			"type": "temporary",
		})
		return
	}
	w.Write(make([]byte, 16))
}

// serveSegment serves /{hls,dash}/{rendition}/{init.mp4 | N.m4s}.
func (f *fakeOrigin) serveSegment(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	rendition, file := parts[1], parts[2]
	size := initSize
	if file != "init.mp4" {
		n, err := strconv.Atoi(strings.TrimSuffix(file, ".m4s"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		size = segmentSize(rendition, n)
		if time.Now().Before(f.slowUntil) {
			time.Sleep(f.slowDelay)
		} else {
			time.Sleep(f.segmentDelay)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.Write(make([]byte, size))
}

type countingWriter struct {
	http.ResponseWriter
	count *atomic.Int64
}

// Write counts p before writing it: a client may read the last bytes and
// finish before this goroutine would count them after the write.
func (w *countingWriter) Write(p []byte) (int, error) {
	w.count.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

// serveBody starts a server that responds to every request with body and
// returns a URL on it.
func serveBody(t *testing.T, body string) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	t.Cleanup(server.Close)
	return server.URL + "/manifest.m3u8"
}
