package ts

import "slices"

const (
	packetSize    = 188
	headerSize    = 4
	syncByte      = 0x47
	pcrFieldSize  = 8 // adaptation_field_length, flags and a 6-byte PCR
	flagsOnlySize = 2 // adaptation_field_length and flags
)

// pesWriter cuts one PES packet at a time into TS packets appended to buf.
// The caller announces the PES size in begin and then writes exactly that
// many bytes in pieces, so the access unit never needs a buffer of its own.
// Knowing the size up front lets the packet that holds the last bytes be
// padded with adaptation field stuffing (ISO/IEC 13818-1 section 2.4.3.5),
// which is the only padding a PES on a TS may use.
type pesWriter struct {
	buf []byte
	pid uint16
	cc  byte

	left int // PES bytes not yet written
	room int // free payload bytes at the end of buf
}

// begin starts a PES of size bytes with a packet that carries the PCR and,
// for a random access point, the random_access_indicator.
func (w *pesWriter) begin(size int, pcr int64, randomAccess bool) {
	w.left = size
	w.startPacket(true, pcr, randomAccess)
}

// write copies p into the payload of the current PES, starting packets as
// they fill.
func (w *pesWriter) write(p []byte) {
	for len(p) > 0 {
		if w.room == 0 {
			w.startPacket(false, 0, false)
		}
		n := copy(w.buf[len(w.buf)-w.room:], p)
		w.room -= n
		w.left -= n
		p = p[n:]
	}
}

// done reports whether the PES was written to exactly its announced size.
func (w *pesWriter) done() bool { return w.left == 0 && w.room == 0 }

// startPacket appends the header and adaptation field of the next packet and
// leaves its payload area for write to fill.
func (w *pesWriter) startPacket(first bool, pcr int64, randomAccess bool) {
	afSize := 0
	if first {
		afSize = pcrFieldSize
	}
	payload := packetSize - headerSize - afSize
	if w.left < payload {
		afSize += payload - w.left
		payload = w.left
	}

	n := len(w.buf)
	w.buf = slices.Grow(w.buf, packetSize)[:n+packetSize]
	p := w.buf[n : n+packetSize]

	p[0] = syncByte
	p[1] = byte(w.pid >> 8)
	if first {
		p[1] |= 0x40 // payload_unit_start_indicator
	}
	p[2] = byte(w.pid)
	p[3] = 0x10 | w.cc // payload present
	w.cc = (w.cc + 1) & 0x0F
	if afSize > 0 {
		p[3] |= 0x20 // adaptation field present
		writeAdaptationField(p[headerSize:headerSize+afSize], first, pcr, randomAccess)
	}
	w.room = payload
}

// writeAdaptationField fills af, whose first byte is adaptation_field_length.
// A one-byte field is the zero-length form that stuffs a single byte.
// Otherwise the flags follow, then the PCR when requested, then 0xFF
// stuffing bytes up to the end of af.
func writeAdaptationField(af []byte, withPCR bool, pcr int64, randomAccess bool) {
	af[0] = byte(len(af) - 1)
	if len(af) == 1 {
		return
	}

	var flags byte
	if randomAccess {
		flags |= 0x40
	}
	i := 2
	if withPCR {
		flags |= 0x10
		putPCR(af[2:8], pcr)
		i = 8
	}
	af[1] = flags
	for ; i < len(af); i++ {
		af[i] = 0xFF
	}
}

// putPCR writes a program_clock_reference (section 2.4.3.5) whose base is
// pcr in 90 kHz ticks, modulo 2^33, and whose 27 MHz extension is 0.
func putPCR(b []byte, pcr int64) {
	base := uint64(pcr) & timestampMask
	b[0] = byte(base >> 25)
	b[1] = byte(base >> 17)
	b[2] = byte(base >> 9)
	b[3] = byte(base >> 1)
	b[4] = byte(base<<7) | 0x7E // 6 reserved bits, extension bit 8 is 0
	b[5] = 0x00
}
