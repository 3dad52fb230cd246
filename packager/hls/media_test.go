package hls

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/grafov/m3u8"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

// decodeMedia parses a media playlist with github.com/grafov/m3u8.
func decodeMedia(t *testing.T, text []byte) *m3u8.MediaPlaylist {
	t.Helper()
	pl, kind, err := m3u8.Decode(*bytes.NewBuffer(text), true)
	if err != nil {
		t.Fatalf("decoding media playlist: %v\n%s", err, text)
	}
	if kind != m3u8.MEDIA {
		t.Fatalf("playlist type = %v, want MEDIA", kind)
	}
	return pl.(*m3u8.MediaPlaylist)
}

func TestMediaStructure(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	for _, proto := range []string{"hls-ts", "hls-ts3", "hls-cmaf"} {
		for _, enc := range []string{"clear", "cbc"} {
			for _, track := range p.Tracks {
				t.Run(proto+"/"+enc+"/"+track.Name, func(t *testing.T) {
					opts := testOptions(proto, enc)
					text, err := WriteMedia(nil, track, plan, opts)
					if err != nil {
						t.Fatal(err)
					}
					checkMedia(t, track, plan, opts, text)
				})
			}
		}
	}
}

func checkMedia(t *testing.T, track *packager.Track, plan *packager.SegmentPlan, opts *Options, text []byte) {
	t.Helper()
	pl := decodeMedia(t, text)
	segs := pl.Segments[:pl.Count()]

	if got, want := len(segs), plan.SegmentCount(); got != want {
		t.Errorf("segment count = %d, want %d", got, want)
	}
	if pl.SeqNo != 1 {
		t.Errorf("EXT-X-MEDIA-SEQUENCE = %d, want 1", pl.SeqNo)
	}
	if !pl.Closed {
		t.Error("EXT-X-ENDLIST missing")
	}
	if pl.MediaType != m3u8.VOD {
		t.Errorf("EXT-X-PLAYLIST-TYPE = %v, want VOD", pl.MediaType)
	}

	// RFC 8216 section 4.3.3.1: each EXTINF rounded to the nearest integer
	// must not exceed the target duration, and the target is the ceiling
	// of the longest segment.
	var sum, longest float64
	for i, s := range segs {
		sum += s.Duration
		longest = max(longest, s.Duration)
		if math.Round(s.Duration) > pl.TargetDuration {
			t.Errorf("segment %d: EXTINF %.3f rounds above EXT-X-TARGETDURATION %v", i+1, s.Duration, pl.TargetDuration)
		}
		if want := opts.SegmentURI(track, i+1); s.URI != want {
			t.Errorf("segment %d: URI = %q, want %q", i+1, s.URI, want)
		}
	}
	if want := math.Ceil(longest - 0.0005); pl.TargetDuration != want {
		t.Errorf("EXT-X-TARGETDURATION = %v, want %v", pl.TargetDuration, want)
	}
	exact := float64(track.Duration) / float64(track.Timescale)
	if tolerance := 0.0005 * float64(len(segs)); math.Abs(sum-exact) > tolerance {
		t.Errorf("sum of EXTINF = %.6f, want track duration %.6f within %.4f", sum, exact, tolerance)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "#EXTINF:") && len(line) < len("#EXTINF:0.000,") {
			t.Errorf("EXTINF %q has fewer than 3 decimals", line)
		}
	}

	checkVersion(t, opts, text)
	checkKeys(t, track, plan, opts, segs, text)
}

func checkVersion(t *testing.T, opts *Options, text []byte) {
	t.Helper()
	want := "#EXT-X-VERSION:" + itoa(map[packager.Container]int{packager.ContainerTS: DefaultVersionTS, packager.ContainerFMP4: DefaultVersionFMP4}[opts.Container])
	if opts.Version != 0 {
		want = "#EXT-X-VERSION:" + itoa(opts.Version)
	}
	if !bytes.Contains(text, []byte(want+"\n")) {
		t.Errorf("playlist lacks %q", want)
	}
	independent := bytes.Contains(text, []byte("#EXT-X-INDEPENDENT-SEGMENTS\n"))
	if legacy := opts.Version == VersionLegacy; independent == legacy {
		t.Errorf("EXT-X-INDEPENDENT-SEGMENTS present = %v in a version %d playlist", independent, opts.Version)
	}
}

func checkKeys(t *testing.T, track *packager.Track, plan *packager.SegmentPlan, opts *Options, segs []*m3u8.MediaSegment, text []byte) {
	t.Helper()
	mapAt := bytes.Index(text, []byte("#EXT-X-MAP:"))
	keyAt := bytes.Index(text, []byte("#EXT-X-KEY:"))
	if fmp4 := opts.Container == packager.ContainerFMP4; fmp4 != (mapAt >= 0) {
		t.Errorf("EXT-X-MAP present = %v for container %d", mapAt >= 0, opts.Container)
	}
	if mapAt >= 0 && keyAt >= 0 && keyAt < mapAt {
		t.Error("EXT-X-KEY precedes EXT-X-MAP, which declares the init segment encrypted")
	}

	if opts.KeyURI == nil {
		if keyAt >= 0 {
			t.Error("clear playlist has an EXT-X-KEY")
		}
		return
	}
	if got := bytes.Count(text, []byte("#EXT-X-KEY:")); got != len(segs) {
		t.Errorf("EXT-X-KEY count = %d, want one per segment (%d)", got, len(segs))
	}
	seen := map[string]bool{}
	for i, s := range segs {
		if s.Key == nil {
			t.Fatalf("segment %d has no key", i+1)
		}
		iv := packager.SegmentIV(opts.Container, track, plan.Ranges[track.Index][i], i)
		if want := "0x" + hexString(iv[:]); s.Key.IV != want {
			t.Errorf("segment %d: IV = %s, want %s", i+1, s.Key.IV, want)
		}
		if seen[s.Key.IV] {
			t.Errorf("segment %d: IV %s repeats", i+1, s.Key.IV)
		}
		seen[s.Key.IV] = true
		if s.Key.Method != "AES-128" || s.Key.URI != opts.KeyURI(track) {
			t.Errorf("segment %d: key = %+v, want METHOD=AES-128 and URI %q", i+1, s.Key, opts.KeyURI(track))
		}
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestMediaAppendsToDst(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	prefix := []byte("prefix\n")
	got, err := WriteMedia(prefix, p.Tracks[0], plan, testOptions("hls-ts", "clear"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("prefix\n#EXTM3U\n")) {
		t.Errorf("output does not keep dst and continue with #EXTM3U: %q", got[:min(len(got), 30)])
	}
}

func TestMediaShortTrailingAudio(t *testing.T) {
	// The audio ends at the last segment boundary, so the last segment
	// holds no audio and the audio playlist lists one segment fewer.
	p, plan := fixture.Build(fixture.Options{})
	audio := p.Tracks[3]
	last := len(plan.Ranges[audio.Index]) - 1
	cut := plan.Ranges[audio.Index][last].Start
	audio.Samples = audio.Samples[:cut]
	plan.Ranges[audio.Index][last] = packager.SampleRange{Start: cut, End: cut}
	fixture.FinishTrack(audio)

	opts := testOptions("hls-ts", "clear")
	text, err := WriteMedia(nil, audio, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	pl := decodeMedia(t, text)
	if got, want := int(pl.Count()), plan.SegmentCount()-1; got != want {
		t.Errorf("segment count = %d, want %d", got, want)
	}
}

func TestMediaErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *packager.Presentation, plan *packager.SegmentPlan, o *Options) *packager.SegmentPlan
		is     error
		text   string
	}{
		{"nil plan", func(_ *packager.Presentation, _ *packager.SegmentPlan, _ *Options) *packager.SegmentPlan { return nil }, nil, "no segment plan"},
		{"track outside plan", func(p *packager.Presentation, plan *packager.SegmentPlan, _ *Options) *packager.SegmentPlan {
			plan.Ranges = plan.Ranges[:0]
			return plan
		}, packager.ErrNotFound, "video_200k"},
		{"range count", func(p *packager.Presentation, plan *packager.SegmentPlan, _ *Options) *packager.SegmentPlan {
			plan.Ranges[0] = plan.Ranges[0][:2]
			return plan
		}, packager.ErrInvalidMedia, "2 sample ranges for 4 segments"},
		{"range past samples", func(p *packager.Presentation, plan *packager.SegmentPlan, _ *Options) *packager.SegmentPlan {
			plan.Ranges[0][3].End = 1 << 20
			return plan
		}, packager.ErrInvalidMedia, "segment 3"},
		{"empty middle segment", func(p *packager.Presentation, plan *packager.SegmentPlan, _ *Options) *packager.SegmentPlan {
			plan.Ranges[0][1].End = plan.Ranges[0][1].Start
			return plan
		}, packager.ErrInvalidMedia, "segment 1 of track \"video_200k\" is empty"},
		{"fMP4 at version 3", func(_ *packager.Presentation, plan *packager.SegmentPlan, o *Options) *packager.SegmentPlan {
			o.Container, o.Version = packager.ContainerFMP4, 3
			return plan
		}, nil, "HLS version 3 is invalid for fMP4"},
		{"unknown container", func(_ *packager.Presentation, plan *packager.SegmentPlan, o *Options) *packager.SegmentPlan {
			o.Container = 9
			return plan
		}, nil, "container 9"},
		{"no segment URI", func(_ *packager.Presentation, plan *packager.SegmentPlan, o *Options) *packager.SegmentPlan {
			o.SegmentURI = nil
			return plan
		}, nil, "SegmentURI is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, plan := fixture.Build(fixture.Options{})
			opts := testOptions("hls-ts", "clear")
			plan = tt.change(p, plan, opts)
			_, err := WriteMedia(nil, p.Tracks[0], plan, opts)
			if err == nil {
				t.Fatal("got no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
		})
	}
}
