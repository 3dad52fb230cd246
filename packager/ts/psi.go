package ts

import "encoding/binary"

// PIDs of every segment. They are fixed so that segments of different
// renditions and requests are interchangeable for a player.
const (
	PMTPID   = 0x1000
	VideoPID = 0x0100
	AudioPID = 0x0101

	patPID        = 0x0000
	programNumber = 1
)

// Stream types of the PMT (ISO/IEC 13818-1 Table 2-34).
const (
	streamTypeAAC  = 0x0F // ISO/IEC 13818-7 audio with ADTS transport syntax
	streamTypeH264 = 0x1B
	streamTypeHEVC = 0x24
)

// PSI packets are the same in every segment, so they are built once.
var (
	patPacket  = psiPacket(patPID, patSection())
	pmtPackets = map[byte]*[packetSize]byte{
		streamTypeAAC:  psiPacket(PMTPID, pmtSection(streamTypeAAC, AudioPID)),
		streamTypeH264: psiPacket(PMTPID, pmtSection(streamTypeH264, VideoPID)),
		streamTypeHEVC: psiPacket(PMTPID, pmtSection(streamTypeHEVC, VideoPID)),
	}
)

// patSection returns the program association section (ISO/IEC 13818-1
// section 2.4.4.3) with one program whose PMT is on PMTPID.
func patSection() []byte {
	s := []byte{
		0x00,       // table_id: program_association_section
		0xB0, 0x0D, // section_syntax_indicator, '0', reserved, section_length 13
		0x00, 0x01, // transport_stream_id
		0xC1,       // reserved, version_number 0, current_next_indicator 1
		0x00, 0x00, // section_number, last_section_number
		0x00, programNumber,
		0xE0 | PMTPID>>8, PMTPID & 0xFF,
	}
	return binary.BigEndian.AppendUint32(s, crc32MPEG2(s))
}

// pmtSection returns the TS program map section (ISO/IEC 13818-1 section
// 2.4.4.8) with one elementary stream that also carries the PCR.
func pmtSection(streamType byte, pid uint16) []byte {
	s := []byte{
		0x02,       // table_id: TS_program_map_section
		0xB0, 0x12, // section_syntax_indicator, '0', reserved, section_length 18
		0x00, programNumber,
		0xC1,       // reserved, version_number 0, current_next_indicator 1
		0x00, 0x00, // section_number, last_section_number
		0xE0 | byte(pid>>8), byte(pid), // reserved, PCR_PID
		0xF0, 0x00, // reserved, program_info_length 0
		streamType,
		0xE0 | byte(pid>>8), byte(pid), // reserved, elementary_PID
		0xF0, 0x00, // reserved, ES_info_length 0
	}
	return binary.BigEndian.AppendUint32(s, crc32MPEG2(s))
}

// psiPacket wraps one section in a TS packet with continuity counter 0. A
// pointer_field of 0 precedes the section, and 0xFF bytes fill the rest of
// the packet, as section 2.4.4.2 allows after the last section.
func psiPacket(pid uint16, section []byte) *[packetSize]byte {
	var p [packetSize]byte
	p[0] = syncByte
	p[1] = 0x40 | byte(pid>>8) // payload_unit_start_indicator
	p[2] = byte(pid)
	p[3] = 0x10 // payload only, continuity_counter 0
	p[4] = 0x00 // pointer_field
	n := copy(p[5:], section)
	for i := 5 + n; i < packetSize; i++ {
		p[i] = 0xFF
	}
	return &p
}
