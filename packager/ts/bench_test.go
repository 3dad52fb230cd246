package ts

import (
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

func benchmarkSegment(b *testing.B, path string, kind packager.TrackKind) {
	track, file := loadTrack(b, path, kind)
	r := splitSegments(track, segmentSeconds)[0]
	samples := track.Samples[r[0]:r[1]]
	data := sampleData(file, samples)
	dst, err := Segment(nil, track, samples, data)
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dst, err = Segment(dst[:0], track, samples, data)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSegmentVideo muxes the first 6 s segment of the 854x480 H.264
// rendition (about 500 KB) into a reused buffer.
func BenchmarkSegmentVideo(b *testing.B) {
	benchmarkSegment(b, filepath.Join(sampleDir, "video_854x480_700k.mp4"), packager.KindVideo)
}

// BenchmarkSegmentAudio muxes the first 6 s segment of the 96 kbit/s AAC
// rendition into a reused buffer.
func BenchmarkSegmentAudio(b *testing.B) {
	benchmarkSegment(b, filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio)
}
