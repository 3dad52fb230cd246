package origin

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
)

const testLocator = "8f2c1d3e-4b5a-4c6d-9e7f-0a1b2c3d4e5f"

// streamURLCases is shared by the parser test and the fuzz seed corpus.
// want is nil for paths that must fail with status.
var streamURLCases = []struct {
	name   string
	path   string
	want   *StreamRequest
	status int
	// message, when set, must appear in the error message.
	message string
}{
	// Manifests.
	{name: "smooth manifest", path: "/" + testLocator + "/sample.ism/manifest",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatSmooth}},
	{name: "manifest upper case", path: "/" + testLocator + "/sample.ism/Manifest",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatSmooth}},
	{name: "hls ts", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl)",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatHLSTS}},
	{name: "hls v3 with suffix", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl-v3).m3u8",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatHLSTSv3}},
	{name: "hls cmaf cbc", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-cmaf,encryption=cbc)",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatHLSCMAF, Scheme: packager.SchemeCBC, SchemeSet: true}},
	{name: "dash csf with suffix", path: "/" + testLocator + "/sample.ism/manifest(format=mpd-time-csf).mpd",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatDASHCSF}},
	{name: "dash cmaf cenc first", path: "/" + testLocator + "/sample.ism/manifest(encryption=cenc,format=mpd-time-cmaf)",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatDASHCMAF, Scheme: packager.SchemeCENC, SchemeSet: true}},
	{name: "smooth encryption clear", path: "/" + testLocator + "/sample.ism/manifest(encryption=clear)",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatSmooth, Scheme: packager.SchemeClear, SchemeSet: true}},
	{name: "filter kept", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl,filter=hd;audio_en)",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatHLSTS, Filter: "hd;audio_en"}},
	{name: "encoded parentheses", path: "/" + testLocator + "/sample.ism/manifest%28format%3Dm3u8-aapl%29",
		want: &StreamRequest{Kind: ResourceManifest, Format: FormatHLSTS}},
	{name: "name with encoded space", path: "/" + testLocator + "/my%20film.ism/manifest",
		want: &StreamRequest{Name: "my film", Kind: ResourceManifest, Format: FormatSmooth}},

	// Sub-resources.
	{name: "hls ts playlist", path: "/" + testLocator + "/sample.ism/hls-ts/cbc/video_1.m3u8",
		want: &StreamRequest{Kind: ResourcePlaylist, Format: FormatHLSTS, Scheme: packager.SchemeCBC, SchemeSet: true, Track: "video_1"}},
	{name: "hls cmaf playlist", path: "/" + testLocator + "/sample.ism/hls-cmaf/clear/audio-en.m3u8",
		want: &StreamRequest{Kind: ResourcePlaylist, Format: FormatHLSCMAF, Scheme: packager.SchemeClear, SchemeSet: true, Track: "audio-en"}},
	{name: "ts segment", path: "/" + testLocator + "/sample.ism/hls-ts/clear/video_1/12.ts",
		want: &StreamRequest{Kind: ResourceSegment, Format: FormatHLSTS, Scheme: packager.SchemeClear, SchemeSet: true, Track: "video_1", Segment: 12}},
	{name: "ts3 segment", path: "/" + testLocator + "/sample.ism/hls-ts3/cbc/audio/1.ts",
		want: &StreamRequest{Kind: ResourceSegment, Format: FormatHLSTSv3, Scheme: packager.SchemeCBC, SchemeSet: true, Track: "audio", Segment: 1}},
	{name: "cmaf init", path: "/" + testLocator + "/sample.ism/hls-cmaf/cbc/video/init.mp4",
		want: &StreamRequest{Kind: ResourceInit, Format: FormatHLSCMAF, Scheme: packager.SchemeCBC, SchemeSet: true, Track: "video"}},
	{name: "dash segment", path: "/" + testLocator + "/sample.ism/dash/cenc/video/3.m4s",
		want: &StreamRequest{Kind: ResourceSegment, Format: FormatDASHCSF, Scheme: packager.SchemeCENC, SchemeSet: true, Track: "video", Segment: 3}},
	{name: "dash init", path: "/" + testLocator + "/sample.ism/dash/clear/audio/init.mp4",
		want: &StreamRequest{Kind: ResourceInit, Format: FormatDASHCSF, Scheme: packager.SchemeClear, SchemeSet: true, Track: "audio"}},
	{name: "smooth fragment", path: "/" + testLocator + "/sample.ism/QualityLevels(400000)/Fragments(video=20000000)",
		want: &StreamRequest{Kind: ResourceFragment, Format: FormatSmooth, Bitrate: 400000, Stream: "video", Time: 20000000}},
	{name: "smooth fragment cenc", path: "/" + testLocator + "/sample.ism/QualityLevels(128000)/Fragments(audio_eng=0,encryption=cenc)",
		want: &StreamRequest{Kind: ResourceFragment, Format: FormatSmooth, Bitrate: 128000, Stream: "audio_eng", Time: 0, Scheme: packager.SchemeCENC, SchemeSet: true}},

	// Not streaming URLs at all: 404.
	{name: "root", path: "/", status: http.StatusNotFound},
	{name: "favicon", path: "/favicon.ico", status: http.StatusNotFound},
	{name: "no ism", path: "/" + testLocator + "/sample/manifest", status: http.StatusNotFound},
	{name: "ism only", path: "/" + testLocator + "/sample.ism", status: http.StatusNotFound},
	{name: "trailing slash", path: "/" + testLocator + "/sample.ism/manifest/", status: http.StatusNotFound},
	{name: "unknown family", path: "/" + testLocator + "/sample.ism/hls-xx/clear/v.m3u8", status: http.StatusNotFound},
	{name: "dash playlist", path: "/" + testLocator + "/sample.ism/dash/clear/video.m3u8", status: http.StatusNotFound},
	{name: "too deep", path: "/" + testLocator + "/sample.ism/dash/clear/video/1/2.m4s", status: http.StatusNotFound},
	{name: "fragments missing", path: "/" + testLocator + "/sample.ism/QualityLevels(1000)", status: http.StatusNotFound},

	// Malformed: 400 naming the element.
	{name: "bad locator", path: "/not-a-uuid/sample.ism/manifest", status: http.StatusBadRequest, message: "invalid locator ID"},
	{name: "locator without hyphens", path: "/8f2c1d3e4b5a4c6d9e7f0a1b2c3d4e5f/sample.ism/manifest", status: http.StatusBadRequest, message: "invalid locator ID"},
	{name: "empty name", path: "/" + testLocator + "/.ism/manifest", status: http.StatusBadRequest, message: "presentation name"},
	{name: "dot dot name", path: "/" + testLocator + "/...ism/manifest", status: http.StatusBadRequest, message: "presentation name"},
	{name: "encoded slash in name", path: "/" + testLocator + "/a%2Fb.ism/manifest", status: http.StatusBadRequest, message: "encoded '/'"},
	{name: "encoded backslash in name", path: "/" + testLocator + "/a%5cb.ism/manifest", status: http.StatusBadRequest, message: "encoded"},
	{name: "encoded dot dot", path: "/" + testLocator + "/%2e%2e.ism/manifest", status: http.StatusBadRequest, message: "presentation name"},
	{name: "control character", path: "/" + testLocator + "/a%0Ab.ism/manifest", status: http.StatusBadRequest, message: "presentation name"},
	{name: "nul", path: "/" + testLocator + "/a%00.ism/manifest", status: http.StatusBadRequest, message: "presentation name"},
	{name: "bad percent", path: "/" + testLocator + "/a%zz.ism/manifest", status: http.StatusBadRequest, message: "percent-encoding"},
	{name: "dot dot element", path: "/" + testLocator + "/sample.ism/../manifest", status: http.StatusNotFound},
	{name: "empty element", path: "/" + testLocator + "//sample.ism/manifest", status: http.StatusNotFound},
	{name: "unknown format", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-foo)", status: http.StatusBadRequest, message: "m3u8-aapl, m3u8-aapl-v3"},
	{name: "unknown encryption", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl,encryption=cbcs-aapl)", status: http.StatusBadRequest, message: "accepted: cbc, clear"},
	{name: "cbc on dash", path: "/" + testLocator + "/sample.ism/manifest(format=mpd-time-csf,encryption=cbc)", status: http.StatusBadRequest, message: "accepted: cenc, clear"},
	{name: "cenc on hls", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl,encryption=cenc)", status: http.StatusBadRequest, message: "HLS does not support"},
	{name: "unknown option", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl,audio-only=false)", status: http.StatusBadRequest, message: "unknown manifest option"},
	{name: "duplicate format", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl,format=m3u8-cmaf)", status: http.StatusBadRequest, message: "twice"},
	{name: "empty options", path: "/" + testLocator + "/sample.ism/manifest()", status: http.StatusBadRequest, message: "manifest element"},
	{name: "option without value", path: "/" + testLocator + "/sample.ism/manifest(format)", status: http.StatusBadRequest, message: "key=value"},
	{name: "mpd suffix on hls", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl).mpd", status: http.StatusBadRequest, message: "suffix .mpd"},
	{name: "unknown suffix", path: "/" + testLocator + "/sample.ism/manifest(format=m3u8-aapl).txt", status: http.StatusBadRequest, message: "suffix"},
	{name: "bad filter", path: "/" + testLocator + "/sample.ism/manifest(filter=a b)", status: http.StatusBadRequest, message: "invalid filter"},
	{name: "cenc path on hls", path: "/" + testLocator + "/sample.ism/hls-ts/cenc/video/1.ts", status: http.StatusBadRequest, message: "encryption path element"},
	{name: "upper case enc path", path: "/" + testLocator + "/sample.ism/hls-ts/CBC/video/1.ts", status: http.StatusBadRequest, message: "encryption path element"},
	{name: "upper case track", path: "/" + testLocator + "/sample.ism/hls-ts/clear/Video/1.ts", status: http.StatusBadRequest, message: "invalid track name"},
	{name: "long track", path: "/" + testLocator + "/sample.ism/dash/clear/" + strings.Repeat("a", 65) + "/1.m4s", status: http.StatusBadRequest, message: "invalid track name"},
	{name: "segment zero", path: "/" + testLocator + "/sample.ism/hls-ts/clear/video/0.ts", status: http.StatusBadRequest, message: "segment number"},
	{name: "segment leading zero", path: "/" + testLocator + "/sample.ism/hls-ts/clear/video/01.ts", status: http.StatusBadRequest, message: "segment number"},
	{name: "segment negative", path: "/" + testLocator + "/sample.ism/dash/clear/video/-1.m4s", status: http.StatusBadRequest, message: "segment number"},
	{name: "segment huge", path: "/" + testLocator + "/sample.ism/dash/clear/video/99999999999.m4s", status: http.StatusBadRequest, message: "segment number"},
	{name: "ts extension on dash", path: "/" + testLocator + "/sample.ism/dash/clear/video/1.ts", status: http.StatusBadRequest, message: "want {n}.m4s"},
	{name: "ts init", path: "/" + testLocator + "/sample.ism/hls-ts/clear/video/init.mp4", status: http.StatusBadRequest, message: "no init segment"},
	{name: "playlist without extension", path: "/" + testLocator + "/sample.ism/hls-ts/clear/video", status: http.StatusBadRequest, message: "playlist name"},
	{name: "bitrate zero", path: "/" + testLocator + "/sample.ism/QualityLevels(0)/Fragments(video=0)", status: http.StatusBadRequest, message: "bitrate"},
	{name: "bitrate text", path: "/" + testLocator + "/sample.ism/QualityLevels(abc)/Fragments(video=0)", status: http.StatusBadRequest, message: "bitrate"},
	{name: "fragment time text", path: "/" + testLocator + "/sample.ism/QualityLevels(1000)/Fragments(video=x)", status: http.StatusBadRequest, message: "fragment time"},
	{name: "fragment stream missing", path: "/" + testLocator + "/sample.ism/QualityLevels(1000)/Fragments(=0)", status: http.StatusBadRequest, message: "fragment stream"},
	{name: "fragment cbc", path: "/" + testLocator + "/sample.ism/QualityLevels(1000)/Fragments(video=0,encryption=cbc)", status: http.StatusBadRequest, message: "Smooth Streaming does not support"},
	{name: "fragment unknown option", path: "/" + testLocator + "/sample.ism/QualityLevels(1000)/Fragments(video=0,format=x)", status: http.StatusBadRequest, message: "fragment option"},
}

func TestParseStreamURL(t *testing.T) {
	for _, tc := range streamURLCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStreamURL(tc.path)
			if tc.want == nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("ParseStreamURL(%q) error = %v, want *Error with status %d", tc.path, err, tc.status)
				}
				if e.Status != tc.status {
					t.Errorf("status = %d, want %d (message %q)", e.Status, tc.status, e.Message)
				}
				if !strings.Contains(e.Message, tc.message) {
					t.Errorf("message = %q, want it to contain %q", e.Message, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStreamURL(%q) error = %v", tc.path, err)
			}

			want := *tc.want
			want.Locator = uuid.MustParse(testLocator)
			if want.Name == "" {
				want.Name = "sample"
			}
			if *got != want {
				t.Errorf("ParseStreamURL(%q)\n got  %+v\n want %+v", tc.path, *got, want)
			}
		})
	}
}

// TestPathBuildersRoundTrip checks that the paths the producer writes into
// manifests parse back to the same resource.
func TestPathBuildersRoundTrip(t *testing.T) {
	id := uuid.MustParse(testLocator)
	prefix := "/" + testLocator + "/sample.ism/"
	cases := []struct {
		path string
		want StreamRequest
	}{
		{ManifestPath(id, "sample", FormatHLSTS, packager.SchemeCBC), StreamRequest{Kind: ResourceManifest, Format: FormatHLSTS, Scheme: packager.SchemeCBC, SchemeSet: true}},
		{ManifestPath(id, "sample", FormatSmooth, packager.SchemeClear), StreamRequest{Kind: ResourceManifest, Format: FormatSmooth}},
		{prefix + PlaylistPath(FormatHLSTSv3, packager.SchemeClear, "video"), StreamRequest{Kind: ResourcePlaylist, Format: FormatHLSTSv3, SchemeSet: true, Track: "video"}},
		{prefix + InitPath(FormatDASHCMAF, packager.SchemeCENC, "audio"), StreamRequest{Kind: ResourceInit, Format: FormatDASHCSF, Scheme: packager.SchemeCENC, SchemeSet: true, Track: "audio"}},
		{prefix + SegmentPath(FormatHLSCMAF, packager.SchemeCBC, "video", 7), StreamRequest{Kind: ResourceSegment, Format: FormatHLSCMAF, Scheme: packager.SchemeCBC, SchemeSet: true, Track: "video", Segment: 7}},
		{prefix + SegmentPath(FormatHLSTS, packager.SchemeClear, "video", 1), StreamRequest{Kind: ResourceSegment, Format: FormatHLSTS, SchemeSet: true, Track: "video", Segment: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got, err := ParseStreamURL(tc.path)
			if err != nil {
				t.Fatalf("ParseStreamURL(%q) error = %v", tc.path, err)
			}
			tc.want.Locator, tc.want.Name = id, "sample"
			if *got != tc.want {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func FuzzParseStreamURL(f *testing.F) {
	for _, tc := range streamURLCases {
		f.Add(tc.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := ParseStreamURL(path)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseStreamURL(%q) error %v is not an *Error", path, err)
			}
			if e.Status != http.StatusBadRequest && e.Status != http.StatusNotFound {
				t.Fatalf("ParseStreamURL(%q) status %d, want 400 or 404", path, e.Status)
			}
			if len(e.Message) > 512 {
				t.Fatalf("ParseStreamURL(%q) message is %d bytes long", path, len(e.Message))
			}
			return
		}

		// Whatever parses must be safe to use as file and track names.
		if strings.ContainsAny(req.Name, "/\\\x00") || req.Name == ".." || req.Name == "." || req.Name == "" {
			t.Fatalf("ParseStreamURL(%q) accepted presentation name %q", path, req.Name)
		}
		if req.Kind != ResourceManifest && req.Kind != ResourceFragment {
			if err := checkTrackName(req.Track); err != nil {
				t.Fatalf("ParseStreamURL(%q) accepted track %q", path, req.Track)
			}
		}
		if req.Kind == ResourceSegment && req.Segment < 1 {
			t.Fatalf("ParseStreamURL(%q) accepted segment %d", path, req.Segment)
		}
		if req.SchemeSet && !slices.Contains(schemesFor(req.Protocol()), req.Scheme) {
			t.Fatalf("ParseStreamURL(%q) accepted scheme %v for %s", path, req.Scheme, req.Protocol())
		}
	})
}

func BenchmarkParseStreamURL(b *testing.B) {
	path := "/" + testLocator + "/sample.ism/hls-ts/cbc/video_1/12.ts"
	b.ReportAllocs()
	b.SetBytes(int64(len(path)))
	for b.Loop() {
		if _, err := ParseStreamURL(path); err != nil {
			b.Fatal(err)
		}
	}
}
