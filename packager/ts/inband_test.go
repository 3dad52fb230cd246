package ts

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// An avc3 stream carries SPS and PPS in band, and some sources keep access
// unit delimiters in their samples. The segment must still hold exactly one
// delimiter per access unit and one SPS and PPS before each IDR picture.
func TestSegmentInBandParameterSets(t *testing.T) {
	track, file := loadTrack(t, filepath.Join(sampleDir, "video_640x360_400k.mp4"), packager.KindVideo)
	avc3 := *track
	avc3.Codec = packager.CodecAVC3
	avc3.Samples = append([]packager.Sample(nil), track.Samples[:96]...)

	prefixed := func(nals ...[]byte) []byte {
		var b []byte
		for _, nal := range nals {
			b = binary.BigEndian.AppendUint32(b, uint32(len(nal)))
			b = append(b, nal...)
		}
		return b
	}
	var data []byte
	for i := range avc3.Samples {
		s := &avc3.Samples[i]
		extra := prefixed([]byte{0x09, 0xF0})
		if s.Sync {
			extra = prefixed([]byte{0x09, 0xF0}, track.ParameterSets[0], track.ParameterSets[1])
		}
		data = append(data, extra...)
		data = append(data, file[s.Offset:s.Offset+int64(s.Size)]...)
		s.Size += uint32(len(extra))
	}

	seg, err := Segment(nil, &avc3, avc3.Samples, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := checkSegment(seg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := checkVideoAccessUnits(r, familyH264)
	if err != nil {
		t.Fatal(err)
	}
	if keys != 2 {
		t.Errorf("%d IDR access units, want 2", keys)
	}
}
