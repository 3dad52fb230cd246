package packager

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"

	"github.com/Eyevinn/mp4ff/avc"
	mp4bits "github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Sizes of the fixed fields of sample entries before their child boxes
// (ISO/IEC 14496-12 sections 12.1.3 and 12.2.3).
const (
	visualEntryFields = 78
	audioEntryFields  = 28
)

// maxParameterSetSample bounds the first sync sample read to find the
// parameter sets of an avc3/hev1 track whose sample entry has none.
const maxParameterSetSample = 16 << 20

// parseStsd reads the first sample entry of a track and fills the codec
// fields of t. Only H.264, HEVC and AAC are supported.
func parseStsd(b *box, t *Track) error {
	if b == nil {
		return invalidf("stbl has no stsd box")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	if len(body) < 4 {
		return invalidf("stsd box is too short")
	}
	entries, err := children(body[4:], b.Start+16)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return invalidf("stsd has no sample entry")
	}

	e := entries[0]
	// The raw entry with its header is copied into init segments as it is.
	raw := body[4 : 4+8+len(e.Data)]
	if int(binary.BigEndian.Uint32(raw)) != len(raw) {
		return unsupportedf("sample entry %q uses a 64-bit box size", e.Type)
	}
	t.SampleEntry = raw
	t.Codec = Codec(e.Type)

	switch {
	case t.Kind == KindVideo && (e.Type == "avc1" || e.Type == "avc3"):
		return parseAVCEntry(&e, t)
	case t.Kind == KindVideo && (e.Type == "hvc1" || e.Type == "hev1"):
		return parseHEVCEntry(&e, t)
	case t.Kind == KindAudio && e.Type == "mp4a":
		return parseAACEntry(raw, t)
	}
	return unsupportedf("%s codec %q is not supported; use H.264, HEVC or AAC", t.Kind, e.Type)
}

// entryChild returns the payload of a child box of a sample entry.
func entryChild(e *box, fields int, typ string) ([]byte, error) {
	if len(e.Data) < fields {
		return nil, invalidf("%q sample entry of %d bytes is too short", e.Type, len(e.Data))
	}
	kids, err := children(e.Data[fields:], e.Start+8+int64(fields))
	if err != nil {
		return nil, err
	}
	c := child(kids, typ)
	if c == nil {
		return nil, nil
	}
	return c.Data, nil
}

func parseAVCEntry(e *box, t *Track) error {
	cfg, err := entryChild(e, visualEntryFields, "avcC")
	if err != nil {
		return err
	}
	if cfg == nil {
		return invalidf("%q sample entry has no avcC box", e.Type)
	}
	rec, err := avc.DecodeAVCDecConfRec(cfg)
	if err != nil {
		return invalidf("decoding avcC: %v", err)
	}

	t.DecoderConfig = cfg
	t.Width = binary.BigEndian.Uint16(e.Data[24:])
	t.Height = binary.BigEndian.Uint16(e.Data[26:])
	t.CodecString = fmt.Sprintf("%s.%02x%02x%02x", e.Type, rec.AVCProfileIndication, rec.ProfileCompatibility, rec.AVCLevelIndication)
	t.ParameterSets = append(append([][]byte{}, rec.SPSnalus...), rec.PPSnalus...)
	return nil
}

func parseHEVCEntry(e *box, t *Track) error {
	cfg, err := entryChild(e, visualEntryFields, "hvcC")
	if err != nil {
		return err
	}
	if cfg == nil {
		return invalidf("%q sample entry has no hvcC box", e.Type)
	}
	rec, err := hevc.DecodeHEVCDecConfRec(cfg)
	if err != nil {
		return invalidf("decoding hvcC: %v", err)
	}

	t.DecoderConfig = cfg
	t.Width = binary.BigEndian.Uint16(e.Data[24:])
	t.Height = binary.BigEndian.Uint16(e.Data[26:])
	t.CodecString = hevcCodecString(e.Type, &rec)
	for _, a := range rec.NaluArrays {
		switch a.NaluType() {
		case hevc.NALU_VPS, hevc.NALU_SPS, hevc.NALU_PPS:
			t.ParameterSets = append(t.ParameterSets, a.Nalus...)
		}
	}
	return nil
}

// hevcCodecString formats the RFC 6381 codecs parameter of HEVC as ISO/IEC
// 14496-15 Annex E specifies: profile space and profile, the profile
// compatibility flags bit-reversed in hex, tier and level, then the
// constraint flag bytes without trailing zero bytes.
func hevcCodecString(entry string, r *hevc.DecConfRec) string {
	var sb strings.Builder
	sb.WriteString(entry)
	sb.WriteByte('.')
	if r.GeneralProfileSpace > 0 && r.GeneralProfileSpace < 4 {
		sb.WriteByte("ABC"[r.GeneralProfileSpace-1])
	}
	fmt.Fprintf(&sb, "%d.%X.", r.GeneralProfileIDC, bits.Reverse32(r.GeneralProfileCompatibilityFlags))
	if r.GeneralTierFlag {
		sb.WriteByte('H')
	} else {
		sb.WriteByte('L')
	}
	fmt.Fprintf(&sb, "%d", r.GeneralLevelIDC)

	flags := r.GeneralConstraintIndicatorFlags & (1<<48 - 1)
	n := 6
	for n > 0 && flags&0xff == 0 {
		flags >>= 8
		n--
	}
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, ".%X", byte(flags>>(8*i)))
	}
	return sb.String()
}

func parseAACEntry(raw []byte, t *Track) error {
	dec, err := mp4.DecodeBoxSR(0, mp4bits.NewFixedSliceReader(raw))
	if err != nil {
		return invalidf("decoding mp4a sample entry: %v", err)
	}
	entry, ok := dec.(*mp4.AudioSampleEntryBox)
	if !ok || entry.Esds == nil || entry.Esds.DecConfigDescriptor == nil || entry.Esds.DecConfigDescriptor.DecSpecificInfo == nil {
		return invalidf("mp4a sample entry has no AudioSpecificConfig")
	}
	if ot := entry.Esds.DecConfigDescriptor.ObjectType; ot != 0x40 {
		return unsupportedf("mp4a object type indication %#x is not AAC (0x40)", ot)
	}

	asc := entry.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig
	cfg, err := parseAudioSpecificConfig(asc)
	if err != nil {
		return err
	}
	t.AudioSpecificConfig = asc
	t.AudioObjectType = cfg.objectType
	t.CodecString = fmt.Sprintf("mp4a.40.%d", cfg.objectType)
	t.SampleRate = uint32(cfg.outputRate)
	t.Channels = cfg.channels
	if t.Channels == 0 {
		// Channel configuration 0 defines channels in a program config
		// element; the sample entry's count is the best available.
		t.Channels = entry.ChannelCount
	}
	return nil
}

// audioConfig is what the packager needs from an AudioSpecificConfig.
type audioConfig struct {
	objectType int
	outputRate int
	channels   uint16
}

// aacSampleRates is the sampling frequency table of ISO/IEC 14496-3
// section 1.6.3.4.
var aacSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// parseAudioSpecificConfig reads an AudioSpecificConfig (ISO/IEC 14496-3
// section 1.6.2.1), including the backward-compatible SBR and PS
// signalling (sync extensions 0x2b7 and 0x548), so implicitly signalled
// HE-AAC reports object type 5 or 29 and its output sample rate. PS
// decodes a mono core to stereo, so HE-AACv2 reports two channels.
func parseAudioSpecificConfig(asc []byte) (audioConfig, error) {
	r := mp4bits.NewReader(bytes.NewReader(asc))
	readRate := func() int {
		i := r.Read(4)
		if i == 0xf {
			return int(r.Read(24))
		}
		if int(i) < len(aacSampleRates) {
			return aacSampleRates[i]
		}
		return 0
	}

	cfg := audioConfig{objectType: int(r.Read(5))}
	rate := readRate()
	chanConfig := r.Read(4)
	sbr, ps := false, false
	if cfg.objectType == 5 || cfg.objectType == 29 {
		sbr, ps = true, cfg.objectType == 29
		rate = readRate()
		if base := r.Read(5); base != 2 {
			return cfg, unsupportedf("HE-AAC with core object type %d; only AAC-LC cores are supported", base)
		}
	}
	if r.AccError() != nil || rate == 0 {
		return cfg, invalidf("AudioSpecificConfig %x is truncated or has a reserved sampling frequency", asc)
	}
	if cfg.objectType != 2 && cfg.objectType != 5 && cfg.objectType != 29 {
		return cfg, unsupportedf("AAC object type %d is not supported; use AAC-LC (2), HE-AAC (5) or HE-AACv2 (29)", cfg.objectType)
	}

	_ = r.Read(3) // GASpecificConfig of AAC-LC: frame length, core coder and extension flags
	if cfg.objectType == 2 && len(asc)*8-r.NrBitsRead() >= 16 && r.Read(11) == 0x2b7 {
		if r.Read(5) == 5 && r.Read(1) == 1 {
			sbr = true
			cfg.objectType = 5
			rate = readRate()
			if len(asc)*8-r.NrBitsRead() >= 12 && r.Read(11) == 0x548 && r.Read(1) == 1 {
				ps = true
				cfg.objectType = 29
			}
		}
	}
	if r.AccError() != nil {
		return cfg, invalidf("AudioSpecificConfig %x is truncated", asc)
	}

	cfg.outputRate = rate
	switch {
	case chanConfig >= 1 && chanConfig <= 6:
		cfg.channels = uint16(chanConfig)
	case chanConfig == 7:
		cfg.channels = 8
	}
	if ps && cfg.channels == 1 {
		cfg.channels = 2
	}
	_ = sbr
	return cfg, nil
}

// completeCodecConfig takes the parameter sets of an avc3 or hev1 track
// whose sample entry carries none from its first sync sample, where such
// streams must carry them (ISO/IEC 14496-15 sections 5.4.2 and 8.4.1).
func completeCodecConfig(r io.ReaderAt, t *Track) error {
	if t.Kind != KindVideo || len(t.ParameterSets) > 0 {
		return nil
	}
	i := 0
	for i < len(t.Samples) && !t.Samples[i].Sync {
		i++
	}
	if i == len(t.Samples) {
		return invalidf("%s track has no sync sample", t.Codec)
	}

	s := t.Samples[i]
	if s.Size > maxParameterSetSample {
		return invalidf("first sync sample of %d bytes is larger than the %d-byte limit", s.Size, maxParameterSetSample)
	}
	data := make([]byte, s.Size)
	if err := readFull(r, data, s.Offset); err != nil {
		return fmt.Errorf("reading first sync sample: %w", err)
	}

	lengthSize := naluLengthSize(t)
	switch t.Codec {
	case CodecAVC1, CodecAVC3:
		for _, n := range splitNALUs(data, lengthSize) {
			if typ := avc.GetNaluType(n[0]); typ == avc.NALU_SPS || typ == avc.NALU_PPS {
				t.ParameterSets = append(t.ParameterSets, n)
			}
		}
	case CodecHVC1, CodecHEV1:
		for _, n := range splitNALUs(data, lengthSize) {
			if typ := hevc.GetNaluType(n[0]); typ == hevc.NALU_VPS || typ == hevc.NALU_SPS || typ == hevc.NALU_PPS {
				t.ParameterSets = append(t.ParameterSets, n)
			}
		}
	}
	if len(t.ParameterSets) == 0 {
		return invalidf("%s track has no parameter sets in its sample entry or first sync sample", t.Codec)
	}
	return nil
}

// naluLengthSize returns the size of the NAL unit length fields of a
// track's samples, from lengthSizeMinusOne of its avcC or hvcC.
func naluLengthSize(t *Track) int {
	cfg := t.DecoderConfig
	switch {
	case (t.Codec == CodecAVC1 || t.Codec == CodecAVC3) && len(cfg) > 4:
		return int(cfg[4]&3) + 1
	case (t.Codec == CodecHVC1 || t.Codec == CodecHEV1) && len(cfg) > 21:
		return int(cfg[21]&3) + 1
	}
	return 4
}

// splitNALUs splits a sample of length-prefixed NAL units; it stops at
// the first length that is zero or runs past the sample.
func splitNALUs(data []byte, lengthSize int) [][]byte {
	var out [][]byte
	for len(data) >= lengthSize {
		var n uint64
		for _, b := range data[:lengthSize] {
			n = n<<8 | uint64(b)
		}
		if n == 0 || n > uint64(len(data)-lengthSize) {
			break
		}
		out = append(out, data[lengthSize:lengthSize+int(n)])
		data = data[lengthSize+int(n):]
	}
	return out
}
