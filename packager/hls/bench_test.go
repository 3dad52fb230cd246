package hls

import (
	"testing"

	"github.com/lockstream/lockstream/packager/internal/fixture"
)

// benchFixture is ten minutes in 4 s segments: 150 segments per track.
func benchFixture() fixture.Options {
	o := fixture.Options{VideoSeconds: 600}
	for s := 0; s <= 600; s += 4 {
		o.Boundaries = append(o.Boundaries, s)
	}
	return o
}

func BenchmarkWriteMultivariant(b *testing.B) {
	p, plan := fixture.Build(benchFixture())
	opts := testOptions("hls-ts", "cbc")
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		dst, err = WriteMultivariant(dst[:0], p, plan, opts)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkWriteMedia(b *testing.B) {
	p, plan := fixture.Build(benchFixture())
	for _, proto := range []string{"hls-ts", "hls-cmaf"} {
		for _, enc := range []string{"clear", "cbc"} {
			b.Run(proto+"/"+enc, func(b *testing.B) {
				opts := testOptions(proto, enc)
				var dst []byte
				b.ReportAllocs()
				for b.Loop() {
					var err error
					dst, err = WriteMedia(dst[:0], p.Tracks[0], plan, opts)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(dst)))
			})
		}
	}
}
