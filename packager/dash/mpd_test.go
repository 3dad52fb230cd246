package dash

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zencoder/go-dash/v3/mpd"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/fmp4"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

func TestMPDStructure(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		for _, start := range []int64{0, 1024} {
			name := map[bool]string{false: "clear", true: "cenc"}[encrypted] + "/start-" + itoa(int(start))
			t.Run(name, func(t *testing.T) {
				p, plan := fixture.Build(fixture.Options{StartTicks: start, AudioLangs: []string{"eng", "fra"}})
				opts := testOptions(ProfileCMAF, encrypted)
				text, err := Write(nil, p, plan, opts)
				if err != nil {
					t.Fatal(err)
				}
				m, err := mpd.ReadFromString(string(text))
				if err != nil {
					t.Fatalf("parsing MPD: %v", err)
				}
				if *m.Profiles != string(ProfileCMAF) || *m.Type != "static" {
					t.Errorf("profiles = %q, type = %q", *m.Profiles, *m.Type)
				}
				sets := m.Periods[0].AdaptationSets
				if len(sets) != 3 {
					t.Fatalf("AdaptationSet count = %d, want 3 (video, eng, fra)", len(sets))
				}
				for _, as := range sets {
					checkAdaptationSet(t, p, plan, as)
				}
				checkNamespaces(t, text)
				if encrypted != bytes.Contains(text, []byte("cenc:default_KID")) {
					t.Errorf("cenc:default_KID present = %v, want %v", !encrypted, encrypted)
				}
			})
		}
	}
}

func checkAdaptationSet(t *testing.T, p *packager.Presentation, plan *packager.SegmentPlan, as *mpd.AdaptationSet) {
	t.Helper()
	if as.SegmentAlignment == nil || !*as.SegmentAlignment {
		t.Errorf("AdaptationSet %s: segmentAlignment not true", *as.ID)
	}
	for _, r := range as.Representations {
		track := trackNamed(t, p, *r.ID)
		st := as.SegmentTemplate
		if st == nil {
			st = r.SegmentTemplate
		}
		if st == nil {
			t.Fatalf("Representation %s has no SegmentTemplate", *r.ID)
		}
		if *st.Timescale != int64(track.Timescale) || *st.StartNumber != 1 {
			t.Errorf("Representation %s: timescale %d, startNumber %d, want %d and 1", *r.ID, *st.Timescale, *st.StartNumber, track.Timescale)
		}
		checkTimeline(t, track, plan, st.SegmentTimeline)

		if *r.Codecs != track.CodecString {
			t.Errorf("Representation %s: codecs = %q, want %q", *r.ID, *r.Codecs, track.CodecString)
		}
		if *r.Bandwidth < int64(track.Bitrate) {
			t.Errorf("Representation %s: bandwidth %d is below the average bitrate %d", *r.ID, *r.Bandwidth, track.Bitrate)
		}
		if track.Kind == packager.KindAudio {
			if r.AudioChannelConfiguration == nil || *r.AudioChannelConfiguration.Value != "2" {
				t.Errorf("Representation %s: AudioChannelConfiguration = %+v, want value 2", *r.ID, r.AudioChannelConfiguration)
			}
			if want := packager.LanguageTag(track.Language); as.Lang == nil || *as.Lang != want {
				t.Errorf("Representation %s: AdaptationSet lang = %v, want %q", *r.ID, as.Lang, want)
			}
		}
		if track.Kind == packager.KindVideo && (*r.Width != int64(track.Width) || *r.FrameRate != "24" || r.Sar == nil) {
			t.Errorf("Representation %s: width %d, frameRate %q, sar %v", *r.ID, *r.Width, *r.FrameRate, r.Sar)
		}
	}
}

// checkTimeline checks that the timeline starts at the first sample,
// runs without gaps, lists one entry per segment with the plan's
// durations and adds up to the track duration.
func checkTimeline(t *testing.T, track *packager.Track, plan *packager.SegmentPlan, tl *mpd.SegmentTimeline) {
	t.Helper()
	var starts, durs []int64
	var next int64
	for i, s := range tl.Segments {
		if i == 0 && s.StartTime == nil {
			t.Fatalf("track %s: first S has no t", track.Name)
		}
		if s.StartTime != nil {
			if i > 0 && int64(*s.StartTime) != next {
				t.Errorf("track %s: S %d has t=%d, want %d (continuity)", track.Name, i, *s.StartTime, next)
			}
			next = int64(*s.StartTime)
		}
		repeat := 0
		if s.RepeatCount != nil {
			repeat = *s.RepeatCount
		}
		for range repeat + 1 {
			starts = append(starts, next)
			durs = append(durs, int64(s.Duration))
			next += int64(s.Duration)
		}
	}

	if len(durs) != plan.SegmentCount() {
		t.Fatalf("track %s: timeline lists %d segments, want %d", track.Name, len(durs), plan.SegmentCount())
	}
	if starts[0] != track.Samples[0].Time {
		t.Errorf("track %s: first t = %d, want the first sample's time %d", track.Name, starts[0], track.Samples[0].Time)
	}
	var sum int64
	for i, r := range plan.Ranges[track.Index] {
		last := track.Samples[r.End-1]
		want := last.Time + int64(last.Dur) - track.Samples[r.Start].Time
		if durs[i] != want {
			t.Errorf("track %s: segment %d d = %d, want %d", track.Name, i+1, durs[i], want)
		}
		sum += durs[i]
	}
	if want := track.Duration - starts[0]; sum != want {
		t.Errorf("track %s: sum of d = %d, want track duration %d", track.Name, sum, want)
	}
}

// checkNamespaces fails on any element or attribute whose prefix is not
// declared.
func checkNamespaces(t *testing.T, text []byte) {
	t.Helper()
	undeclared, err := undeclaredPrefixes(text)
	if err != nil {
		t.Fatalf("reading MPD XML: %v", err)
	}
	for _, u := range undeclared {
		t.Errorf("undeclared namespace prefix in %s", u)
	}
}

// undeclaredPrefixes returns the prefixed names whose prefix has no
// declaration in scope: encoding/xml leaves such a prefix in Name.Space
// instead of a namespace URI.
func undeclaredPrefixes(text []byte) ([]string, error) {
	var found []string
	d := xml.NewDecoder(bytes.NewReader(text))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		names := []xml.Name{start.Name}
		for _, a := range start.Attr {
			if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
				names = append(names, a.Name)
			}
		}
		for _, n := range names {
			if n.Space != "" && !strings.Contains(n.Space, ":") {
				found = append(found, n.Space+":"+n.Local)
			}
		}
	}
}

func TestUndeclaredPrefixesDetected(t *testing.T) {
	got, err := undeclaredPrefixes([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><ContentProtection cenc:default_KID="x"><dashif:laurl>u</dashif:laurl></ContentProtection></MPD>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("undeclared = %v, want cenc:default_KID and dashif:laurl", got)
	}
}

func trackNamed(t *testing.T, p *packager.Presentation, name string) *packager.Track {
	t.Helper()
	for _, tr := range p.Tracks {
		if tr.Name == name {
			return tr
		}
	}
	t.Fatalf("no track %q", name)
	return nil
}

func itoa(n int) string {
	if n >= 10 {
		return itoa(n/10) + string(rune('0'+n%10))
	}
	return string(rune('0' + n))
}

func TestProtectionDescriptors(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	text, err := Write(nil, p, plan, testOptions(ProfileCSF, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`schemeIdUri="urn:mpeg:dash:mp4protection:2011" xmlns:cenc="urn:mpeg:cenc:2013" cenc:default_KID="5f2a9c3e-8d41-4b6a-9e07-1c3d5b7f9a21" value="cenc"`,
		`<dashif:laurl>https://lockstream.test/keydelivery/clearkey</dashif:laurl>`,
		`<clearkey:Laurl Lic_type="EME-1.0">https://lockstream.test/keydelivery/clearkey</clearkey:Laurl>`,
		`xmlns:dashif="https://dashif.org/CPS"`,
		`xmlns:clearkey="http://dashif.org/guidelines/clearKey"`,
		`schemeIdUri="urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"`,
	} {
		if got := bytes.Count(text, []byte(want)); got != 2 {
			t.Errorf("%s appears %d times, want once per AdaptationSet (2)", want, got)
		}
	}
}

func TestCommonPSSH(t *testing.T) {
	box := fmp4.PSSH(testKeyID)
	cp := NewCommonSystemContentProtection(testKeyID)
	decoded, err := base64.StdEncoding.DecodeString(cp.PSSH)
	if err != nil || !bytes.Equal(decoded, box) {
		t.Fatalf("cenc:pssh does not decode to the box: %v", err)
	}
	if len(box) != 52 || string(box[4:8]) != "pssh" || box[8] != 1 {
		t.Errorf("box header = % x, want size 52, type pssh, version 1", box[:12])
	}
	commonSystemID := []byte{0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02, 0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b}
	if !bytes.Equal(box[12:28], commonSystemID) || !bytes.Equal(box[32:48], testKeyID[:]) {
		t.Errorf("box = % x, want the common system ID and the key ID", box)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options, *packager.SegmentPlan)
		is     error
		text   string
	}{
		{"bad profile", func(o *Options, _ *packager.SegmentPlan) { o.Profile = "urn:x" }, nil, "profile"},
		{"no $Number$", func(o *Options, _ *packager.SegmentPlan) { o.MediaTemplate = "x.m4s" }, nil, "$Number$"},
		{"no license URL", func(o *Options, _ *packager.SegmentPlan) { o.Protection = &Protection{} }, nil, "license URL"},
		{"empty middle segment", func(_ *Options, plan *packager.SegmentPlan) {
			plan.Ranges[3][1].End = plan.Ranges[3][1].Start
		}, packager.ErrInvalidMedia, "audio_eng"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, plan := fixture.Build(fixture.Options{})
			opts := testOptions(ProfileCSF, false)
			tt.change(opts, plan)
			_, err := Write(nil, p, plan, opts)
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

func BenchmarkWrite(b *testing.B) {
	o := fixture.Options{VideoSeconds: 600}
	for s := 0; s <= 600; s += 4 {
		o.Boundaries = append(o.Boundaries, s)
	}
	p, plan := fixture.Build(o)
	for _, encrypted := range []bool{false, true} {
		b.Run(map[bool]string{false: "clear", true: "cenc"}[encrypted], func(b *testing.B) {
			opts := testOptions(ProfileCMAF, encrypted)
			var dst []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				dst, err = Write(dst[:0], p, plan, opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}
