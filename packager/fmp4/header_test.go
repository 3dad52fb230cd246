package fmp4

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// TestHeaderThenDataMatchesWhole checks the contract of SegmentHeader and
// SmoothFragmentHeader: their output followed by the (in place encrypted)
// sample data is byte for byte what Segment and SmoothFragment return.
func TestHeaderThenDataMatchesWhole(t *testing.T) {
	protections := []struct {
		name string
		prot packager.Protection
	}{
		{"clear", packager.Protection{}},
		{"cenc", cenc},
	}
	for _, m := range allMedia {
		for _, p := range protections {
			t.Run(m.name+"/"+p.name, func(t *testing.T) {
				src := m.load(t)
				for i, r := range splitTwoSeconds(src.Track) {
					samples := src.Samples[r.Start:r.End]
					original := src.data(r.Start, r.End)

					whole, err := Segment(nil, src.Track, uint32(i+1), r.Start, samples, original, p.prot)
					if err != nil {
						t.Fatalf("Segment %d: %v", i+1, err)
					}
					data := bytes.Clone(original)
					header, err := SegmentHeader([]byte("prefix"), src.Track, uint32(i+1), r.Start, samples, data, p.prot)
					if err != nil {
						t.Fatalf("SegmentHeader %d: %v", i+1, err)
					}
					if got := append(header[len("prefix"):], data...); !bytes.Equal(got, whole) {
						t.Errorf("segment %d: header and data (%d bytes) differ from Segment (%d bytes)", i+1, len(got), len(whole))
					}

					whole, err = SmoothFragment(nil, src.Track, uint32(i+1), r.Start, samples, original, smoothTimescale, p.prot)
					if err != nil {
						t.Fatalf("SmoothFragment %d: %v", i+1, err)
					}
					data = bytes.Clone(original)
					header, err = SmoothFragmentHeader(nil, src.Track, uint32(i+1), r.Start, samples, data, smoothTimescale, p.prot)
					if err != nil {
						t.Fatalf("SmoothFragmentHeader %d: %v", i+1, err)
					}
					if got := append(header, data...); !bytes.Equal(got, whole) {
						t.Errorf("fragment %d: header and data (%d bytes) differ from SmoothFragment (%d bytes)", i+1, len(got), len(whole))
					}
				}
			})
		}
	}
}

// TestSegmentHeaderErrorLeavesData checks that a rejected request leaves
// both dst and the sample data as they were.
func TestSegmentHeaderErrorLeavesData(t *testing.T) {
	src := allMedia[0].load(t)
	r := splitTwoSeconds(src.Track)[0]
	samples := src.Samples[r.Start:r.End]
	data := src.data(r.Start, r.End)
	short := bytes.Clone(data[:len(data)-1])

	dst := []byte("prefix")
	got, err := SegmentHeader(dst, src.Track, 1, r.Start, samples, short, cenc)
	if !errors.Is(err, packager.ErrInvalidMedia) {
		t.Errorf("error = %v, want ErrInvalidMedia", err)
	}
	if string(got) != "prefix" {
		t.Errorf("dst = %q, want %q", got, "prefix")
	}
	if !bytes.Equal(short, data[:len(data)-1]) {
		t.Error("sample data changed although the segment was rejected")
	}
}

func BenchmarkSegmentHeaderCENC(b *testing.B) {
	for _, bm := range benchMedia {
		b.Run(bm.name, func(b *testing.B) {
			src := bm.media.load(b)
			r := splitTwoSeconds(src.Track)[0]
			samples, data := src.Samples[r.Start:r.End], bytes.Clone(src.data(r.Start, r.End))
			dst, err := SegmentHeader(nil, src.Track, 1, r.Start, samples, data, cenc)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(dst) + len(data)))
			b.ReportAllocs()
			for b.Loop() {
				// Encrypting the ciphertext again is as much work as
				// encrypting the clear data, and the NAL structure the
				// subsample ranges come from stays clear.
				if dst, err = SegmentHeader(dst[:0], src.Track, 1, r.Start, samples, data, cenc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
