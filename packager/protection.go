package packager

import "encoding/binary"

// Scheme is how output segments are protected.
type Scheme int

const (
	// SchemeClear sends segments unencrypted.
	SchemeClear Scheme = iota
	// SchemeCBC is HLS envelope encryption: each whole segment encrypted
	// with AES-128-CBC and PKCS#7 padding (RFC 8216 section 4.3.2.4,
	// METHOD=AES-128).
	SchemeCBC
	// SchemeCENC is ISO/IEC 23001-7 'cenc': AES-128-CTR sample encryption,
	// subsample encryption for video NAL units and whole-sample encryption
	// for audio.
	SchemeCENC
)

func (s Scheme) String() string {
	switch s {
	case SchemeClear:
		return "clear"
	case SchemeCBC:
		return "cbc"
	case SchemeCENC:
		return "cenc"
	}
	return "unknown"
}

// ContentKey is the key material the packager encrypts with. It never
// leaves the server except through key delivery.
type ContentKey struct {
	ID    [16]byte // key ID (a UUID in binary form)
	Value [16]byte
}

// Protection says how to protect one output.
type Protection struct {
	Scheme Scheme
	Key    ContentKey
}

// Container is the segment format; it is part of the HLS IV so the TS and
// fMP4 renditions of one track never share an IV under one key.
type Container byte

const (
	ContainerTS   Container = 1
	ContainerFMP4 Container = 2
)

// SegmentIV returns the explicit AES-128-CBC IV of one HLS segment: byte 0
// is the container, bytes 2-3 the track index and bytes 8-15 the segment
// number, all big-endian. Playlists carry it in EXT-X-KEY's IV attribute,
// so no two segments, tracks or containers under one key share an IV
// (RFC 8216 section 5.2 lets the IV attribute override the media sequence
// number rule).
func SegmentIV(c Container, trackIndex, segment int) [16]byte {
	var iv [16]byte
	iv[0] = byte(c)
	binary.BigEndian.PutUint16(iv[2:4], uint16(trackIndex))
	binary.BigEndian.PutUint64(iv[8:16], uint64(segment))
	return iv
}

// SampleIV returns the 8-byte CENC IV of one sample: the track index in the
// top 16 bits and the sample's index within its track in the low 48 bits.
// AES-CTR then counts 16-byte blocks in the low 8 bytes of the counter
// block (ISO/IEC 23001-7 section 9.3), so the counter blocks of different
// samples and tracks under one key never overlap. DASH and Smooth output of
// the same sample use the same IV and the same subsample ranges, so they
// produce the same ciphertext for the same plaintext.
func SampleIV(trackIndex, sampleIndex int) [8]byte {
	var iv [8]byte
	binary.BigEndian.PutUint64(iv[:], uint64(trackIndex)<<48|uint64(sampleIndex)&(1<<48-1))
	return iv
}
