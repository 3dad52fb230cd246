package ts

import (
	"fmt"
	"slices"

	"github.com/lockstream/lockstream/packager"
)

// pcrDelay is how far the PCR of a PES runs behind its DTS, in 90 kHz
// ticks, so the PES arrives before it is decoded in the system target
// decoder model. HLS clients fetch segments as fast as the network allows,
// so the exact value matters little. With PTSOffset, 100 ms keeps the PCR
// positive.
const pcrDelay = clockRate / 10

// perSampleOverhead is an upper bound of the bytes a sample adds beside its
// data (PES header, delimiter, start codes), used only to size dst once.
const perSampleOverhead = 64

// Segment appends one self-contained MPEG-TS segment of track t to dst and
// returns the extended slice. samples are consecutive samples of t, and
// data is their payloads concatenated in sample order: NAL units with
// length prefixes for video, raw AAC frames for audio.
//
// The segment starts with a PAT and a PMT, and continuity counters start at
// 0 on every PID. Video becomes one PES per access unit in Annex B form with
// an access unit delimiter, and the parameter sets of t before every IDR or
// IRAP picture unless the sample carries them in band. AAC becomes ADTS
// frames, several per PES. Each PES starts with a PCR. PTS is the
// presentation time in 90 kHz plus PTSOffset, and DTS the decode time minus
// the largest negative composition offset of t, so DTS <= PTS.
//
// Errors wrap packager.ErrUnsupported for a codec MPEG-TS cannot carry,
// packager.ErrInvalidMedia for data that does not match the samples, and
// packager.ErrNotFound when samples is empty. On error, dst is returned
// with nothing appended.
func Segment(dst []byte, t *packager.Track, samples []packager.Sample, data []byte) ([]byte, error) {
	if t == nil {
		return dst, fmt.Errorf("building MPEG-TS segment: no track: %w", packager.ErrInvalidMedia)
	}
	p, err := profileFor(t)
	if err != nil {
		return dst, err
	}
	if len(samples) == 0 {
		return dst, fmt.Errorf("track %q: MPEG-TS segment has no samples: %w", t.Name, packager.ErrNotFound)
	}

	// Check the sizes first, so the writers below can slice data freely.
	var total int64
	dtsShift := p.dtsShift
	extra := 0
	for _, s := range samples {
		total += int64(s.Size)
		dtsShift = max(dtsShift, -int64(s.CTO))
		if s.Sync {
			extra += len(p.paramSets)
		}
	}
	if total != int64(len(data)) {
		return dst, fmt.Errorf("track %q: sample data is %d bytes, but the %d samples of the segment add up to %d: %w",
			t.Name, len(data), len(samples), total, packager.ErrInvalidMedia)
	}

	start := len(dst)
	payload := len(data) + extra + len(samples)*perSampleOverhead
	dst = slices.Grow(dst, (2+payload/(packetSize-headerSize-pcrFieldSize)+len(samples))*packetSize)
	dst = append(dst, patPacket[:]...)
	dst = append(dst, p.pmt[:]...)

	w := pesWriter{buf: dst, pid: p.pid}
	if p.family == familyAAC {
		err = p.writeAudio(&w, t, samples, data, dtsShift)
	} else {
		err = p.writeVideo(&w, t, samples, data, dtsShift)
	}
	if err != nil {
		return w.buf[:start], err
	}
	return w.buf, nil
}

// writeVideo writes one PES per sample.
func (p *streamProfile) writeVideo(w *pesWriter, t *packager.Track, samples []packager.Sample, data []byte, dtsShift int64) error {
	off := 0
	for i, s := range samples {
		sample := data[off : off+int(s.Size)]
		off += len(sample)

		au, err := p.scanAccessUnit(sample)
		if err != nil {
			return fmt.Errorf("track %q: sample %d of the segment: %w: %w", t.Name, i, err, packager.ErrInvalidMedia)
		}
		randomAccess := s.Sync || au.irap
		withParams := randomAccess && !au.inBandParams
		size := len(p.aud) + au.size
		if withParams {
			size += len(p.paramSets)
		}

		h := timestamps(t, s, dtsShift)
		h.streamID = streamIDVideo
		w.begin(h.size()+size, h.dts-pcrDelay, randomAccess)
		var header [maxPESHeaderSize]byte
		w.write(h.appendTo(header[:0]))
		p.writeAccessUnit(w, sample, withParams)
		if !w.done() {
			return fmt.Errorf("track %q: sample %d of the segment: PES came out at the wrong size", t.Name, i)
		}
	}
	return nil
}

// timestamps returns a PES header with the PTS and DTS of s.
func timestamps(t *packager.Track, s packager.Sample, dtsShift int64) pesHeader {
	return pesHeader{
		pts: to90kHz(s.PresentationTime(), t.Timescale) + PTSOffset,
		dts: to90kHz(s.Time-dtsShift, t.Timescale) + PTSOffset,
	}
}
