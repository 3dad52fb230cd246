package main

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testBase = "http://127.0.0.1:8080/3f0c/sample.ism/manifest(format=m3u8-aapl)"

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func segmentURLs(p *plan) []string {
	urls := make([]string, len(p.segments))
	for i, s := range p.segments {
		urls[i] = s.url
	}
	return urls
}

func TestParseHLSMultivariant(t *testing.T) {
	body := readTestdata(t, "multivariant-ts-cbc.m3u8")
	tests := []struct {
		rendition string
		want      string
	}{
		{"highest", "http://127.0.0.1:8080/3f0c/sample.ism/hls-ts/cbc/video_700k.m3u8"},
		{"lowest", "http://127.0.0.1:8080/3f0c/sample.ism/hls-ts/cbc/video_200k.m3u8"},
		{"1", "http://127.0.0.1:8080/3f0c/sample.ism/hls-ts/cbc/video_400k.m3u8"},
	}
	for _, tt := range tests {
		t.Run(tt.rendition, func(t *testing.T) {
			sel, err := parseRendition(tt.rendition)
			if err != nil {
				t.Fatal(err)
			}
			variant, p, err := parseHLS(body, mustParseURL(t, testBase), sel)
			if err != nil {
				t.Fatal(err)
			}
			if p != nil {
				t.Fatalf("got a segment plan for a multivariant playlist")
			}
			if variant.String() != tt.want {
				t.Errorf("variant = %s, want %s", variant, tt.want)
			}
		})
	}
}

func TestParseHLSMediaPlaylist(t *testing.T) {
	base := mustParseURL(t, "http://127.0.0.1:8080/3f0c/sample.ism/hls-cmaf/cbc/video_200k.m3u8")
	_, p, err := parseHLS(readTestdata(t, "media-cmaf-cbc-video.m3u8"), base, rendition{})
	if err != nil {
		t.Fatal(err)
	}
	dir := "http://127.0.0.1:8080/3f0c/sample.ism/hls-cmaf/cbc/video_200k/"
	if got, want := p.init.url, dir+"init.mp4"; got != want {
		t.Errorf("init = %s, want %s", got, want)
	}
	wantSegments := []string{dir + "1.m4s", dir + "2.m4s", dir + "3.m4s", dir + "4.m4s"}
	if got := segmentURLs(p); !slices.Equal(got, wantSegments) {
		t.Errorf("segments = %q, want %q", got, wantSegments)
	}
	// Every segment has its own EXT-X-KEY tag for its IV, all with one URI.
	if len(p.keys) != 1 {
		t.Fatalf("got %d key requests, want 1 for the one distinct URI", len(p.keys))
	}
	if got, want := p.keys[0].url, "https://lockstream.test/keydelivery/hls/5f2a9c3e-8d41-4b6a-9e07-1c3d5b7f9a21"; got != want {
		t.Errorf("key URL = %s, want %s", got, want)
	}
}

func TestParseHLSClearTS(t *testing.T) {
	base := mustParseURL(t, "http://127.0.0.1:8080/l/s.ism/hls-ts/clear/video_200k.m3u8")
	_, p, err := parseHLS(readTestdata(t, "media-ts-clear-video.m3u8"), base, rendition{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.keys) != 0 || p.init.url != "" {
		t.Errorf("clear TS playlist has keys %v and init %q, want neither", p.keys, p.init.url)
	}
	if len(p.segments) == 0 || !strings.HasSuffix(p.segments[0].url, "/hls-ts/clear/video_200k/1.ts") {
		t.Errorf("segments = %q, want video_200k/1.ts first", segmentURLs(p))
	}
}

func TestParseHLSByteRange(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n#EXT-X-BYTERANGE:1000@500\nall.ts\n#EXT-X-ENDLIST\n"
	_, p, err := parseHLS([]byte(body), mustParseURL(t, "http://127.0.0.1/a/v.m3u8"), rendition{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.segments[0].byteRange, "bytes=500-1499"; got != want {
		t.Errorf("Range = %q, want %q", got, want)
	}
}

func TestBuildDASHPlan(t *testing.T) {
	tests := []struct {
		file       string
		rendition  string
		wantInit   string
		wantFirst  string
		wantCount  int
		wantKeyURL string
	}{
		{"cmaf-cenc.mpd", "highest", "dash/cenc/video_700k/init.mp4", "dash/cenc/video_700k/1.m4s", 4, "https://lockstream.test/keydelivery/clearkey"},
		{"cmaf-cenc.mpd", "lowest", "dash/cenc/video_200k/init.mp4", "dash/cenc/video_200k/1.m4s", 4, "https://lockstream.test/keydelivery/clearkey"},
		{"csf-clear.mpd", "1", "dash/clear/video_400k/init.mp4", "dash/clear/video_400k/1.m4s", 4, ""},
	}
	const dir = "http://127.0.0.1:8080/3f0c/sample.ism/"
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.rendition, func(t *testing.T) {
			sel, err := parseRendition(tt.rendition)
			if err != nil {
				t.Fatal(err)
			}
			p, err := buildDASHPlan(readTestdata(t, tt.file), mustParseURL(t, dir+"manifest(format=mpd-time-cmaf)"), sel)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.init.url, dir+tt.wantInit; got != want {
				t.Errorf("init = %s, want %s", got, want)
			}
			if len(p.segments) != tt.wantCount {
				t.Fatalf("got %d segments, want %d", len(p.segments), tt.wantCount)
			}
			if got, want := p.segments[0].url, dir+tt.wantFirst; got != want {
				t.Errorf("first segment = %s, want %s", got, want)
			}
			if tt.wantKeyURL == "" {
				if len(p.keys) != 0 {
					t.Errorf("clear MPD has key requests %v", p.keys)
				}
				return
			}
			if len(p.keys) != 1 {
				t.Fatalf("got %d key requests, want 1", len(p.keys))
			}
			k := p.keys[0]
			if k.url != tt.wantKeyURL || k.method != "POST" {
				t.Errorf("license request = %s %s, want POST %s", k.method, k.url, tt.wantKeyURL)
			}
			if got, want := string(k.body), `{"kids":["XyqcPo1BS2qeBxw9W3-aIQ"],"type":"temporary"}`; got != want {
				t.Errorf("license body = %s, want %s", got, want)
			}
		})
	}
}

func TestBuildDASHPlanErrors(t *testing.T) {
	const head = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet contentType="video">`
	const tail = `<Representation id="v" bandwidth="1"/></AdaptationSet></Period></MPD>`
	tests := []struct {
		name, mpd, want string
	}{
		{"not XML", "<MPD", "parsing XML"},
		{"no period", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>`, "no Period"},
		{"no representation", `<MPD><Period><AdaptationSet/></Period></MPD>`, "no AdaptationSet with a Representation"},
		{"no template", head + tail, "no SegmentTemplate"},
		{"no timeline", head + `<SegmentTemplate media="$Number$.m4s" duration="2"/>` + tail, "has no SegmentTimeline"},
		{"open repeat", head + `<SegmentTemplate media="$Number$.m4s"><SegmentTimeline><S d="1" r="-1"/></SegmentTimeline></SegmentTemplate>` + tail, `r="-1" is not supported`},
		{"huge repeat", head + `<SegmentTemplate media="$Number$.m4s"><SegmentTimeline><S d="1" r="999999999999"/></SegmentTimeline></SegmentTemplate>` + tail, "more than 100000 segments"},
		{"unknown identifier", head + `<SegmentTemplate media="$Foo$.m4s"><SegmentTimeline><S d="1"/></SegmentTimeline></SegmentTemplate>` + tail, "unknown identifier $Foo$"},
		{"bad KID", head + `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" xmlns:cenc="urn:mpeg:cenc:2013" cenc:default_KID="xyz"/>` +
			`<ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"><laurl>/lic</laurl></ContentProtection>` +
			`<SegmentTemplate media="$Number$.m4s"><SegmentTimeline><S d="1"/></SegmentTimeline></SegmentTemplate>` + tail, `invalid cenc:default_KID "xyz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildDASHPlan([]byte(tt.mpd), mustParseURL(t, "http://127.0.0.1/m.mpd"), rendition{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExpandTemplate(t *testing.T) {
	rep := &mpdRepresentation{ID: "video_700k", Bandwidth: 773000}
	tests := []struct {
		tmpl, want string
	}{
		{"$RepresentationID$/$Number$.m4s", "video_700k/7.m4s"},
		{"$RepresentationID$/$Number%05d$.m4s", "video_700k/00007.m4s"},
		{"t/$Time$.m4s", "t/98304.m4s"},
		{"b$Bandwidth$-$Time%03d$", "b773000-98304"},
		{"cost$$5/$Number$", "cost$5/7"},
		{"plain.m4s", "plain.m4s"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got, err := expandTemplate(tt.tmpl, rep, 7, 98304)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("expandTemplate(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"$Number", "$Number%5d$", "$Number%0xd$", "$Nope$"} {
		if got, err := expandTemplate(bad, rep, 1, 0); err == nil {
			t.Errorf("expandTemplate(%q) = %q, want an error", bad, got)
		}
	}
}

func TestManifestKind(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{"#EXTM3U\n", "hls"},
		{"\xef\xbb\xbf\n#EXTM3U\n", "hls"},
		{`<?xml version="1.0"?><MPD>`, "dash"},
		{`<SmoothStreamingMedia>`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := manifestKind([]byte(tt.body)); got != tt.want {
			t.Errorf("manifestKind(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestHostPolicy(t *testing.T) {
	policy := newHostPolicy(mustParseURL(t, "http://media.example:8080/m.mpd"))
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://media.example:8080/seg.m4s", true},
		{"http://MEDIA.example:8080/seg.m4s", true},
		{"http://127.0.0.1:9999/key", true},
		{"http://[::1]/key", true},
		{"http://localhost:1/key", true},
		{"http://media.example/seg.m4s", false}, // another port
		{"https://media.example:8080/seg.m4s", true},
		{"http://192.0.2.1/seg.m4s", false},
		{"skd://key", false},
	}
	for _, tt := range tests {
		err := policy.check(mustParseURL(t, tt.url))
		if (err == nil) != tt.ok {
			t.Errorf("check(%s) = %v, want allowed %v", tt.url, err, tt.ok)
		}
	}
}

func TestCheckKeyResponse(t *testing.T) {
	tests := []struct {
		name   string
		format keyFormat
		body   string
		ok     bool
	}{
		{"HLS key", keyHLS, strings.Repeat("k", 16), true},
		{"HLS short key", keyHLS, "short", false},
		{"license", keyClearKey, `{"keys":[{"kty":"oct","kid":"x","k":"AAECAwQFBgcICQoLDA0ODw"}],"type":"temporary"}`, true},
		{"license without keys", keyClearKey, `{"keys":[]}`, false},
		{"license with a short key", keyClearKey, `{"keys":[{"kty":"oct","k":"AAEC"}]}`, false},
		{"license not JSON", keyClearKey, `<html>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkKeyResponse(tt.format, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("checkKeyResponse = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func FuzzParseHLS(f *testing.F) {
	for _, name := range []string{"multivariant-ts-cbc.m3u8", "media-cmaf-cbc-video.m3u8", "media-ts-clear-video.m3u8"} {
		f.Add(readTestdata(f, name))
	}
	base, _ := url.Parse(testBase)
	f.Fuzz(func(t *testing.T, body []byte) {
		variant, p, err := parseHLS(body, base, rendition{})
		if err == nil && variant == nil && p == nil {
			t.Error("parseHLS returned neither a variant, a plan nor an error")
		}
		if p != nil && len(p.segments) > maxSegments {
			t.Errorf("plan has %d segments, above the bound", len(p.segments))
		}
	})
}

func FuzzBuildDASHPlan(f *testing.F) {
	for _, name := range []string{"cmaf-cenc.mpd", "csf-clear.mpd"} {
		f.Add(readTestdata(f, name))
	}
	base, _ := url.Parse(testBase)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := buildDASHPlan(body, base, rendition{})
		if err == nil && len(p.segments) > maxSegments {
			t.Errorf("plan has %d segments, above the bound", len(p.segments))
		}
	})
}
