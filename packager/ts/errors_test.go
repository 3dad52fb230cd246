package ts

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

func TestSegmentErrors(t *testing.T) {
	video, file := loadTrack(t, filepath.Join(sampleDir, "video_416x234_200k.mp4"), packager.KindVideo)
	samples := video.Samples[:10]
	data := sampleData(file, samples)

	// A NAL unit length prefix in sample 3 that points past the sample.
	badLength := append([]byte(nil), data...)
	third := 0
	for _, s := range samples[:3] {
		third += int(s.Size)
	}
	binary.BigEndian.PutUint32(badLength[third:], samples[3].Size)

	wvtt := &packager.Track{Name: "subs_eng", Codec: packager.CodecWVTT, Timescale: 1000}
	noTimescale := &packager.Track{Name: "video_zero", Codec: packager.CodecAVC1}
	mainProfile := &packager.Track{Name: "audio_main", Codec: packager.CodecAAC, Timescale: 48000, AudioSpecificConfig: []byte{0x09, 0x90}}
	noConfig := &packager.Track{Name: "audio_bare", Codec: packager.CodecAAC, Timescale: 48000}

	tests := []struct {
		name    string
		track   *packager.Track
		samples []packager.Sample
		data    []byte
		want    error
		message string
	}{
		{"truncated data", video, samples, data[:len(data)-1], packager.ErrInvalidMedia, `track "video_416x234_200k.mp4": sample data is`},
		{"extra data", video, samples, append(data[:len(data):len(data)], 0), packager.ErrInvalidMedia, "add up to"},
		{"NAL past sample", video, samples, badLength, packager.ErrInvalidMedia, "sample 3 of the segment"},
		{"zero samples", video, nil, nil, packager.ErrNotFound, "has no samples"},
		{"unknown codec", wvtt, samples, data, packager.ErrUnsupported, `track "subs_eng": codec "wvtt"`},
		{"zero timescale", noTimescale, samples, data, packager.ErrInvalidMedia, "timescale is 0"},
		{"AAC main profile", mainProfile, samples, data, packager.ErrUnsupported, "object type 1"},
		{"no AudioSpecificConfig", noConfig, samples, data, packager.ErrInvalidMedia, "no AudioSpecificConfig"},
		{"nil track", nil, samples, data, packager.ErrInvalidMedia, "no track"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := Segment(dst, tt.track, tt.samples, tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
			if string(got) != "prefix" {
				t.Errorf("dst came back as %d bytes, want it unchanged", len(got))
			}
		})
	}
}

func TestSegmentAudioFrameTooLarge(t *testing.T) {
	audio, _ := loadTrack(t, filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio)
	samples := []packager.Sample{{Size: maxADTSFrame, Dur: 1024}}
	_, err := Segment(nil, audio, samples, make([]byte, maxADTSFrame))
	if !errors.Is(err, packager.ErrInvalidMedia) || !strings.Contains(err.Error(), "sample 0 of the segment") {
		t.Fatalf("error %v, want invalid media naming sample 0", err)
	}
}
