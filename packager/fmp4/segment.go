package fmp4

import (
	"fmt"
	"math"
	"slices"

	"github.com/lockstream/lockstream/packager"
)

// Sample flags (ISO/IEC 14496-12 section 8.8.3). A sync sample depends on
// no other sample, and any other sample depends on others and is not a
// sync sample.
const (
	flagsSync    = 0x02000000
	flagsNonSync = 0x01010000
)

const (
	tfhdDefaultBaseIsMoof = 0x020000

	trunDataOffset = 0x000001
	trunDuration   = 0x000100
	trunSize       = 0x000200
	trunFlags      = 0x000400
	trunCTO        = 0x000800
)

// Segment appends one CMAF media segment (styp, moof, mdat) holding
// samples to dst and returns the extended slice.
//
// first is the index of samples[0] within t.Samples, which the IVs are
// derived from. data holds the sample payloads in sample order, as
// packager.ReadSamples returns them; it is copied into dst and not
// modified. With packager.SchemeCENC the samples in dst are encrypted and
// the traf carries senc, saiz and saio. SchemeCBC is rejected, because HLS
// encrypts the whole clear segment after it is built.
//
// On error dst is returned unchanged in length.
func Segment(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, prot packager.Protection) ([]byte, error) {
	out, err := appendSegment(dst, t, seq, first, samples, data, uint64(len(data)), prot, false)
	if err != nil {
		return dst, fmt.Errorf("writing segment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// SegmentHeader appends the part of Segment's output that precedes the
// sample data: styp, moof and the mdat header. With packager.SchemeCENC
// it encrypts data in place. The appended bytes followed by data are
// exactly what Segment returns for the same arguments, so a server can
// send the sample data from the buffer it was read into, without copying
// it.
//
// On error dst is returned unchanged in length and data is unchanged.
func SegmentHeader(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, prot packager.Protection) ([]byte, error) {
	out, err := appendSegment(dst, t, seq, first, samples, data, uint64(len(data)), prot, true)
	if err != nil {
		return dst, fmt.Errorf("writing segment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// ClearSegmentHeader appends what SegmentHeader appends for a clear
// segment, without the sample data: the mdat size is the sum of the
// sample sizes. A server can then send the sample data straight from the
// file, for example with sendfile(2), behind the header.
//
// On error dst is returned unchanged in length.
func ClearSegmentHeader(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample) ([]byte, error) {
	out, err := appendSegment(dst, t, seq, first, samples, nil, payloadSize(samples), packager.Protection{}, true)
	if err != nil {
		return dst, fmt.Errorf("writing segment %d of track %q: %w", seq, trackName(t), err)
	}
	return out, nil
}

// payloadSize returns the sum of the sample sizes.
func payloadSize(samples []packager.Sample) uint64 {
	var total uint64
	for _, s := range samples {
		total += uint64(s.Size)
	}
	return total
}

// appendSegment writes a whole segment, or with headerOnly set the part
// before the sample data, encrypting data in place. size is the length of
// the sample data; data may be nil for a clear header.
func appendSegment(dst []byte, t *packager.Track, seq uint32, first int, samples []packager.Sample,
	data []byte, size uint64, prot packager.Protection, headerOnly bool) ([]byte, error) {
	if err := checkFragment(t, first, samples, size, prot); err != nil {
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

	dst = appendStyp(dst)

	moofStart := len(dst)
	dst, moof := openBox(dst, "moof")
	dst = appendMfhd(dst, seq)
	dst, traf := openBox(dst, "traf")
	dst = appendTfhd(dst, tfhdDefaultBaseIsMoof)
	dst = appendTfdt(dst, uint64(samples[0].Time))
	dst, dataOffsetPos := appendTrun(dst, samples, nil)
	if enc != nil {
		dst = enc.appendAuxInfo(dst, moofStart, len(samples))
	}
	closeBox(dst, traf)
	closeBox(dst, moof)

	return finishFragment(dst, moofStart, dataOffsetPos, data, size, samples, enc, headerOnly), nil
}

// finishFragment fills in the trun data offset of the moof that starts at
// moofStart and appends the header of an mdat of size payload bytes.
// Unless headerOnly is set, it then appends data, and encrypts the
// samples in dst when enc is set. With headerOnly set it encrypts data in
// place instead.
func finishFragment(dst []byte, moofStart, dataOffsetPos int, data []byte, size uint64, samples []packager.Sample,
	enc *sampleEncryption, headerOnly bool) []byte {
	// The data offset counts from the start of moof and points past the
	// 8-byte mdat header.
	putUint32At(dst, dataOffsetPos, uint32(len(dst)-moofStart+8))

	dst = appendUint32(dst, uint32(size+8))
	dst = append(dst, "mdat"...)
	switch {
	case headerOnly:
		// The caller sends data after the header: encrypt it in place.
		if enc != nil {
			enc.encrypt(data, data, samples)
		}
	case enc != nil:
		// Encrypting from data into dst reads and writes each protected
		// byte once, where a copy followed by encryption in place would
		// pass over it twice.
		n := len(dst)
		dst = slices.Grow(dst, len(data))[:n+len(data)]
		enc.encrypt(dst[n:], data, samples)
	default:
		// checkFragment has made sure the size fits 32 bits.
		dst = append(dst, data...)
	}
	return dst
}

// checkFragment validates the input of one fragment before anything is
// written, so a bad request never yields a partial segment.
func checkFragment(t *packager.Track, first int, samples []packager.Sample, size uint64,
	prot packager.Protection) error {
	if t == nil {
		return fmt.Errorf("no track: %w", packager.ErrNotFound)
	}
	if len(samples) == 0 {
		return fmt.Errorf("no samples: %w", packager.ErrNotFound)
	}
	if first < 0 || first > len(t.Samples)-len(samples) {
		return fmt.Errorf("samples %d to %d are outside the track's %d samples: %w",
			first, first+len(samples), len(t.Samples), packager.ErrNotFound)
	}
	if err := checkCodec(t); err != nil {
		return err
	}

	switch prot.Scheme {
	case packager.SchemeClear, packager.SchemeCENC:
	case packager.SchemeCBC:
		return fmt.Errorf("scheme %s encrypts whole segments; write the segment clear and encrypt it: %w",
			prot.Scheme, packager.ErrUnsupported)
	default:
		return fmt.Errorf("protection scheme %d: %w", prot.Scheme, packager.ErrUnsupported)
	}

	var total uint64
	for i, s := range samples {
		if s.Time < 0 {
			return fmt.Errorf("sample %d has negative decode time %d: %w", first+i, s.Time, packager.ErrInvalidMedia)
		}
		total += uint64(s.Size)
	}
	if total != size {
		return fmt.Errorf("sample data is %d bytes but the sample sizes add up to %d: %w",
			size, total, packager.ErrInvalidMedia)
	}
	if total > math.MaxUint32-8 {
		return fmt.Errorf("fragment payload of %d bytes does not fit a 32-bit mdat: %w", total, packager.ErrUnsupported)
	}
	return nil
}

// checkCodec rejects codecs the writer has no sample entry handling for.
func checkCodec(t *packager.Track) error {
	switch t.Codec {
	case packager.CodecAVC1, packager.CodecAVC3, packager.CodecHVC1, packager.CodecHEV1,
		packager.CodecAAC, packager.CodecWVTT:
		return nil
	}
	return fmt.Errorf("codec %q: %w", t.Codec, packager.ErrUnsupported)
}

func trackName(t *packager.Track) string {
	if t == nil {
		return ""
	}
	return t.Name
}

// appendStyp appends the segment type box with the DASH media segment
// brand 'msdh' (ISO/IEC 23009-1) and the CMAF segment brand 'cmfs'
// (ISO/IEC 23000-19).
func appendStyp(dst []byte) []byte {
	dst, styp := openBox(dst, "styp")
	dst = append(dst, "msdh"...)
	dst = appendUint32(dst, 0)
	dst = append(dst, "msdh"...)
	dst = append(dst, "cmfs"...)
	closeBox(dst, styp)
	return dst
}

func appendMfhd(dst []byte, seq uint32) []byte {
	dst, mfhd := openFullBox(dst, "mfhd", 0, 0)
	dst = appendUint32(dst, seq)
	closeBox(dst, mfhd)
	return dst
}

// appendTfhd appends a tfhd for track 1, the only track of every init
// segment this package writes. It sets no defaults because the trun lists
// every sample value.
func appendTfhd(dst []byte, flags uint32) []byte {
	dst, tfhd := openFullBox(dst, "tfhd", 0, flags)
	dst = appendUint32(dst, trackID)
	closeBox(dst, tfhd)
	return dst
}

func appendTfdt(dst []byte, baseMediaDecodeTime uint64) []byte {
	dst, tfdt := openFullBox(dst, "tfdt", 1, 0)
	dst = appendUint64(dst, baseMediaDecodeTime)
	closeBox(dst, tfdt)
	return dst
}

// appendTrun appends a trun with the duration, size, flags and composition
// offset of every sample and returns the position of its data offset field
// for the caller to fill in. With rescale set, times are converted to the
// rescale timescale; without it they stay in track ticks and the trun is
// version 1, whose composition offsets are signed.
func appendTrun(dst []byte, samples []packager.Sample, rescale *timeRescale) ([]byte, int) {
	version := byte(1)
	if rescale != nil && !rescale.negativeCTO(samples) {
		version = 0
	}
	dst, trun := openFullBox(dst, "trun", version, trunDataOffset|trunDuration|trunSize|trunFlags|trunCTO)
	dst = appendUint32(dst, uint32(len(samples)))
	dataOffsetPos := len(dst)
	dst = appendUint32(dst, 0)

	for _, s := range samples {
		dur, cto := s.Dur, s.CTO
		if rescale != nil {
			dur, cto = rescale.sample(s)
		}
		flags := uint32(flagsNonSync)
		if s.Sync {
			flags = flagsSync
		}
		dst = appendUint32(dst, dur)
		dst = appendUint32(dst, s.Size)
		dst = appendUint32(dst, flags)
		dst = appendUint32(dst, uint32(cto))
	}
	closeBox(dst, trun)
	return dst, dataOffsetPos
}
