package fmp4

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

var update = flag.Bool("update", false, "rewrite the golden box dumps in testdata")

// TestGoldenDumps compares mp4ff box dumps of the init segment and the
// first segment of mp4ff's bbb_prog_10s.mp4 video with testdata. That
// source is fixed by the mp4ff version in go.mod, so the dumps change only
// when the output does.
func TestGoldenDumps(t *testing.T) {
	src := allMedia[4].load(t)
	r := splitTwoSeconds(src.Track)[0]
	samples, data := src.Samples[r.Start:r.End], src.data(r.Start, r.End)

	tests := []struct {
		name  string
		write func() ([]byte, error)
		// init is prepended for parsing and left out of the dump.
		init []byte
	}{
		{"init_clear", func() ([]byte, error) { return Init(nil, src.Track, packager.Protection{}) }, nil},
		{"init_cenc", func() ([]byte, error) { return Init(nil, src.Track, cenc) }, nil},
		{"segment_clear", func() ([]byte, error) {
			return Segment(nil, src.Track, 1, r.Start, samples, data, packager.Protection{})
		}, nil},
		{"segment_cenc", func() ([]byte, error) {
			return Segment(nil, src.Track, 1, r.Start, samples, data, cenc)
		}, packageInitForParse(t, src)},
		{"smooth_cenc", func() ([]byte, error) {
			return SmoothFragment(nil, src.Track, 1, r.Start, samples, data, smoothTimescale, cenc)
		}, packageInitForParse(t, src)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.write()
			if err != nil {
				t.Fatal(err)
			}
			got := dumpBoxes(t, append(tc.init, out...), len(tc.init) > 0)

			path := filepath.Join("testdata", "golden_"+tc.name+".txt")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("box dump differs from %s (run with -update if the change is intended)\ngot:\n%s", path, got)
			}
		})
	}
}

// dumpBoxes returns mp4ff's box dump of b, of its media segments only
// when skipInit is set.
func dumpBoxes(t *testing.T, b []byte, skipInit bool) []byte {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding output: %v", err)
	}
	var out bytes.Buffer
	if !skipInit {
		if err := f.Info(&out, "all:1", "", "  "); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			if _, parsed := frag.Moof.Traf.ContainsSencBox(); !parsed {
				if err := frag.Moof.Traf.ParseReadSenc(ivSize, frag.Moof.StartPos); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := seg.Info(&out, "all:1", "", "  "); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}
