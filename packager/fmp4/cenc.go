package fmp4

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

// ivSize is the per-sample IV size in senc, tenc and the PIFF sample
// encryption box. CMAF (ISO/IEC 23000-19 section 8.2.3.1) requires 8-byte
// IVs for the 'cenc' scheme.
const ivSize = 8

// sencFlagSubsamples is the senc flag (ISO/IEC 23001-7, and the PIFF 1.1
// sample encryption box) that marks sample entries with subsample ranges.
const sencFlagSubsamples = 0x2

// sampleEncryption encrypts the samples of one fragment with the ISO/IEC
// 23001-7 'cenc' scheme and writes the matching sample auxiliary
// information. It is built per request and holds no state between calls.
type sampleEncryption struct {
	block cipher.Block
	// identity is the track's IVIdentity and first the index of the
	// fragment's first sample in the track; together they give each
	// sample's IV (packager.SampleIV).
	identity uint32
	first    int
	// subsamples is set for video, whose samples have subsample ranges in
	// scratch.ranges. Audio samples are encrypted whole.
	subsamples bool
	scratch    *rangeScratch
}

// newSampleEncryption computes the subsample ranges of every sample from
// the clear data. Call release when the fragment is written.
func newSampleEncryption(t *packager.Track, first int, samples []packager.Sample, data []byte,
	key [16]byte) (sampleEncryption, error) {
	enc := sampleEncryption{block: blockFor(key), identity: t.IVIdentity, first: first}

	switch t.Kind {
	case packager.KindAudio:
		return enc, nil
	case packager.KindVideo:
	default:
		return enc, fmt.Errorf("encrypting %s tracks: %w", t.Kind, packager.ErrUnsupported)
	}

	if err := checkNALLengthSize(t); err != nil {
		return enc, err
	}

	enc.subsamples = true
	enc.scratch = getRangeScratch(len(samples))
	pos := 0
	for i, s := range samples {
		sample := data[pos : pos+int(s.Size)]
		pos += int(s.Size)

		ranges, err := protectRanges(t.Codec, sample)
		if err != nil {
			enc.release()
			return enc, fmt.Errorf("finding the protected ranges of sample %d: %v: %w",
				first+i, err, packager.ErrInvalidMedia)
		}
		if len(ranges) > math.MaxUint16 {
			enc.release()
			return enc, fmt.Errorf("sample %d has %d subsamples, more than senc can list: %w",
				first+i, len(ranges), packager.ErrUnsupported)
		}
		enc.scratch.ranges[i] = ranges
	}
	return enc, nil
}

// protectRanges returns the ISO/IEC 23001-7 subsample ranges of one AVC or
// HEVC sample. NAL length fields, NAL unit headers, the start of each VCL
// NAL unit and every non-VCL NAL unit stay clear. The protected part of
// each VCL NAL unit is a whole number of 16-byte blocks.
//
// mp4ff keeps at least 96 bytes of each VCL NAL unit clear, which covers
// the slice header of ordinary streams. It reads the parameter set maps
// only for 'cbcs', so none are passed.
//
// DASH and Smooth output both take their ranges from here, so the same
// sample gets the same ciphertext in both.
//
// NOTE: the 96-byte rule is not checked against the parsed slice header; a
// slice header longer than 92 bytes (many reference list modifications or
// weighted prediction tables) would be partly encrypted.
func protectRanges(codec packager.Codec, sample []byte) ([]mp4.SubSamplePattern, error) {
	// mp4ff adds NAL lengths in 32 bits, so a corrupt length can wrap
	// around its bounds check. The walk here rejects such samples first.
	if err := checkNALUnits(sample); err != nil {
		return nil, err
	}

	var ranges []mp4.SubSamplePattern
	var err error
	switch codec {
	case packager.CodecAVC1, packager.CodecAVC3:
		ranges, err = mp4.GetAVCProtectRanges(nil, nil, sample, "cenc")
	case packager.CodecHVC1, packager.CodecHEV1:
		ranges, err = mp4.GetHEVCProtectRanges(nil, nil, sample, "cenc")
	default:
		return nil, fmt.Errorf("codec %q has no subsample encryption: %w", codec, packager.ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}

	var total int
	for _, r := range ranges {
		total += int(r.BytesOfClearData) + int(r.BytesOfProtectedData)
	}
	if total != len(sample) {
		return nil, fmt.Errorf("subsample ranges cover %d of %d bytes", total, len(sample))
	}
	return ranges, nil
}

// checkNALUnits checks that sample is a sequence of NAL units, each with a
// 4-byte length prefix, that ends exactly at the end of the sample.
func checkNALUnits(sample []byte) error {
	pos := 0
	for pos < len(sample) {
		if len(sample)-pos < 4 {
			return fmt.Errorf("%d bytes after the last NAL unit", len(sample)-pos)
		}
		n := int64(binary.BigEndian.Uint32(sample[pos:]))
		pos += 4
		if n == 0 || n > int64(len(sample)-pos) {
			return fmt.Errorf("NAL unit at byte %d has length %d, %d bytes remain", pos-4, n, len(sample)-pos)
		}
		pos += int(n)
	}
	return nil
}

// checkNALLengthSize rejects video whose NAL length fields are not 4 bytes
// long, the only size the subsample range finder parses.
func checkNALLengthSize(t *packager.Track) error {
	// lengthSizeMinusOne is the low two bits of byte 4 of an
	// AVCDecoderConfigurationRecord and of byte 21 of an
	// HEVCDecoderConfigurationRecord.
	pos := 4
	if t.Codec == packager.CodecHVC1 || t.Codec == packager.CodecHEV1 {
		pos = 21
	}
	if len(t.DecoderConfig) <= pos {
		return fmt.Errorf("decoder configuration of %d bytes is too short to hold the NAL length size: %w",
			len(t.DecoderConfig), packager.ErrInvalidMedia)
	}
	if size := t.DecoderConfig[pos]&3 + 1; size != 4 {
		return fmt.Errorf("encrypting video with %d-byte NAL lengths (only 4 is supported): %w",
			size, packager.ErrUnsupported)
	}
	return nil
}

func (e *sampleEncryption) release() {
	if e.scratch != nil {
		putRangeScratch(e.scratch)
		e.scratch = nil
	}
}

// infoSize returns the size of the sample auxiliary information of sample
// i: the IV, then for video a subsample count and 6 bytes per subsample.
func (e *sampleEncryption) infoSize(i int) int {
	if !e.subsamples {
		return ivSize
	}
	return ivSize + 2 + 6*len(e.scratch.ranges[i])
}

// appendAuxInfo appends the saiz, saio and senc boxes of a CMAF fragment
// (ISO/IEC 23001-7). saio points at the first IV inside senc,
// relative to the start of the moof box, since the fragment's tfhd sets
// default-base-is-moof.
func (e *sampleEncryption) appendAuxInfo(dst []byte, moofStart, sampleCount int) []byte {
	dst = e.appendSaiz(dst, sampleCount)

	dst, saio := openFullBox(dst, "saio", 0, 0)
	dst = appendUint32(dst, 1) // entry_count
	offsetPos := len(dst)
	dst = appendUint32(dst, 0)
	closeBox(dst, saio)

	dst, senc := openBox(dst, "senc")
	dst = e.appendSencPayload(dst, sampleCount)
	closeBox(dst, senc)

	// The first IV follows the senc header (8), version and flags (4)
	// and sample_count (4).
	putUint32At(dst, offsetPos, uint32(senc+16-moofStart))
	return dst
}

func (e *sampleEncryption) appendSaiz(dst []byte, sampleCount int) []byte {
	dst, saiz := openFullBox(dst, "saiz", 0, 0)

	uniform := true
	for i := 1; i < sampleCount && e.subsamples; i++ {
		if e.infoSize(i) != e.infoSize(0) {
			uniform = false
			break
		}
	}
	if uniform {
		dst = append(dst, byte(e.infoSize(0)))
		dst = appendUint32(dst, uint32(sampleCount))
		closeBox(dst, saiz)
		return dst
	}

	dst = append(dst, 0) // default_sample_info_size 0: a size per sample follows
	dst = appendUint32(dst, uint32(sampleCount))
	for i := range sampleCount {
		dst = append(dst, byte(e.infoSize(i)))
	}
	closeBox(dst, saiz)
	return dst
}

// appendSencPayload appends what follows the box type in senc, and the
// UUID in the PIFF sample encryption box, whose layouts match: version and
// flags, sample_count, then per sample the IV and the subsample ranges.
func (e *sampleEncryption) appendSencPayload(dst []byte, sampleCount int) []byte {
	var flags uint32
	if e.subsamples {
		flags = sencFlagSubsamples
	}
	dst = appendVersionFlags(dst, 0, flags)
	dst = appendUint32(dst, uint32(sampleCount))

	for i := range sampleCount {
		iv := packager.SampleIV(e.identity, e.first+i)
		dst = append(dst, iv[:]...)
		if !e.subsamples {
			continue
		}
		ranges := e.scratch.ranges[i]
		dst = appendUint16(dst, uint16(len(ranges)))
		for _, r := range ranges {
			dst = appendUint16(dst, r.BytesOfClearData)
			dst = appendUint32(dst, r.BytesOfProtectedData)
		}
	}
	return dst
}

// encrypt writes to dst the samples in src, the mdat payload holding them
// in order, with AES-128-CTR applied to their protected ranges. dst has
// the length of src and is either src itself or does not overlap it. The counter block of each sample is
// its 8-byte IV followed by a 64-bit block counter starting at zero
// (ISO/IEC 23001-7 'cenc'). The protected ranges of one sample form a
// single key stream: each range continues where the previous one stopped.
func (e *sampleEncryption) encrypt(dst, src []byte, samples []packager.Sample) {
	var counter [16]byte
	pos := 0
	for i, s := range samples {
		out := dst[pos : pos+int(s.Size)]
		in := src[pos : pos+int(s.Size)]
		pos += int(s.Size)

		iv := packager.SampleIV(e.identity, e.first+i)
		copy(counter[:ivSize], iv[:])
		stream := cipher.NewCTR(e.block, counter[:])
		if !e.subsamples {
			stream.XORKeyStream(out, in)
			continue
		}

		off := 0
		for _, r := range e.scratch.ranges[i] {
			clearEnd := off + int(r.BytesOfClearData)
			copy(out[off:clearEnd], in[off:clearEnd])
			end := clearEnd + int(r.BytesOfProtectedData)
			stream.XORKeyStream(out[clearEnd:end], in[clearEnd:end])
			off = end
		}
	}
}
