package fmp4

import (
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// FuzzSegmentCENC feeds arbitrary sample data to the CENC path, which
// walks NAL units in it: bad data must give an error, never a panic or
// an out-of-range slice.
func FuzzSegmentCENC(f *testing.F) {
	avc, hevc := allMedia[1].load(f), allMedia[6].load(f)
	for _, src := range []*sourceTrack{avc, hevc} {
		f.Add(src.data(0, 2), src.Samples[0].Size, src == hevc)
	}
	f.Add([]byte{0, 0, 0, 1, 0x65, 0xff, 0xff, 0xff, 0xff}, uint32(5), false)

	f.Fuzz(func(t *testing.T, data []byte, cut uint32, useHEVC bool) {
		src := avc
		if useHEVC {
			src = hevc
		}
		if int64(cut) > int64(len(data)) {
			cut = uint32(len(data))
		}
		track := *src.Track
		track.Samples = []packager.Sample{
			{Time: 0, Dur: 512, Size: cut, Sync: true},
			{Time: 512, Dur: 512, Size: uint32(len(data)) - cut},
		}

		out, err := Segment(nil, &track, 1, 0, track.Samples, data, cenc)
		if err == nil && len(out) < len(data) {
			t.Errorf("segment of %d bytes holds %d bytes of samples", len(out), len(data))
		}
		_, err2 := SmoothFragment(nil, &track, 1, 0, track.Samples, data, smoothTimescale, cenc)
		if (err == nil) != (err2 == nil) {
			t.Errorf("Segment error %v, SmoothFragment error %v", err, err2)
		}
	})
}
