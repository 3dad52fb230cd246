package fmp4

import "encoding/binary"

// Box writing primitives. Media segments are written straight into the
// caller's buffer: a box header is appended with a zero size, its payload
// follows, and closeBox patches the size once the payload is known.

// openBox appends the header of a box whose size is not yet known and
// returns the offset of the header within dst.
func openBox(dst []byte, boxType string) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, boxType...)
	return dst, start
}

// openFullBox is openBox followed by the version and flags of a full box
// (ISO/IEC 14496-12 section 4.2).
func openFullBox(dst []byte, boxType string, version byte, flags uint32) ([]byte, int) {
	dst, start := openBox(dst, boxType)
	dst = appendVersionFlags(dst, version, flags)
	return dst, start
}

// closeBox sets the size of the box that starts at start to reach the end
// of dst.
func closeBox(dst []byte, start int) {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
}

func appendVersionFlags(dst []byte, version byte, flags uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(version)<<24|flags&0xffffff)
}

func appendUint16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }
func appendUint32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }
func appendUint64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

func putUint32At(dst []byte, pos int, v uint32) { binary.BigEndian.PutUint32(dst[pos:], v) }
