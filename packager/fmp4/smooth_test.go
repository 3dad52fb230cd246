package fmp4

import (
	"bytes"
	"math"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

const smoothTimescale = 10_000_000

func TestSmoothTime(t *testing.T) {
	tests := []struct {
		name     string
		t        int64
		from, to uint32
		want     int64
	}{
		{"same timescale", 12345, 90000, 90000, 12345},
		{"zero source timescale", 42, 0, 1000, 42},
		{"exact", 48000, 48000, smoothTimescale, smoothTimescale},
		{"rounds down", 1, 12288, smoothTimescale, 814},         // 813.802
		{"rounds up", 2, 12288, smoothTimescale, 1628},          // 1627.604
		{"half rounds away from zero", 1, 20, 10, 1},            // 0.5
		{"negative half rounds away from zero", -1, 20, 10, -1}, // -0.5
		{"negative", -1024, 48000, smoothTimescale, -213333},    // -213333.33
		{"large", 1 << 40, 90000, smoothTimescale, 122167958641778},
		{"saturates", math.MaxInt64, 1, smoothTimescale, math.MaxInt64},
		{"saturates negative", math.MinInt64, 1, smoothTimescale, -math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SmoothTime(tc.t, tc.from, tc.to); got != tc.want {
				t.Errorf("SmoothTime(%d, %d, %d) = %d, want %d", tc.t, tc.from, tc.to, got, tc.want)
			}
		})
	}
}

// smoothTraf returns the traf of a Smooth fragment and its tfxd.
func smoothTraf(t *testing.T, frag []byte) (*mp4.Fragment, *mp4.TfxdData) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(frag))
	if err != nil {
		t.Fatalf("decoding Smooth fragment: %v", err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		t.Fatalf("got %d segments, want 1 with 1 fragment", len(f.Segments))
	}
	fr := f.Segments[0].Fragments[0]
	for _, c := range fr.Moof.Traf.Children {
		if u, ok := c.(*mp4.UUIDBox); ok && u.Tfxd != nil {
			return fr, u.Tfxd
		}
	}
	t.Fatal("traf has no tfxd")
	return nil, nil
}

func TestSmoothFragmentParseBack(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			var next, total int64
			for i, r := range splitTwoSeconds(src.Track) {
				samples := src.Samples[r.Start:r.End]
				data := src.data(r.Start, r.End)
				out, err := SmoothFragment(nil, src.Track, uint32(i+1), r.Start, samples, data, smoothTimescale, packager.Protection{})
				if err != nil {
					t.Fatal(err)
				}
				frag, tfxd := smoothTraf(t, out)
				traf := frag.Moof.Traf

				start := SmoothTime(samples[0].Time, src.Timescale, smoothTimescale)
				if tfxd.Version != 1 || tfxd.FragmentAbsoluteTime != uint64(start) {
					t.Errorf("fragment %d: tfxd version %d time %d, want 1 and %d", i+1, tfxd.Version, tfxd.FragmentAbsoluteTime, start)
				}
				if i > 0 && int64(tfxd.FragmentAbsoluteTime) != next {
					t.Errorf("fragment %d: starts at %d, previous fragment ends at %d", i+1, tfxd.FragmentAbsoluteTime, next)
				}
				if traf.Tfdt != nil || traf.Tfhd.Flags != 0 {
					t.Errorf("fragment %d: tfdt %v, tfhd flags %#x, want no tfdt and flags 0", i+1, traf.Tfdt, traf.Tfhd.Flags)
				}

				got, err := frag.GetFullSamples(nil)
				if err != nil {
					t.Fatal(err)
				}
				var dur int64
				for j, s := range got {
					want := samples[j]
					decode := start + int64(s.DecodeTime)
					if wantDecode := SmoothTime(want.Time, src.Timescale, smoothTimescale); decode != wantDecode {
						t.Errorf("fragment %d sample %d: decode time %d, want %d", i+1, j, decode, wantDecode)
					}
					if pts, wantPTS := decode+int64(s.CompositionTimeOffset), SmoothTime(want.PresentationTime(), src.Timescale, smoothTimescale); pts != wantPTS {
						t.Errorf("fragment %d sample %d: presentation time %d, want %d", i+1, j, pts, wantPTS)
					}
					if !bytes.Equal(s.Data, data[:want.Size]) {
						t.Errorf("fragment %d sample %d: data differs from source", i+1, j)
					}
					data = data[want.Size:]
					dur += int64(s.Dur)
				}
				if int64(tfxd.FragmentAbsoluteDuration) != dur {
					t.Errorf("fragment %d: tfxd duration %d, sample durations add up to %d", i+1, tfxd.FragmentAbsoluteDuration, dur)
				}
				next = start + dur
				total += dur
			}

			// Durations are differences of converted times, so their sum is
			// the converted track duration exactly.
			if want := SmoothTime(src.Duration, src.Timescale, smoothTimescale); total != want {
				t.Errorf("durations add up to %d, converted track duration is %d", total, want)
			}
		})
	}
}

// TestSmoothPIFFMatchesSegment checks that a Smooth fragment carries the
// same ciphertext, IVs and subsample ranges as the CMAF segment of the
// same samples.
func TestSmoothPIFFMatchesSegment(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			init := packageInitForParse(t, src)
			for i, r := range splitTwoSeconds(src.Track) {
				samples := src.Samples[r.Start:r.End]
				data := src.data(r.Start, r.End)
				seg, err := Segment(nil, src.Track, uint32(i+1), r.Start, samples, data, cenc)
				if err != nil {
					t.Fatal(err)
				}
				smooth, err := SmoothFragment(nil, src.Track, uint32(i+1), r.Start, samples, data, smoothTimescale, cenc)
				if err != nil {
					t.Fatal(err)
				}

				segFrag := decodeSegments(t, append(append([]byte(nil), init...), seg...)).Segments[0].Fragments[0]
				smoothFrag, _ := smoothTraf(t, smooth)
				if !bytes.Equal(smoothFrag.Mdat.Data, segFrag.Mdat.Data) {
					t.Errorf("fragment %d: Smooth mdat differs from segment mdat", i+1)
				}

				traf := smoothFrag.Moof.Traf
				if traf.Senc != nil || traf.Saiz != nil || traf.Saio != nil {
					t.Errorf("fragment %d: Smooth traf has senc, saiz or saio", i+1)
				}
				if traf.UUIDSenc == nil {
					t.Fatalf("fragment %d: no PIFF sample encryption box", i+1)
				}
				if _, parsed := traf.ContainsSencBox(); !parsed {
					if err := traf.ParseReadSenc(ivSize, smoothFrag.Moof.StartPos); err != nil {
						t.Fatalf("fragment %d: parsing PIFF box: %v", i+1, err)
					}
				}
				piff, senc := traf.UUIDSenc.Senc, sencOf(t, segFrag)
				if piff.Flags != senc.Flags || piff.SampleCount != senc.SampleCount {
					t.Errorf("fragment %d: PIFF flags %#x count %d, senc flags %#x count %d", i+1, piff.Flags, piff.SampleCount, senc.Flags, senc.SampleCount)
				}
				for j := range senc.IVs {
					if !bytes.Equal(piff.IVs[j], senc.IVs[j]) {
						t.Errorf("fragment %d sample %d: PIFF IV %x, senc IV %x", i+1, j, []byte(piff.IVs[j]), []byte(senc.IVs[j]))
					}
					if len(senc.SubSamples) > 0 && !equalSubsamples(piff.SubSamples[j], senc.SubSamples[j]) {
						t.Errorf("fragment %d sample %d: PIFF subsamples %v, senc %v", i+1, j, piff.SubSamples[j], senc.SubSamples[j])
					}
				}
			}
		})
	}
}

func equalSubsamples(a, b []mp4.SubSamplePattern) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSmoothFragmentBadTimescale(t *testing.T) {
	src := allMedia[3].load(t)
	_, err := SmoothFragment(nil, src.Track, 1, 0, src.Samples[:4], src.data(0, 4), 0, packager.Protection{})
	if err == nil {
		t.Fatal("timescale 0 accepted")
	}
}
