package ts

// PES stream_id values (ISO/IEC 13818-1 Table 2-22).
const (
	streamIDVideo = 0xE0
	streamIDAudio = 0xC0
)

// maxPESHeaderSize is the size of a PES header with PTS and DTS.
const maxPESHeaderSize = 19

// pesHeader is the start of one PES packet (section 2.4.3.6).
type pesHeader struct {
	streamID byte
	pts, dts int64 // 90 kHz, PTSOffset included
	// payloadSize is the number of bytes after the header, or 0 for a video
	// PES of unbounded length, which section 2.4.3.7 allows on a TS.
	payloadSize int
}

// size returns the number of header bytes.
func (h *pesHeader) size() int {
	if h.dts != h.pts {
		return 19
	}
	return 14
}

// appendTo appends the header to b. data_alignment_indicator is set because
// every PES starts with an access unit or an ADTS frame.
func (h *pesHeader) appendTo(b []byte) []byte {
	flags, headerDataLength := byte(0x80), byte(5) // PTS only
	if h.dts != h.pts {
		flags, headerDataLength = 0xC0, 10
	}

	length := 0
	if h.payloadSize > 0 {
		length = h.payloadSize + 3 + int(headerDataLength)
	}
	b = append(b, 0x00, 0x00, 0x01, h.streamID, byte(length>>8), byte(length),
		0x84, // '10', data_alignment_indicator
		flags, headerDataLength)

	if flags == 0x80 {
		return appendTimestamp(b, 0x2, h.pts)
	}
	b = appendTimestamp(b, 0x3, h.pts)
	return appendTimestamp(b, 0x1, h.dts)
}

// appendTimestamp appends a 33-bit PTS or DTS with its 4-bit prefix and
// marker bits.
func appendTimestamp(b []byte, prefix byte, t int64) []byte {
	v := uint64(t) & timestampMask
	return append(b,
		prefix<<4|byte(v>>29)&0x0E|1,
		byte(v>>22),
		byte(v>>14)&0xFE|1,
		byte(v>>7),
		byte(v<<1)|1)
}
