package packager

import "encoding/binary"

// Scheme is the protection method of output segments.
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

// Protection is the scheme and key that protect one output.
type Protection struct {
	Scheme Scheme
	Key    ContentKey
}

// Container is the segment format. It is part of the HLS IV, so the TS and
// fMP4 renditions of one track never share an IV under one key.
type Container byte

const (
	ContainerTS   Container = 1
	ContainerFMP4 Container = 2
)

// MaxTrackSamples is the largest number of samples a track may have: a
// CENC IV has 32 bits for the sample index. The indexer enforces it
// through its per-file sample limit, which is lower.
const MaxTrackSamples = 1 << 32

// MaxSegmentIndex bounds the segment index in SegmentIV, which has 24
// bits for it. The planner's segment limit is lower.
const MaxSegmentIndex = 1<<24 - 1

// The IV rule, for every key: no (key, counter block) pair encrypts two
// different plaintexts. Locators share one key between all tracks and all
// presentations of an asset. So every IV starts with Track.IVIdentity,
// which depends on the source file version and track, not on the track's
// position in a presentation. The rest of the IV identifies the plaintext
// within the track.
//
// NOTE: IVIdentity is a 32-bit hash. The loader rejects two tracks of one
// asset with the same value, but a track of a file version that was
// replaced can still, with probability about 2^-32 per pair, share it
// with a track of the asset's current files.

// SegmentIV returns the explicit AES-128-CBC IV of HLS segment index
// segment of track t, which holds the samples r. Byte 0 is the container,
// bytes 1-4 t.IVIdentity, bytes 5-8 r.Start, bytes 9-12 r.End and bytes
// 13-15 the segment index, all big-endian. A segment's plaintext is
// determined by its container, track, sample range and, for fMP4, the
// mfhd sequence number, which is the segment number. Plans with other
// targets cut other ranges, so all of these go into the IV. Playlists
// carry it in EXT-X-KEY's IV attribute, which overrides the media sequence
// number as IV (RFC 8216 section 5.2), and the segment path encrypts with
// the same value.
func SegmentIV(c Container, t *Track, r SampleRange, segment int) [16]byte {
	var iv [16]byte
	iv[0] = byte(c)
	binary.BigEndian.PutUint32(iv[1:5], t.IVIdentity)
	binary.BigEndian.PutUint32(iv[5:9], uint32(r.Start))
	binary.BigEndian.PutUint32(iv[9:13], uint32(r.End))
	iv[13], iv[14], iv[15] = byte(segment>>16), byte(segment>>8), byte(segment)
	return iv
}

// SampleIV returns the 8-byte CENC IV of one sample: the track's
// IVIdentity in the top 32 bits and the sample's index within its track
// in the low 32 bits. AES-CTR then counts 16-byte blocks in the low 8
// bytes of the counter block (ISO/IEC 23001-7 section 9.3), so the counter
// blocks of different samples and tracks under one key never overlap. A
// sample's plaintext and subsample ranges do not depend on the segment
// plan, so every plan, and DASH and Smooth output alike, may use the same
// IV for it.
func SampleIV(identity uint32, sampleIndex int) [8]byte {
	var iv [8]byte
	binary.BigEndian.PutUint32(iv[:4], identity)
	binary.BigEndian.PutUint32(iv[4:], uint32(sampleIndex))
	return iv
}
