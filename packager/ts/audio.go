package ts

import (
	"fmt"

	"github.com/lockstream/lockstream/packager"
)

const (
	adtsHeaderSize = 7 // protection_absent is set, so there is no CRC
	maxADTSFrame   = 1<<13 - 1

	// maxAudioPESDuration bounds the time an audio PES spans, in 90 kHz
	// ticks. Each PES starts with a PCR, so this also bounds the PCR
	// interval to the 100 ms that ISO/IEC 13818-1 section 2.7.2 allows,
	// except when a single frame lasts longer (AAC below 10.24 kHz).
	maxAudioPESDuration = clockRate / 10
	// maxAudioPESPayload keeps PES_packet_length, which counts the 3 flag
	// bytes, up to 10 timestamp bytes and the payload, within 16 bits.
	maxAudioPESPayload = 0xFFFF - 13
)

// writeAudio writes the AAC frames of samples as ADTS frames, several per
// PES, each PES as long as maxAudioPESDuration and maxAudioPESPayload allow
// and no longer than a run of frames without a gap in time.
func (p *streamProfile) writeAudio(w *pesWriter, t *packager.Track, samples []packager.Sample, data []byte, dtsShift int64) error {
	off := 0
	for first := 0; first < len(samples); {
		end, payload, err := audioRun(t, samples, first)
		if err != nil {
			return err
		}

		h := timestamps(t, samples[first], dtsShift)
		h.streamID = streamIDAudio
		h.payloadSize = payload
		w.begin(h.size()+payload, h.dts-pcrDelay, true)
		var header [maxPESHeaderSize]byte
		w.write(h.appendTo(header[:0]))

		for _, s := range samples[first:end] {
			frame := data[off : off+int(s.Size)]
			off += len(frame)
			adts := p.adts
			setADTSFrameLength(&adts, adtsHeaderSize+len(frame))
			w.write(adts[:])
			w.write(frame)
		}
		if !w.done() {
			return fmt.Errorf("track %q: audio PES at sample %d came out at the wrong size", t.Name, first)
		}
		first = end
	}
	return nil
}

// audioRun returns the end of the run of samples that starts at first and
// fits in one PES, and the PES payload size of that run.
func audioRun(t *packager.Track, samples []packager.Sample, first int) (end, payload int, err error) {
	start := to90kHz(samples[first].PresentationTime(), t.Timescale)
	for end = first; end < len(samples); end++ {
		s := samples[end]
		frame := adtsHeaderSize + int(s.Size)
		if frame > maxADTSFrame {
			return 0, 0, fmt.Errorf("track %q: sample %d of the segment: AAC frame of %d bytes exceeds the ADTS maximum of %d: %w",
				t.Name, end, s.Size, maxADTSFrame-adtsHeaderSize, packager.ErrInvalidMedia)
		}
		if end > first {
			prev := samples[end-1]
			contiguous := s.PresentationTime() == prev.PresentationTime()+int64(prev.Dur)
			stop := to90kHz(s.PresentationTime()+int64(s.Dur), t.Timescale)
			if !contiguous || stop-start > maxAudioPESDuration || payload+frame > maxAudioPESPayload {
				break
			}
		}
		payload += frame
	}
	return end, payload, nil
}

// setADTSFrameLength sets the 13-bit frame_length of an ADTS header
// (ISO/IEC 13818-7 section 6.2), which counts the header itself.
func setADTSFrameLength(h *[adtsHeaderSize]byte, n int) {
	h[3] = h[3]&0xFC | byte(n>>11)
	h[4] = byte(n >> 3)
	h[5] = h[5]&0x1F | byte(n<<5)
}
