package smooth

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/lockstream/lockstream/packager"
)

// qualityLevel returns the QualityLevel of track t.
func qualityLevel(t *packager.Track, index int, bitrate uint32) (QualityLevel, error) {
	q := QualityLevel{Index: index, Bitrate: bitrate}
	switch t.Codec {
	case packager.CodecAVC1, packager.CodecAVC3:
		if len(t.ParameterSets) == 0 {
			return q, fmt.Errorf("H.264 track %q has no SPS or PPS: %w", t.Name, packager.ErrInvalidMedia)
		}
		q.FourCC = "H264"
		q.MaxWidth, q.MaxHeight = int(t.Width), int(t.Height)
		q.CodecPrivateData = annexB(t.ParameterSets)
	case packager.CodecAAC:
		if len(t.AudioSpecificConfig) == 0 {
			return q, fmt.Errorf("AAC track %q has no AudioSpecificConfig: %w", t.Name, packager.ErrInvalidMedia)
		}
		// dash.js 5.2.1 (MssParser) accepts AACL and AACH, and maps AACH to
		// an HE-AAC codecs string.
		q.FourCC = "AACL"
		if t.AudioObjectType == 5 || t.AudioObjectType == 29 {
			q.FourCC = "AACH"
		}
		q.CodecPrivateData = strings.ToUpper(hex.EncodeToString(t.AudioSpecificConfig))
		q.SamplingRate, q.Channels = t.SampleRate, t.Channels
		// WAVEFORMATEX fields MS-SSTR requires for audio: 16-bit samples,
		// and AudioTag 255 for AAC in a raw (non-ADTS) payload.
		q.BitsPerSample, q.PacketSize, q.AudioTag = 16, 4, 255
	default:
		// NOTE: dash.js 5.2.1 plays no HEVC over Smooth (its MssParser
		// accepts only the FourCCs H264, AVC1 and AAC*), and MS-SSTR defines no HEVC FourCC.
		return q, fmt.Errorf("%s in Smooth Streaming is not supported (track %q); request DASH or HLS CMAF: %w",
			t.Codec, t.Name, packager.ErrUnsupported)
	}
	return q, nil
}

// annexB returns parameter sets as uppercase hex, each after a 4-byte
// start code, as MS-SSTR section 2.2.2.5 specifies CodecPrivateData for
// H.264.
func annexB(sets [][]byte) string {
	var b strings.Builder
	for _, ps := range sets {
		b.WriteString("00000001")
		b.WriteString(strings.ToUpper(hex.EncodeToString(ps)))
	}
	return b.String()
}
