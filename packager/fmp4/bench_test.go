package fmp4

import (
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// benchMedia is one two-second segment per codec.
var benchMedia = []struct {
	name  string
	media testMedia
}{
	{"avc", allMedia[2]},
	{"hevc", allMedia[6]},
	{"aac", allMedia[3]},
}

func BenchmarkSegmentClear(b *testing.B) { benchmarkSegment(b, packager.Protection{}) }
func BenchmarkSegmentCENC(b *testing.B)  { benchmarkSegment(b, cenc) }

func benchmarkSegment(b *testing.B, prot packager.Protection) {
	for _, bm := range benchMedia {
		b.Run(bm.name, func(b *testing.B) {
			src := bm.media.load(b)
			r := splitTwoSeconds(src.Track)[0]
			samples, data := src.Samples[r.Start:r.End], src.data(r.Start, r.End)
			dst, err := Segment(nil, src.Track, 1, r.Start, samples, data, prot)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = Segment(dst[:0], src.Track, 1, r.Start, samples, data, prot); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSmoothFragmentCENC(b *testing.B) {
	for _, bm := range benchMedia {
		b.Run(bm.name, func(b *testing.B) {
			src := bm.media.load(b)
			r := splitTwoSeconds(src.Track)[0]
			samples, data := src.Samples[r.Start:r.End], src.data(r.Start, r.End)
			dst, err := SmoothFragment(nil, src.Track, 1, r.Start, samples, data, smoothTimescale, cenc)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = SmoothFragment(dst[:0], src.Track, 1, r.Start, samples, data, smoothTimescale, cenc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkInitCENC(b *testing.B) {
	src := allMedia[2].load(b)
	dst, err := Init(nil, src.Track, cenc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = Init(dst[:0], src.Track, cenc); err != nil {
			b.Fatal(err)
		}
	}
}
