package fmp4

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

func TestSegmentDecodesLikeSource(t *testing.T) {
	requireFFmpeg(t)
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			out := packageTrack(t, src, packager.Protection{})

			got := framemd5(t, out.file())
			want := sourceFramemd5(t, src)
			if got != want {
				t.Errorf("framemd5 of packaged track differs from source\ngot:\n%s\nwant:\n%s", head(got, 12), head(want, 12))
			}
			if n := strings.Count(got, "\n0,"); n < len(src.Samples)/2 {
				t.Errorf("decoded %d frames from %d samples", n, len(src.Samples))
			}
		})
	}
}

func TestSegmentParseBack(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			out := packageTrack(t, src, packager.Protection{})
			for i, r := range out.ranges {
				checkParsedSegment(t, src, out.segments[i], uint32(i+1), r)
			}
		})
	}
}

// checkParsedSegment decodes one media segment with mp4ff and compares every
// field of its moof with the source samples, and every sample's bytes.
func checkParsedSegment(t *testing.T, src *sourceTrack, seg []byte, seq uint32, r packager.SampleRange) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(seg))
	if err != nil {
		t.Fatalf("segment %d: decoding: %v", seq, err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		t.Fatalf("segment %d: got %d segments, want 1 with 1 fragment", seq, len(f.Segments))
	}
	if got := f.Segments[0].Styp; got == nil || got.MajorBrand() != "msdh" {
		t.Errorf("segment %d: styp %v, want major brand msdh", seq, got)
	}
	frag := f.Segments[0].Fragments[0]
	traf := frag.Moof.Traf
	if got := frag.Moof.Mfhd.SequenceNumber; got != seq {
		t.Errorf("segment %d: mfhd sequence %d", seq, got)
	}
	if got := traf.Tfhd.TrackID; got != 1 {
		t.Errorf("segment %d: tfhd track ID %d, want 1", seq, got)
	}
	if !traf.Tfhd.DefaultBaseIfMoof() {
		t.Errorf("segment %d: tfhd lacks default-base-is-moof", seq)
	}
	want := src.Samples[r.Start:r.End]
	if got := traf.Tfdt.BaseMediaDecodeTime(); got != uint64(want[0].Time) {
		t.Errorf("segment %d: tfdt %d, want %d", seq, got, want[0].Time)
	}
	if traf.Tfdt.Version != 1 || traf.Trun.Version != 1 {
		t.Errorf("segment %d: tfdt version %d, trun version %d, want 1 and 1", seq, traf.Tfdt.Version, traf.Trun.Version)
	}

	samples, err := frag.GetFullSamples(nil)
	if err != nil {
		t.Fatalf("segment %d: reading samples: %v", seq, err)
	}
	if len(samples) != len(want) {
		t.Fatalf("segment %d: %d samples, want %d", seq, len(samples), len(want))
	}
	data := src.data(r.Start, r.End)
	for i, s := range samples {
		w := want[i]
		flags := mp4.DecodeSampleFlags(s.Flags)
		if s.DecodeTime != uint64(w.Time) || s.Dur != w.Dur || s.Size != w.Size || s.CompositionTimeOffset != w.CTO {
			t.Errorf("segment %d sample %d: time %d dur %d size %d cto %d, want %d %d %d %d", seq, i,
				s.DecodeTime, s.Dur, s.Size, s.CompositionTimeOffset, w.Time, w.Dur, w.Size, w.CTO)
		}
		if flags.SampleIsNonSync == w.Sync {
			t.Errorf("segment %d sample %d: non-sync flag %v for sync %v", seq, i, flags.SampleIsNonSync, w.Sync)
		}
		wantDepends := byte(1)
		if w.Sync {
			wantDepends = 2
		}
		if flags.SampleDependsOn != wantDepends {
			t.Errorf("segment %d sample %d: depends-on %d, want %d", seq, i, flags.SampleDependsOn, wantDepends)
		}
		if !bytes.Equal(s.Data, data[:w.Size]) {
			t.Errorf("segment %d sample %d: data differs from source", seq, i)
		}
		data = data[w.Size:]
	}

	// The data offset must point at the first payload byte of mdat, counted
	// from the start of moof.
	moofStart := int(frag.Moof.StartPos)
	offset := moofStart + int(traf.Trun.DataOffset)
	first := src.data(r.Start, r.Start+1)
	if offset+len(first) > len(seg) || !bytes.Equal(seg[offset:offset+len(first)], first) {
		t.Errorf("segment %d: trun data offset %d does not point at the first sample", seq, traf.Trun.DataOffset)
	}
}

func TestSegmentBadInput(t *testing.T) {
	src := allMedia[1].load(t)
	samples := src.Samples[:48]
	data := src.data(0, 48)

	unknown := *src.Track
	unknown.Codec = "vp09"
	text := *src.Track
	text.Kind, text.Codec = packager.KindText, packager.CodecWVTT
	shortConfig := *src.Track
	shortConfig.DecoderConfig = shortConfig.DecoderConfig[:3]
	negative := append([]packager.Sample(nil), samples...)
	negative[0].Time = -1
	garbage := bytes.Repeat([]byte{0xff}, len(data))

	tests := []struct {
		name    string
		track   *packager.Track
		first   int
		samples []packager.Sample
		data    []byte
		prot    packager.Protection
		want    error
	}{
		{"short data", src.Track, 0, samples, data[:len(data)-1], packager.Protection{}, packager.ErrInvalidMedia},
		{"long data", src.Track, 0, samples, append(data[:len(data):len(data)], 0), packager.Protection{}, packager.ErrInvalidMedia},
		{"unknown codec", &unknown, 0, samples, data, packager.Protection{}, packager.ErrUnsupported},
		{"zero samples", src.Track, 0, nil, nil, packager.Protection{}, packager.ErrNotFound},
		{"first out of range", src.Track, len(src.Samples) - 10, samples, data, packager.Protection{}, packager.ErrNotFound},
		{"negative first", src.Track, -1, samples, data, packager.Protection{}, packager.ErrNotFound},
		{"negative time", src.Track, 0, negative, data, packager.Protection{}, packager.ErrInvalidMedia},
		{"cbc scheme", src.Track, 0, samples, data, packager.Protection{Scheme: packager.SchemeCBC}, packager.ErrUnsupported},
		{"unknown scheme", src.Track, 0, samples, data, packager.Protection{Scheme: 9}, packager.ErrUnsupported},
		{"cenc text", &text, 0, samples, data, cenc, packager.ErrUnsupported},
		{"cenc short config", &shortConfig, 0, samples, data, cenc, packager.ErrInvalidMedia},
		{"cenc bad NAL lengths", src.Track, 0, samples, garbage, cenc, packager.ErrInvalidMedia},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			for _, write := range []struct {
				name string
				fn   func() ([]byte, error)
			}{
				{"Segment", func() ([]byte, error) {
					return Segment(dst, tc.track, 7, tc.first, tc.samples, tc.data, tc.prot)
				}},
				{"SmoothFragment", func() ([]byte, error) {
					return SmoothFragment(dst, tc.track, 7, tc.first, tc.samples, tc.data, 10_000_000, tc.prot)
				}},
			} {
				out, err := write.fn()
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s: error %v, want %v", write.name, err, tc.want)
				}
				if !strings.Contains(err.Error(), src.Name) {
					t.Errorf("%s: error %q does not name track %q", write.name, err, src.Name)
				}
				if string(out) != "prefix" {
					t.Errorf("%s: dst changed to %d bytes on error", write.name, len(out))
				}
			}
		})
	}
}

func TestSegmentDeterministic(t *testing.T) {
	src := allMedia[0].load(t)
	for _, prot := range []packager.Protection{{}, cenc} {
		a := packageTrack(t, src, prot)
		b := packageTrack(t, src, prot)
		if !bytes.Equal(a.file(), b.file()) {
			t.Errorf("scheme %s: two runs differ", prot.Scheme)
		}
	}
}

func TestSegmentAppendsToDst(t *testing.T) {
	src := allMedia[3].load(t)
	want, err := Segment(nil, src.Track, 1, 0, src.Samples[:10], src.data(0, 10), cenc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Segment([]byte("abc"), src.Track, 1, 0, src.Samples[:10], src.data(0, 10), cenc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:3]) != "abc" || !bytes.Equal(got[3:], want) {
		t.Errorf("segment appended to a prefix differs from one written to nil")
	}
}

func head(s string, lines int) string {
	parts := strings.SplitN(s, "\n", lines+1)
	return strings.Join(parts[:min(lines, len(parts))], "\n")
}
