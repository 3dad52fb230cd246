package ts

import (
	"errors"
	"fmt"
)

// startCode precedes every NAL unit in Annex B form (ITU-T H.264 Annex B).
// The 4-byte form is valid everywhere, so it is used for all NAL units.
var startCode = [4]byte{0, 0, 0, 1}

// Access unit delimiters start every access unit, because the carriage
// rules for H.264 and HEVC in ISO/IEC 13818-1 (sections 2.14 and 2.17)
// require one in each access unit on a TS.
var (
	// nal_unit_type 9, primary_pic_type 7 (any slice type), stop bit.
	audH264 = []byte{0, 0, 0, 1, 0x09, 0xF0}
	// nal_unit_type 35, nuh_temporal_id_plus1 1, pic_type 2 (I, P or B),
	// stop bit.
	audHEVC = []byte{0, 0, 0, 1, 0x46, 0x01, 0x50}
)

// accessUnit is the summary of one video sample from a first pass over it.
type accessUnit struct {
	size         int  // Annex B size of the sample's own NAL units, AUDs left out
	irap         bool // holds an IDR (H.264) or IRAP (HEVC) picture
	inBandParams bool // holds a sequence parameter set
}

var errNALLength = errors.New("NAL unit length prefix")

// scanAccessUnit checks the NAL unit length prefixes of sample and
// classifies its NAL units.
func (p *streamProfile) scanAccessUnit(sample []byte) (accessUnit, error) {
	var au accessUnit
	for pos := 0; pos < len(sample); {
		if len(sample)-pos < p.lengthSize {
			return au, fmt.Errorf("%w at byte %d is cut off by the end of the sample", errNALLength, pos)
		}
		n := readLength(sample[pos:], p.lengthSize)
		pos += p.lengthSize
		if n > len(sample)-pos {
			return au, fmt.Errorf("%w at byte %d gives %d bytes, past the end of the %d-byte sample",
				errNALLength, pos-p.lengthSize, n, len(sample))
		}
		if n == 0 {
			continue
		}

		switch p.nalKind(sample[pos]) {
		case nalAUD:
			pos += n
			continue
		case nalIRAP:
			au.irap = true
		case nalSPS:
			au.inBandParams = true
		}
		au.size += len(startCode) + n
		pos += n
	}
	return au, nil
}

// writeAccessUnit writes the Annex B form of sample: a delimiter, the
// parameter sets when withParams is set, then the sample's NAL units
// except its own delimiters.
func (p *streamProfile) writeAccessUnit(w *pesWriter, sample []byte, withParams bool) {
	w.write(p.aud)
	if withParams {
		w.write(p.paramSets)
	}
	for pos := 0; pos < len(sample); {
		n := readLength(sample[pos:], p.lengthSize)
		pos += p.lengthSize
		nal := sample[pos : pos+n]
		pos += n
		if n == 0 || p.nalKind(nal[0]) == nalAUD {
			continue
		}
		w.write(startCode[:])
		w.write(nal)
	}
}

// readLength reads a big-endian NAL unit length of size bytes.
func readLength(b []byte, size int) int {
	n := 0
	for _, v := range b[:size] {
		n = n<<8 | int(v)
	}
	return n
}

// nalKind groups the NAL unit types that the muxer treats specially.
type nalKind int

const (
	nalOther nalKind = iota
	nalAUD
	nalIRAP
	nalSPS
)

// nalKind classifies a NAL unit by its first header byte: ITU-T H.264
// Table 7-1 and ITU-T H.265 Table 7-1.
func (p *streamProfile) nalKind(header byte) nalKind {
	if p.family == familyH264 {
		switch header & 0x1F {
		case 9:
			return nalAUD
		case 5:
			return nalIRAP
		case 7:
			return nalSPS
		}
		return nalOther
	}

	switch typ := header >> 1 & 0x3F; {
	case typ == 35:
		return nalAUD
	case typ >= 16 && typ <= 23: // BLA, IDR, CRA and reserved IRAP types
		return nalIRAP
	case typ == 32 || typ == 33: // a VPS or SPS means the set is in band
		return nalSPS
	}
	return nalOther
}
