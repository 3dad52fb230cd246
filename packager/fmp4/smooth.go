package fmp4

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/lockstream/lockstream/packager"
)

// Smooth Streaming extension boxes, each a uuid box (ISO/IEC 14496-12
// section 4.2) with the type given here.
var (
	// uuidTfxd is the TfxdBox of MS-SSTR section 2.2.4.4: the fragment's
	// absolute time and duration.
	uuidTfxd = [16]byte{0x6d, 0x1d, 0x9b, 0x05, 0x42, 0xd5, 0x44, 0xe6,
		0x80, 0xe2, 0x14, 0x1d, 0xaf, 0xf7, 0x57, 0xb2}
	// uuidPiffSampleEncryption is the SampleEncryptionBox of PIFF 1.1.
	uuidPiffSampleEncryption = [16]byte{0xa2, 0x39, 0x4f, 0x52, 0x5a, 0x9b, 0x4f, 0x14,
		0xa2, 0x44, 0x6c, 0x42, 0x7c, 0x64, 0x8d, 0xf4}
)

// SmoothTime converts t from timescale from to timescale to, rounding to
// the nearest tick and halves away from zero. Smooth fragments convert the
// absolute time of every sample boundary with it, and durations are the
// differences of converted times, so rounding errors never add up over a
// track. The manifest writer must convert its c@t and c@d values the same
// way. A result beyond the int64 range saturates; from == 0 returns t.
func SmoothTime(t int64, from, to uint32) int64 {
	if from == to || from == 0 {
		return t
	}

	abs := uint64(t)
	if t < 0 {
		abs = -abs // two's complement, also right for math.MinInt64
	}
	hi, lo := bits.Mul64(abs, uint64(to))
	lo, carry := bits.Add64(lo, uint64(from/2), 0)
	hi += carry
	q := uint64(math.MaxInt64)
	if hi < uint64(from) {
		q, _ = bits.Div64(hi, lo, uint64(from))
		q = min(q, math.MaxInt64)
	}
	if t < 0 {
		return -int64(q)
	}
	return int64(q)
}

// timeRescale converts sample timing from the track timescale to the
// Smooth manifest's timescale.
type timeRescale struct {
	from, to uint32
}

// sample returns the converted duration and composition offset of s: the
// differences between its converted start, end and presentation times.
func (r *timeRescale) sample(s packager.Sample) (dur uint32, cto int32) {
	start := SmoothTime(s.Time, r.from, r.to)
	end := SmoothTime(s.Time+int64(s.Dur), r.from, r.to)
	pts := SmoothTime(s.PresentationTime(), r.from, r.to)
	return uint32(end - start), int32(pts - start)
}

func (r *timeRescale) negativeCTO(samples []packager.Sample) bool {
	for _, s := range samples {
		if _, cto := r.sample(s); cto < 0 {
			return true
		}
	}
	return false
}

// check reports a converted duration or composition offset that does not
// fit its trun field.
func (r *timeRescale) check(first int, samples []packager.Sample) error {
	for i, s := range samples {
		start := SmoothTime(s.Time, r.from, r.to)
		end := SmoothTime(s.Time+int64(s.Dur), r.from, r.to)
		pts := SmoothTime(s.PresentationTime(), r.from, r.to)
		if end-start > math.MaxUint32 || pts-start > math.MaxInt32 || pts-start < math.MinInt32 {
			return fmt.Errorf("sample %d does not fit a trun at timescale %d: %w",
				first+i, r.to, packager.ErrUnsupported)
		}
	}
	return nil
}

// SmoothFragment appends one Smooth Streaming fragment (moof and mdat,
// MS-SSTR section 2.2.4) holding samples to dst and returns the extended
// slice. Sample times are converted to timescale, the StreamIndex
// TimeScale of the client manifest, with SmoothTime; the tfxd box carries
// the fragment's converted start time and duration.
//
// first, data and prot mean what they mean for Segment. With
// packager.SchemeCENC the samples get the same IVs, subsample ranges and
// therefore ciphertext as Segment gives them, listed in a PIFF 1.1 sample
// encryption box. The fragment carries no senc, saiz or saio, because
// dash.js (src/mss/MssFragmentMoofProcessor.js) turns the PIFF box into
// senc and adds saiz and saio itself, and would then find two senc boxes.
//
// On error dst is returned unchanged in length.
func SmoothFragment(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, timescale uint32, prot packager.Protection) ([]byte, error) {
	out, err := appendSmoothFragment(dst, t, seq, first, samples, data, uint64(len(data)), timescale, prot, false)
	if err != nil {
		return dst, fmt.Errorf("writing Smooth fragment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// SmoothFragmentHeader appends the part of SmoothFragment's output that
// precedes the sample data: moof and the mdat header. It is to
// SmoothFragment what SegmentHeader is to Segment: with
// packager.SchemeCENC it encrypts data in place, and the appended bytes
// followed by data are exactly what SmoothFragment returns.
//
// On error dst is returned unchanged in length and data is unchanged.
func SmoothFragmentHeader(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, timescale uint32, prot packager.Protection) ([]byte, error) {
	out, err := appendSmoothFragment(dst, t, seq, first, samples, data, uint64(len(data)), timescale, prot, true)
	if err != nil {
		return dst, fmt.Errorf("writing Smooth fragment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// ClearSmoothFragmentHeader is to SmoothFragmentHeader what
// ClearSegmentHeader is to SegmentHeader: the header of a clear fragment,
// written from the sample table alone.
//
// On error dst is returned unchanged in length.
func ClearSmoothFragmentHeader(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	timescale uint32) ([]byte, error) {
	out, err := appendSmoothFragment(dst, t, seq, first, samples, nil, payloadSize(samples), timescale, packager.Protection{}, true)
	if err != nil {
		return dst, fmt.Errorf("writing Smooth fragment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// appendSmoothFragment is appendSegment's counterpart for Smooth
// fragments; size and a nil data mean what they mean there.
func appendSmoothFragment(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, size uint64, timescale uint32, prot packager.Protection, headerOnly bool) ([]byte, error) {
	if err := checkFragment(t, first, samples, size, prot); err != nil {
		return dst, err
	}
	if timescale == 0 || t.Timescale == 0 {
		return dst, fmt.Errorf("converting from timescale %d to %d: %w", t.Timescale, timescale, packager.ErrInvalidMedia)
	}
	rescale := timeRescale{from: t.Timescale, to: timescale}
	if err := rescale.check(first, samples); err != nil {
		return dst, err
	}

	var enc *sampleEncryption
	if prot.Scheme == packager.SchemeCENC {
		e, err := newSampleEncryption(t, first, samples, data, prot.Key.Value)
		if err != nil {
			return dst, err
		}
		defer e.release()
		enc = &e
	}

	moofStart := len(dst)
	dst, moof := openBox(dst, "moof")
	dst = appendMfhd(dst, seq)
	dst, traf := openBox(dst, "traf")
	// Without base-data-offset-present or default-base-is-moof, data
	// offsets of the first traf count from the start of moof (ISO/IEC
	// 14496-12 section 8.8.7). PIFF-era clients know only this form.
	dst = appendTfhd(dst, 0)
	dst, dataOffsetPos := appendTrun(dst, samples, &rescale)

	last := samples[len(samples)-1]
	start := SmoothTime(samples[0].Time, t.Timescale, timescale)
	end := SmoothTime(last.Time+int64(last.Dur), t.Timescale, timescale)
	dst = appendTfxd(dst, uint64(start), uint64(end-start))
	if enc != nil {
		dst = appendPiffSampleEncryption(dst, enc, len(samples))
	}
	closeBox(dst, traf)
	closeBox(dst, moof)
	return finishFragment(dst, moofStart, dataOffsetPos, data, size, samples, enc, headerOnly), nil
}

func appendTfxd(dst []byte, absoluteTime, duration uint64) []byte {
	dst, tfxd := openBox(dst, "uuid")
	dst = append(dst, uuidTfxd[:]...)
	dst = appendVersionFlags(dst, 1, 0) // version 1: 64-bit fields
	dst = appendUint64(dst, absoluteTime)
	dst = appendUint64(dst, duration)
	closeBox(dst, tfxd)
	return dst
}

// appendPiffSampleEncryption appends the PIFF 1.1 SampleEncryptionBox,
// whose payload after the UUID is laid out as senc's.
func appendPiffSampleEncryption(dst []byte, enc *sampleEncryption, sampleCount int) []byte {
	dst, piff := openBox(dst, "uuid")
	dst = append(dst, uuidPiffSampleEncryption[:]...)
	dst = enc.appendSencPayload(dst, sampleCount)
	closeBox(dst, piff)
	return dst
}
