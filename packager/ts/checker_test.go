package ts

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// tsReport is what checkSegment found in one segment.
type tsReport struct {
	streamType byte
	pcrPID     uint16
	esPID      uint16
	pes        []pesUnit
	pcrs       []int64 // 90 kHz PCR bases, in packet order
}

// pesUnit is one reassembled PES packet.
type pesUnit struct {
	pts, dts     int64
	randomAccess bool
	payload      []byte
}

// checkSegment parses one TS segment with its own reader, independent of
// the writer, and returns the first rule it finds broken: packet size and
// sync byte, PAT and PMT first with valid CRCs, continuity counters from 0
// without gaps, well-formed adaptation fields with 0xFF stuffing, PCRs on
// the PCR PID, monotonic and at most 100 ms apart, and well-formed PES
// headers with DTS <= PTS and PCR <= DTS.
func checkSegment(seg []byte) (*tsReport, error) {
	if len(seg) == 0 || len(seg)%packetSize != 0 {
		return nil, fmt.Errorf("segment is %d bytes, not a multiple of %d", len(seg), packetSize)
	}
	r := &tsReport{}
	cc := map[uint16]int{}
	var cur *pesUnit
	var curBytes []byte

	for i := 0; i < len(seg)/packetSize; i++ {
		p := seg[i*packetSize : (i+1)*packetSize]
		if p[0] != syncByte {
			return nil, fmt.Errorf("packet %d: sync byte %#x", i, p[0])
		}
		pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
		pusi := p[1]&0x40 != 0
		control := p[3] >> 4 & 0x3
		counter := int(p[3] & 0x0F)
		if p[1]&0x80 != 0 || p[3]&0xC0 != 0 {
			return nil, fmt.Errorf("packet %d: transport_error or scrambling bits set", i)
		}
		if control&1 == 0 {
			return nil, fmt.Errorf("packet %d: no payload, the writer never sends such packets", i)
		}
		want, seen := cc[pid]
		if !seen {
			want = 0
		}
		if counter != want {
			return nil, fmt.Errorf("packet %d PID %#x: continuity_counter %d, want %d", i, pid, counter, want)
		}
		cc[pid] = (counter + 1) & 0x0F

		payload := p[4:]
		randomAccess := false
		if control&2 != 0 {
			af := p[4:]
			n := int(af[0])
			if n > 183 {
				return nil, fmt.Errorf("packet %d: adaptation_field_length %d", i, n)
			}
			pcr, hasPCR, ra, err := parseAdaptationField(af[:1+n])
			if err != nil {
				return nil, fmt.Errorf("packet %d: %w", i, err)
			}
			randomAccess = ra
			if hasPCR {
				if pid != r.pcrPID {
					return nil, fmt.Errorf("packet %d: PCR on PID %#x, PCR_PID is %#x", i, pid, r.pcrPID)
				}
				if k := len(r.pcrs); k > 0 && (pcr < r.pcrs[k-1] || pcr-r.pcrs[k-1] > clockRate/10) {
					return nil, fmt.Errorf("packet %d: PCR %d follows %d", i, pcr, r.pcrs[k-1])
				}
				r.pcrs = append(r.pcrs, pcr)
			}
			payload = af[1+n:]
		}

		switch {
		case i == 0:
			if pid != patPID || !pusi {
				return nil, fmt.Errorf("packet 0: PID %#x, want the PAT", pid)
			}
			if err := r.parsePAT(payload); err != nil {
				return nil, err
			}
		case i == 1:
			if pid != PMTPID || !pusi {
				return nil, fmt.Errorf("packet 1: PID %#x, want the PMT", pid)
			}
			if err := r.parsePMT(payload); err != nil {
				return nil, err
			}
		case pid != r.esPID:
			return nil, fmt.Errorf("packet %d: PID %#x is not the elementary PID %#x", i, pid, r.esPID)
		case pusi:
			if cur != nil {
				if err := r.finishPES(cur, curBytes); err != nil {
					return nil, err
				}
			}
			if len(r.pcrs) == 0 || control&2 == 0 {
				return nil, fmt.Errorf("packet %d: PES starts without a PCR", i)
			}
			cur = &pesUnit{randomAccess: randomAccess}
			curBytes = append([]byte(nil), payload...)
		default:
			if cur == nil {
				return nil, fmt.Errorf("packet %d: payload before the first PES start", i)
			}
			curBytes = append(curBytes, payload...)
		}
	}
	if cur == nil {
		return nil, fmt.Errorf("segment holds no PES")
	}
	return r, r.finishPES(cur, curBytes)
}

// parseAdaptationField checks one adaptation field including its length
// byte: flags the writer never sets must be clear, and every byte after
// the PCR must be 0xFF stuffing.
func parseAdaptationField(af []byte) (pcr int64, hasPCR, randomAccess bool, err error) {
	if len(af) == 1 {
		return 0, false, false, nil
	}
	flags := af[1]
	if flags&^0x50 != 0 {
		return 0, false, false, fmt.Errorf("unexpected adaptation field flags %#x", flags)
	}
	rest := af[2:]
	if flags&0x10 != 0 {
		if len(rest) < 6 {
			return 0, false, false, fmt.Errorf("PCR cut off")
		}
		base := int64(rest[0])<<25 | int64(rest[1])<<17 | int64(rest[2])<<9 | int64(rest[3])<<1 | int64(rest[4]>>7)
		if rest[4]&0x7E != 0x7E || rest[4]&1 != 0 || rest[5] != 0 {
			return 0, false, false, fmt.Errorf("PCR reserved bits or extension wrong: % x", rest[:6])
		}
		pcr, hasPCR = base, true
		rest = rest[6:]
	}
	for _, b := range rest {
		if b != 0xFF {
			return 0, false, false, fmt.Errorf("stuffing byte %#x", b)
		}
	}
	return pcr, hasPCR, flags&0x40 != 0, nil
}

// section returns the PSI section that a payload with pointer_field 0
// carries, after checking its CRC and that only 0xFF follows it.
func section(payload []byte) ([]byte, error) {
	if payload[0] != 0 {
		return nil, fmt.Errorf("pointer_field %d", payload[0])
	}
	s := payload[1:]
	n := int(binary.BigEndian.Uint16(s[1:3])&0x0FFF) + 3
	if n > len(s) {
		return nil, fmt.Errorf("section_length past the packet")
	}
	if crc32MPEG2(s[:n]) != 0 {
		return nil, fmt.Errorf("section CRC mismatch")
	}
	for _, b := range s[n:] {
		if b != 0xFF {
			return nil, fmt.Errorf("byte %#x after the section", b)
		}
	}
	return s[:n], nil
}

func (r *tsReport) parsePAT(payload []byte) error {
	s, err := section(payload)
	if err != nil {
		return fmt.Errorf("PAT: %w", err)
	}
	if s[0] != 0 || len(s) != 16 {
		return fmt.Errorf("PAT: table_id %d, %d bytes", s[0], len(s))
	}
	program := binary.BigEndian.Uint16(s[8:10])
	pmt := binary.BigEndian.Uint16(s[10:12]) & 0x1FFF
	if program != programNumber || pmt != PMTPID {
		return fmt.Errorf("PAT: program %d on PID %#x", program, pmt)
	}
	return nil
}

func (r *tsReport) parsePMT(payload []byte) error {
	s, err := section(payload)
	if err != nil {
		return fmt.Errorf("PMT: %w", err)
	}
	if s[0] != 2 || len(s) != 21 {
		return fmt.Errorf("PMT: table_id %d, %d bytes, want one stream", s[0], len(s))
	}
	r.pcrPID = binary.BigEndian.Uint16(s[8:10]) & 0x1FFF
	r.streamType = s[12]
	r.esPID = binary.BigEndian.Uint16(s[13:15]) & 0x1FFF
	if r.pcrPID != r.esPID {
		return fmt.Errorf("PMT: PCR_PID %#x differs from elementary PID %#x", r.pcrPID, r.esPID)
	}
	return nil
}

// finishPES parses a reassembled PES packet.
func (r *tsReport) finishPES(u *pesUnit, b []byte) error {
	n := len(r.pes)
	if len(b) < 14 || !bytes.Equal(b[:3], []byte{0, 0, 1}) {
		return fmt.Errorf("PES %d: no start code prefix", n)
	}
	length := int(binary.BigEndian.Uint16(b[4:6]))
	if length != 0 && length != len(b)-6 {
		return fmt.Errorf("PES %d: PES_packet_length %d, carried %d", n, length, len(b)-6)
	}
	if b[6] != 0x84 {
		return fmt.Errorf("PES %d: flags %#x", n, b[6])
	}
	headerLength := int(b[8])

	var err error
	switch b[7] {
	case 0x80:
		u.pts, err = parseTimestamp(b[9:14], 0x2)
		u.dts = u.pts
	case 0xC0:
		u.pts, err = parseTimestamp(b[9:14], 0x3)
		if err == nil {
			u.dts, err = parseTimestamp(b[14:19], 0x1)
		}
		if err == nil && u.dts == u.pts {
			err = fmt.Errorf("DTS sent although it equals PTS")
		}
	default:
		err = fmt.Errorf("PTS_DTS flags %#x", b[7])
	}
	if err != nil {
		return fmt.Errorf("PES %d: %w", n, err)
	}

	if u.dts > u.pts {
		return fmt.Errorf("PES %d: DTS %d after PTS %d", n, u.dts, u.pts)
	}
	if pcr := r.pcrs[len(r.pcrs)-1]; pcr > u.dts {
		return fmt.Errorf("PES %d: PCR %d after DTS %d", n, pcr, u.dts)
	}
	u.payload = b[9+headerLength:]
	r.pes = append(r.pes, *u)
	return nil
}

func parseTimestamp(b []byte, prefix byte) (int64, error) {
	if b[0]>>4 != prefix || b[0]&1 != 1 || b[2]&1 != 1 || b[4]&1 != 1 {
		return 0, fmt.Errorf("timestamp prefix or marker bits wrong: % x", b)
	}
	return int64(b[0]>>1&0x7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1), nil
}

// annexBNALs splits an Annex B byte stream at its start codes.
func annexBNALs(b []byte) [][]byte {
	var nals [][]byte
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			return nals
		}
		b = b[i+3:]
		next := bytes.Index(b, []byte{0, 0, 1})
		if next < 0 {
			return append(nals, b)
		}
		nal := b[:next]
		nal = bytes.TrimRight(nal, "\x00") // the zero byte of a 4-byte start code
		nals = append(nals, nal)
		b = b[next:]
	}
}

// checkVideoAccessUnits checks that every PES holds one access unit that
// starts with exactly one delimiter. Every IDR or IRAP access unit must
// carry one SPS and one PPS (and for HEVC one VPS) before its first slice.
// It returns the number of random access PES.
func checkVideoAccessUnits(r *tsReport, family codecFamily) (int, error) {
	p := &streamProfile{family: family}
	keys := 0
	for i, u := range r.pes {
		nals := annexBNALs(u.payload)
		if len(nals) == 0 || p.nalKind(nals[0][0]) != nalAUD {
			return 0, fmt.Errorf("PES %d: first NAL unit is not an access unit delimiter", i)
		}
		counts := map[int]int{}
		irap := false
		for j, nal := range nals {
			typ := nalType(family, nal[0])
			if j > 0 && p.nalKind(nal[0]) == nalAUD {
				return 0, fmt.Errorf("PES %d: second access unit delimiter", i)
			}
			if p.nalKind(nal[0]) == nalIRAP && !irap {
				irap = true
				if err := checkParameterSets(family, counts); err != nil {
					return 0, fmt.Errorf("PES %d: %w", i, err)
				}
			}
			counts[typ]++
		}
		if irap != u.randomAccess {
			return 0, fmt.Errorf("PES %d: IRAP picture %t, random_access_indicator %t", i, irap, u.randomAccess)
		}
		if irap {
			keys++
		}
	}
	return keys, nil
}

func nalType(family codecFamily, header byte) int {
	if family == familyH264 {
		return int(header & 0x1F)
	}
	return int(header >> 1 & 0x3F)
}

func checkParameterSets(family codecFamily, counts map[int]int) error {
	want := map[string]int{"SPS": 7, "PPS": 8}
	if family == familyHEVC {
		want = map[string]int{"VPS": 32, "SPS": 33, "PPS": 34}
	}
	for name, typ := range want {
		if counts[typ] != 1 {
			return fmt.Errorf("%d %s NAL units before the first IRAP slice, want 1", counts[typ], name)
		}
	}
	return nil
}

// adtsFrames splits a PES payload into ADTS frames and returns their raw
// AAC payloads, checking sync words and that the lengths add up.
func adtsFrames(b []byte) ([][]byte, error) {
	var frames [][]byte
	for len(b) > 0 {
		if len(b) < adtsHeaderSize || b[0] != 0xFF || b[1]&0xF6 != 0xF0 {
			return nil, fmt.Errorf("no ADTS sync word at % x", b[:min(len(b), 7)])
		}
		n := int(b[3]&0x03)<<11 | int(b[4])<<3 | int(b[5]>>5)
		if n < adtsHeaderSize || n > len(b) {
			return nil, fmt.Errorf("ADTS frame_length %d with %d bytes left", n, len(b))
		}
		frames = append(frames, b[adtsHeaderSize:n])
		b = b[n:]
	}
	return frames, nil
}
