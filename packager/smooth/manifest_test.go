package smooth

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testKeyID is a public test key ID.
var testKeyID = [16]byte{0x5f, 0x2a, 0x9c, 0x3e, 0x8d, 0x41, 0x4b, 0x6a, 0x9e, 0x07, 0x1c, 0x3d, 0x5b, 0x7f, 0x9a, 0x21}

func fragmentURL(stream string, bitrate uint32, start int64) string {
	return "QualityLevels(" + strconv.FormatUint(uint64(bitrate), 10) + ")/Fragments(" + stream + "=" + strconv.FormatInt(start, 10) + ")"
}

func build(t testing.TB, o fixture.Options, encrypted bool) (*packager.Presentation, *packager.SegmentPlan, *Manifest, []byte) {
	t.Helper()
	p, plan := fixture.Build(o)
	opts := &Options{}
	if encrypted {
		opts.KeyID = &testKeyID
	}
	m, err := New(p, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	text, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, plan, m, text
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file      string
		fixture   fixture.Options
		encrypted bool
	}{
		{"clear.ismc", fixture.Options{}, false},
		{"cenc.ismc", fixture.Options{}, true},
		{"clear-two-languages-late-start.ismc", fixture.Options{AudioLangs: []string{"eng", "fra"}, StartTicks: 1024}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, _, _, got := build(t, tt.fixture, tt.encrypted)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", tt.file, got, want)
			}
		})
	}
}

func TestManifestStructure(t *testing.T) {
	for _, start := range []int64{0, 1024} {
		t.Run("start-"+strconv.FormatInt(start, 10), func(t *testing.T) {
			p, plan, _, text := build(t, fixture.Options{StartTicks: start, AudioLangs: []string{"eng", "fra"}}, false)
			var media SmoothStreamingMedia
			if err := xml.Unmarshal(text, &media); err != nil {
				t.Fatalf("parsing manifest: %v", err)
			}
			if media.MajorVersion != 2 || media.TimeScale != TimeScale {
				t.Errorf("MajorVersion %d, TimeScale %d, want 2 and %d", media.MajorVersion, media.TimeScale, TimeScale)
			}
			if len(media.Streams) != 3 {
				t.Fatalf("StreamIndex count = %d, want 3", len(media.Streams))
			}
			names := []string{"video", "audio_eng", "audio_fra"}
			for i, si := range media.Streams {
				if si.Name != names[i] {
					t.Errorf("stream %d: Name = %q, want %q", i, si.Name, names[i])
				}
				if want := "QualityLevels({bitrate})/Fragments(" + si.Name + "={start time})"; si.URL != want {
					t.Errorf("stream %s: Url = %q, want %q", si.Name, si.URL, want)
				}
				if si.Chunks != len(si.Chunk) || si.Chunks != plan.SegmentCount() || si.QualityLevels != len(si.Levels) {
					t.Errorf("stream %s: Chunks %d, c elements %d, QualityLevels %d, levels %d", si.Name, si.Chunks, len(si.Chunk), si.QualityLevels, len(si.Levels))
				}
			}
			checkChunks(t, p.Tracks[0], media.Streams[0])
			checkChunks(t, p.Tracks[3], media.Streams[1])
		})
	}
}

// checkChunks checks that the chunk list of si starts at the rescaled
// time of the track's first sample, needs t only there, and adds up to
// the rescaled track duration.
func checkChunks(t *testing.T, track *packager.Track, si StreamIndex) {
	t.Helper()
	first := si.Chunk[0]
	if first.T == nil {
		t.Fatalf("stream %s: first c has no t", si.Name)
	}
	if want := smoothTime(track.Samples[0].Time, track.Timescale, TimeScale); *first.T != want {
		t.Errorf("stream %s: first t = %d, want the first fragment's time %d", si.Name, *first.T, want)
	}
	var sum int64
	for i, c := range si.Chunk {
		if i > 0 && c.T != nil {
			t.Errorf("stream %s: chunk %d has t=%d without a gap", si.Name, i, *c.T)
		}
		sum += c.D
	}
	start := track.Samples[0].Time
	if want := smoothTime(track.Duration, track.Timescale, TimeScale) - smoothTime(start, track.Timescale, TimeScale); sum != want {
		t.Errorf("stream %s: sum of d = %d, want the rescaled track duration %d", si.Name, sum, want)
	}
}

func TestQualityLevels(t *testing.T) {
	p, _, m, _ := build(t, fixture.Options{}, false)
	video, audio := m.Media().Streams[0], m.Media().Streams[1]

	l := video.Levels[2]
	if l.FourCC != "H264" || l.Bitrate != p.Tracks[2].Bitrate || l.MaxWidth != 854 || l.MaxHeight != 480 {
		t.Errorf("video level = %+v", l)
	}
	if want := "000000016764001EACD940D83DE6F011000003000100000300300F162D960000000168EBECB22C"; l.CodecPrivateData != want {
		t.Errorf("CodecPrivateData = %s, want %s", l.CodecPrivateData, want)
	}
	if video.MaxWidth != 854 || video.DisplayHeight != 480 {
		t.Errorf("stream MaxWidth %d DisplayHeight %d, want 854 and 480", video.MaxWidth, video.DisplayHeight)
	}

	a := audio.Levels[0]
	want := QualityLevel{Index: 0, Bitrate: p.Tracks[3].Bitrate, FourCC: "AACL", CodecPrivateData: "119056E500",
		SamplingRate: 48000, Channels: 2, BitsPerSample: 16, PacketSize: 4, AudioTag: 255}
	if a != want {
		t.Errorf("audio level = %+v, want %+v", a, want)
	}
}

func TestUniqueBitrates(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	for _, tr := range p.Tracks[:3] {
		tr.Bitrate = 300000
	}
	m, err := New(p, plan, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []uint32{}
	for _, l := range m.Media().Streams[0].Levels {
		got = append(got, l.Bitrate)
	}
	if got[0] != 300000 || got[1] != 300001 || got[2] != 300002 {
		t.Errorf("bitrates = %v, want 300000, 300001, 300002", got)
	}
	track, _, err := m.Lookup("video", 300001, 0)
	if err != nil || track != 1 {
		t.Errorf("Lookup(300001) = track %d, %v; want track 1", track, err)
	}
}

func TestLookupEveryFragment(t *testing.T) {
	p, plan, m, _ := build(t, fixture.Options{StartTicks: 1024, AudioLangs: []string{"eng", "fra"}}, false)
	for _, si := range m.Media().Streams {
		for _, l := range si.Levels {
			var at int64
			for i, c := range si.Chunk {
				if c.T != nil {
					at = *c.T
				}
				track, segment, err := m.Lookup(si.Name, l.Bitrate, at)
				if err != nil {
					t.Fatalf("%s: %v", fragmentURL(si.Name, l.Bitrate, at), err)
				}
				if segment != i || p.Tracks[track].Bitrate != l.Bitrate {
					t.Errorf("%s: track %d segment %d, want segment %d of the track with bitrate %d",
						fragmentURL(si.Name, l.Bitrate, at), track, segment, i, l.Bitrate)
				}
				// The fragment of the same segment starts at this time.
				r := plan.Ranges[track][segment]
				tr := p.Tracks[track]
				if want := smoothTime(tr.Samples[r.Start].Time, tr.Timescale, TimeScale); at != want {
					t.Errorf("%s: chunk time %d, want fragment time %d", fragmentURL(si.Name, l.Bitrate, at), at, want)
				}
				if ft, err := m.FragmentTime(track, segment); err != nil || ft != at {
					t.Errorf("FragmentTime(%d, %d) = %d, %v; want %d", track, segment, ft, err, at)
				}
				at += c.D
			}
		}
	}
}

func TestLookupNotFound(t *testing.T) {
	p, _, m, _ := build(t, fixture.Options{}, false)
	bitrate := p.Tracks[0].Bitrate
	tests := []struct {
		name    string
		stream  string
		bitrate uint32
		start   int64
	}{
		{"unknown stream", "text", bitrate, 0},
		{"unknown bitrate", "video", 1, 0},
		{"time between fragments", "video", bitrate, 1},
		{"time past the end", "video", bitrate, 1 << 40},
		{"negative time", "video", bitrate, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := m.Lookup(tt.stream, tt.bitrate, tt.start)
			if !errors.Is(err, packager.ErrNotFound) {
				t.Errorf("Lookup error = %v, want packager.ErrNotFound", err)
			}
		})
	}
}

// TestProtectionHeaderKID reads the key ID back the way dash.js 5.2.1's
// MssParser does: PlayReady Object, first record of type 1, UTF-16LE XML,
// text of the KID element, GUID byte order swapped back to a UUID.
func TestProtectionHeaderKID(t *testing.T) {
	_, _, m, text := build(t, fixture.Options{}, true)
	prot := m.Media().Protection
	if prot == nil || prot.Header.SystemID != PlayReadySystemID {
		t.Fatalf("Protection = %+v, want a header with SystemID %s", prot, PlayReadySystemID)
	}
	if !bytes.Contains(text, []byte(`<ProtectionHeader SystemID="9A04F079-9840-4286-AB92-E65BE0885F95">`)) {
		t.Errorf("manifest lacks the ProtectionHeader element")
	}

	pro, err := base64.StdEncoding.DecodeString(prot.Header.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(pro); int(got) != len(pro) {
		t.Errorf("PlayReady Object length = %d, want %d", got, len(pro))
	}
	if typ := binary.LittleEndian.Uint16(pro[6:]); typ != 1 {
		t.Fatalf("first record type = %d, want 1", typ)
	}
	n := int(binary.LittleEndian.Uint16(pro[8:]))
	record := pro[10:]
	if n != len(record) || n%2 != 0 {
		t.Fatalf("record length = %d, want %d (even)", n, len(record))
	}
	units := make([]uint16, n/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(record[2*i:])
	}
	var header struct {
		Version string `xml:"version,attr"`
		KID     string `xml:"DATA>KID"`
	}
	if err := xml.Unmarshal([]byte(string(utf16.Decode(units))), &header); err != nil {
		t.Fatalf("parsing WRMHEADER: %v", err)
	}
	if header.Version != "4.0.0.0" {
		t.Errorf("WRMHEADER version = %q, want 4.0.0.0", header.Version)
	}
	kid, err := base64.StdEncoding.DecodeString(header.KID)
	if err != nil || len(kid) != 16 {
		t.Fatalf("KID %q: %v", header.KID, err)
	}
	kid[0], kid[1], kid[2], kid[3] = kid[3], kid[2], kid[1], kid[0]
	kid[4], kid[5] = kid[5], kid[4]
	kid[6], kid[7] = kid[7], kid[6]
	if !bytes.Equal(kid, testKeyID[:]) {
		t.Errorf("KID = % x, want % x", kid, testKeyID)
	}
	if bytes.Contains(text, []byte("LA_URL")) {
		t.Error("header names a PlayReady license URL the server does not serve")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*packager.Presentation, *packager.SegmentPlan)
		is     error
		text   string
	}{
		{"HEVC", func(p *packager.Presentation, _ *packager.SegmentPlan) { p.Tracks[1].Codec = packager.CodecHVC1 }, packager.ErrUnsupported, "request DASH or HLS CMAF"},
		{"no SPS", func(p *packager.Presentation, _ *packager.SegmentPlan) { p.Tracks[0].ParameterSets = nil }, packager.ErrInvalidMedia, "video_200k"},
		{"unaligned video", func(p *packager.Presentation, plan *packager.SegmentPlan) {
			plan.Ranges[1][0].End += 48
			plan.Ranges[1][1].Start += 48
		}, packager.ErrInvalidMedia, "other segment times"},
		{"no tracks", func(p *packager.Presentation, _ *packager.SegmentPlan) { p.Tracks = nil }, packager.ErrNotFound, "no video or audio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, plan := fixture.Build(fixture.Options{})
			tt.change(p, plan)
			_, err := New(p, plan, &Options{})
			if !errors.Is(err, tt.is) {
				t.Fatalf("error = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
		})
	}
}

func benchOptions() fixture.Options {
	o := fixture.Options{VideoSeconds: 600}
	for s := 0; s <= 600; s += 4 {
		o.Boundaries = append(o.Boundaries, s)
	}
	return o
}

func BenchmarkNew(b *testing.B) {
	p, plan := fixture.Build(benchOptions())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(p, plan, &Options{KeyID: &testKeyID}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	_, _, m, _ := build(b, benchOptions(), true)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = m.Append(dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkLookup(b *testing.B) {
	p, _, m, _ := build(b, benchOptions(), false)
	bitrate := p.Tracks[1].Bitrate
	start := m.Media().Streams[0].Chunk[0].D * 100
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Lookup("video", bitrate, start); err != nil {
			b.Fatal(err)
		}
	}
}
