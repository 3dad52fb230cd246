package ts

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// sampleEntrySize is the size of one sample in a fuzz table: size (2
// bytes, of which 14 bits count), signed CTO (1), duration (1) and a sync
// flag (1). Sizes up to 16 KB and at most maxFuzzSamples samples keep each
// run fast without losing any code path.
const (
	sampleEntrySize = 5
	maxFuzzSamples  = 200
)

// FuzzSegment feeds random sample tables and data to Segment for an H.264,
// an HEVC and an AAC track. Segment must not panic, and whatever it accepts
// must pass checkSegment.
func FuzzSegment(f *testing.F) {
	h264, h264File := loadTrack(f, filepath.Join(sampleDir, "video_416x234_200k.mp4"), packager.KindVideo)
	aac, aacFile := loadTrack(f, filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio)
	hevc, hevcFile := loadTrack(f, mp4ffTestdata(f, "ed_hevc.mp4"), packager.KindVideo)
	tracks := []*packager.Track{h264, aac, hevc}

	for i, seed := range []struct {
		track *packager.Track
		file  []byte
	}{{h264, h264File}, {aac, aacFile}, {hevc, hevcFile}} {
		samples := seed.track.Samples[:4]
		var table []byte
		for _, s := range samples {
			sync := byte(0)
			if s.Sync {
				sync = 1
			}
			table = binary.BigEndian.AppendUint16(table, uint16(s.Size))
			table = append(table, byte(int8(s.CTO/64)), byte(min(s.Dur, 255)), sync)
		}
		f.Add(byte(i), table, sampleData(seed.file, samples))
	}

	f.Fuzz(func(t *testing.T, selector byte, table, data []byte) {
		track := tracks[int(selector)%len(tracks)]
		var samples []packager.Sample
		var total, time int64
		for e := table; len(e) >= sampleEntrySize && len(samples) < maxFuzzSamples; e = e[sampleEntrySize:] {
			s := packager.Sample{
				Time: time,
				Size: uint32(binary.BigEndian.Uint16(e) & 0x3FFF),
				CTO:  int32(int8(e[2])),
				Dur:  uint32(e[3]),
				Sync: e[4]&1 != 0,
			}
			samples = append(samples, s)
			total += int64(s.Size)
			time += int64(s.Dur)
		}
		// Make the data match the table unless the selector requests a
		// mismatch, so most inputs get past the size check.
		if selector&0x80 == 0 {
			if int64(len(data)) > total {
				data = data[:total]
			} else {
				data = append(data, make([]byte, total-int64(len(data)))...)
			}
		}

		seg, err := Segment(nil, track, samples, data)
		if err != nil {
			return
		}
		if _, err := checkSegment(seg); err != nil {
			t.Fatalf("accepted input gave a broken segment: %v", err)
		}
	})
}
