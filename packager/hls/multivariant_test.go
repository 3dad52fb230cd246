package hls

import (
	"bytes"
	"strings"
	"testing"

	"github.com/grafov/m3u8"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

func decodeMultivariant(t *testing.T, text []byte) *m3u8.MasterPlaylist {
	t.Helper()
	pl, kind, err := m3u8.Decode(*bytes.NewBuffer(text), true)
	if err != nil {
		t.Fatalf("decoding multivariant playlist: %v\n%s", err, text)
	}
	if kind != m3u8.MASTER {
		t.Fatalf("playlist type = %v, want MASTER", kind)
	}
	return pl.(*m3u8.MasterPlaylist)
}

// mediaPeak returns the highest sample bitrate over the segments of
// track, without container overhead: a lower bound for BANDWIDTH.
func mediaPeak(t *testing.T, track *packager.Track, plan *packager.SegmentPlan) float64 {
	t.Helper()
	var peak float64
	for _, r := range plan.Ranges[track.Index] {
		if r.Start == r.End {
			continue
		}
		var bytes int64
		for _, s := range track.Samples[r.Start:r.End] {
			bytes += int64(s.Size)
		}
		last := track.Samples[r.End-1]
		dur := float64(last.Time+int64(last.Dur)-track.Samples[r.Start].Time) / float64(track.Timescale)
		peak = max(peak, float64(bytes*8)/dur)
	}
	return peak
}

func TestMultivariantVariants(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	audio := p.Tracks[3]
	for _, proto := range []string{"hls-ts", "hls-ts3", "hls-cmaf"} {
		t.Run(proto, func(t *testing.T) {
			opts := testOptions(proto, "cbc")
			text, err := WriteMultivariant(nil, p, plan, opts)
			if err != nil {
				t.Fatal(err)
			}
			pl := decodeMultivariant(t, text)
			if got, want := len(pl.Variants), 3; got != want {
				t.Fatalf("variant count = %d, want %d", got, want)
			}

			for i, v := range pl.Variants {
				video := p.Tracks[i]
				if want := video.CodecString + ",mp4a.40.2"; v.Codecs != want {
					t.Errorf("variant %d: CODECS = %q, want %q", i, v.Codecs, want)
				}
				if want := opts.PlaylistURI(video); v.URI != want {
					t.Errorf("variant %d: URI = %q, want %q", i, v.URI, want)
				}
				if want := itoa(int(video.Width)) + "x" + itoa(int(video.Height)); v.Resolution != want {
					t.Errorf("variant %d: RESOLUTION = %q, want %q", i, v.Resolution, want)
				}
				if v.Audio != "audio" {
					t.Errorf("variant %d: AUDIO = %q, want \"audio\"", i, v.Audio)
				}
				low := mediaPeak(t, video, plan) + mediaPeak(t, audio, plan)
				if float64(v.Bandwidth) < low || float64(v.Bandwidth) > 1.6*low {
					t.Errorf("variant %d: BANDWIDTH = %d, want between the media peak %.0f and 1.6 times it", i, v.Bandwidth, low)
				}

				legacy := opts.Version == VersionLegacy
				if legacy && (v.AverageBandwidth != 0 || v.FrameRate != 0) {
					t.Errorf("variant %d: version 3 playlist has AVERAGE-BANDWIDTH %d or FRAME-RATE %v", i, v.AverageBandwidth, v.FrameRate)
				}
				if !legacy && (v.FrameRate != 24 || v.AverageBandwidth == 0 || v.AverageBandwidth > v.Bandwidth) {
					t.Errorf("variant %d: FRAME-RATE = %v, AVERAGE-BANDWIDTH = %d, want 24 and in (0, %d]", i, v.FrameRate, v.AverageBandwidth, v.Bandwidth)
				}
			}

			if got := bytes.Count(text, []byte("#EXT-X-MEDIA:")); got != 1 {
				t.Errorf("EXT-X-MEDIA count = %d, want 1", got)
			}
			media := pl.Variants[0].Alternatives
			if len(media) == 0 {
				t.Fatal("variant 0 has no audio rendition")
			}
			a := media[0]
			if a.Type != "AUDIO" || a.GroupId != "audio" || a.Language != "en" || !a.Default || a.Autoselect != "YES" || a.URI != opts.PlaylistURI(audio) {
				t.Errorf("EXT-X-MEDIA = %+v, want an English default audio rendition at %q", a, opts.PlaylistURI(audio))
			}
			if channels := bytes.Contains(text, []byte(`CHANNELS="2"`)); channels == (opts.Version == VersionLegacy) {
				t.Errorf("CHANNELS present = %v at version %d", channels, opts.Version)
			}
			if strings.Contains(string(text), "PROGRAM-ID") {
				t.Error("playlist has PROGRAM-ID, which version 6 removed")
			}
		})
	}
}

func TestMultivariantAudioGroupsByCodec(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{AudioLangs: []string{"eng", "fra"}})
	p.Tracks[4].CodecString = "mp4a.40.5"

	text, err := WriteMultivariant(nil, p, plan, testOptions("hls-cmaf", "clear"))
	if err != nil {
		t.Fatal(err)
	}
	pl := decodeMultivariant(t, text)
	if got, want := len(pl.Variants), 6; got != want {
		t.Fatalf("variant count = %d, want one per video track and audio codec (%d)", got, want)
	}
	for _, want := range []string{
		`GROUP-ID="audio-mp4a.40.2",LANGUAGE="en"`,
		`GROUP-ID="audio-mp4a.40.5",LANGUAGE="fr"`,
		`CODECS="avc1.4d400d,mp4a.40.5"`,
		`AUDIO="audio-mp4a.40.5"`,
	} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("playlist lacks %s:\n%s", want, text)
		}
	}
}

func TestMultivariantAudioOnly(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{NoVideo: true})
	opts := testOptions("hls-ts", "clear")
	text, err := WriteMultivariant(nil, p, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	pl := decodeMultivariant(t, text)
	if len(pl.Variants) != 1 {
		t.Fatalf("variant count = %d, want 1", len(pl.Variants))
	}
	v := pl.Variants[0]
	if v.Codecs != "mp4a.40.2" || v.URI != opts.PlaylistURI(p.Tracks[0]) || v.Resolution != "" {
		t.Errorf("variant = %+v, want the audio track alone", v.VariantParams)
	}
	if bytes.Contains(text, []byte("#EXT-X-MEDIA:")) {
		t.Error("audio-only playlist has EXT-X-MEDIA")
	}
}

func TestMultivariantRejectsQuoteInURI(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	opts := testOptions("hls-ts", "clear")
	opts.PlaylistURI = func(*packager.Track) string { return `a"b.m3u8` }
	if _, err := WriteMultivariant(nil, p, plan, opts); err == nil {
		t.Fatal("got no error for a URI with a quote")
	}
}
