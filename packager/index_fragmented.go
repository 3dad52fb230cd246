package packager

import (
	"encoding/binary"
	"fmt"
	"io"
)

// fragmentDefaults are the trex (or tfhd) defaults for track fragment runs.
type fragmentDefaults struct {
	duration, size, flags uint32
}

// Flags of tfhd and trun (ISO/IEC 14496-12 sections 8.8.7 and 8.8.8).
const (
	tfhdBaseDataOffset    = 0x000001
	tfhdSampleDescription = 0x000002
	tfhdDefaultDuration   = 0x000008
	tfhdDefaultSize       = 0x000010
	tfhdDefaultFlags      = 0x000020
	tfhdDefaultBaseIsMoof = 0x020000
	trunDataOffset        = 0x000001
	trunFirstSampleFlags  = 0x000004
	trunSampleDuration    = 0x000100
	trunSampleSize        = 0x000200
	trunSampleFlags       = 0x000400
	trunSampleCTO         = 0x000800
	sampleIsNonSyncSample = 0x00010000
)

func parseMvex(b *box) (map[uint32]fragmentDefaults, error) {
	out := map[uint32]fragmentDefaults{}
	if b == nil {
		return out, nil
	}
	kids, err := children(b.Data, b.Start+8)
	if err != nil {
		return nil, err
	}
	for i := range kids {
		if kids[i].Type != "trex" {
			continue
		}
		_, _, body, err := fullBox(&kids[i])
		if err != nil {
			return nil, err
		}
		if len(body) < 20 {
			return nil, invalidf("trex box of %d bytes is too short", len(kids[i].Data))
		}
		out[binary.BigEndian.Uint32(body)] = fragmentDefaults{
			duration: binary.BigEndian.Uint32(body[8:]),
			size:     binary.BigEndian.Uint32(body[12:]),
			flags:    binary.BigEndian.Uint32(body[16:]),
		}
	}
	return out, nil
}

// indexFragments appends the samples of every moof box to the tracks. The
// top-level walk finds every moof whether or not the file has a sidx, so
// the sidx is not needed.
func indexFragments(r io.ReaderAt, top []boxHeader, builds []*trackBuild, idx *FileIndex) error {
	byID := make(map[uint32]*trackBuild, len(builds))
	for _, b := range builds {
		byID[b.t.TrackID] = b
	}
	for _, h := range top {
		if h.Type != "moof" {
			continue
		}
		idx.Fragmented = true
		payload, err := readBox(r, h)
		if err != nil {
			return err
		}
		if err := parseMoof(h, payload, byID, idx); err != nil {
			return fmt.Errorf("moof at offset %d: %w", h.Start, err)
		}
	}
	return nil
}

func parseMoof(h boxHeader, payload []byte, byID map[uint32]*trackBuild, idx *FileIndex) error {
	kids, err := children(payload, h.payloadStart())
	if err != nil {
		return err
	}

	// Without base-data-offset or default-base-is-moof, the first traf's
	// base is the moof and each later traf's base is where the previous
	// traf's data ended (ISO/IEC 14496-12 section 8.8.7.1).
	implicitBase := h.Start
	for i := range kids {
		if kids[i].Type != "traf" {
			continue
		}
		end, err := parseTraf(&kids[i], h.Start, implicitBase, byID, idx)
		if err != nil {
			return err
		}
		implicitBase = end
	}
	return nil
}

// parseTraf appends the samples of one track fragment and returns the
// offset where its data ends.
func parseTraf(traf *box, moofStart, implicitBase int64, byID map[uint32]*trackBuild, idx *FileIndex) (int64, error) {
	kids, err := children(traf.Data, traf.Start+8)
	if err != nil {
		return 0, err
	}
	tfhd := child(kids, "tfhd")
	if tfhd == nil {
		return 0, invalidf("traf has no tfhd box")
	}
	_, flags, body, err := fullBox(tfhd)
	if err != nil {
		return 0, err
	}
	if len(body) < 4 {
		return 0, invalidf("tfhd box is too short")
	}
	b := byID[binary.BigEndian.Uint32(body)]
	if b == nil {
		return implicitBase, nil // a track the packager ignores
	}

	base, defaults, err := parseTfhd(flags, body[4:], b)
	if err != nil {
		return 0, withTrack(b.t.TrackID, err)
	}
	switch {
	case flags&tfhdBaseDataOffset != 0:
	case flags&tfhdDefaultBaseIsMoof != 0:
		base = moofStart
	default:
		base = implicitBase
	}

	if tfdt := child(kids, "tfdt"); tfdt != nil {
		t, err := parseTfdt(tfdt)
		if err != nil {
			return 0, withTrack(b.t.TrackID, err)
		}
		b.nextTime = t
	}

	pos := base
	for i := range kids {
		if kids[i].Type != "trun" {
			continue
		}
		pos, err = parseTrun(&kids[i], base, pos, defaults, b, idx)
		if err != nil {
			return 0, withTrack(b.t.TrackID, err)
		}
	}
	return pos, nil
}

func parseTfhd(flags uint32, body []byte, b *trackBuild) (int64, fragmentDefaults, error) {
	d := b.trex
	var base int64
	need := 0
	for _, f := range []struct {
		flag uint32
		size int
	}{{tfhdBaseDataOffset, 8}, {tfhdSampleDescription, 4}, {tfhdDefaultDuration, 4}, {tfhdDefaultSize, 4}, {tfhdDefaultFlags, 4}} {
		if flags&f.flag != 0 {
			need += f.size
		}
	}
	if len(body) < need {
		return 0, d, invalidf("tfhd with flags %#x is %d bytes, needs %d", flags, len(body), need)
	}

	if flags&tfhdBaseDataOffset != 0 {
		base = int64(binary.BigEndian.Uint64(body) & (1<<63 - 1))
		body = body[8:]
	}
	if flags&tfhdSampleDescription != 0 {
		if desc := binary.BigEndian.Uint32(body); desc != 1 {
			return 0, d, unsupportedf("fragment uses sample description %d; only one sample description per track is supported", desc)
		}
		body = body[4:]
	}
	if flags&tfhdDefaultDuration != 0 {
		d.duration = binary.BigEndian.Uint32(body)
		body = body[4:]
	}
	if flags&tfhdDefaultSize != 0 {
		d.size = binary.BigEndian.Uint32(body)
		body = body[4:]
	}
	if flags&tfhdDefaultFlags != 0 {
		d.flags = binary.BigEndian.Uint32(body)
	}
	return base, d, nil
}

func parseTfdt(b *box) (int64, error) {
	version, _, body, err := fullBox(b)
	if err != nil {
		return 0, err
	}
	if version == 1 {
		if len(body) < 8 {
			return 0, invalidf("tfdt box is too short")
		}
		v := binary.BigEndian.Uint64(body)
		if v > 1<<62 {
			return 0, invalidf("tfdt base media decode time %d is out of range", v)
		}
		return int64(v), nil
	}
	if len(body) < 4 {
		return 0, invalidf("tfdt box is too short")
	}
	return int64(binary.BigEndian.Uint32(body)), nil
}

// parseTrun appends the samples of one track run and returns the offset
// after its data. pos is where the previous run's data ended.
func parseTrun(trun *box, base, pos int64, d fragmentDefaults, b *trackBuild, idx *FileIndex) (int64, error) {
	fileSize := idx.Size
	_, flags, body, err := fullBox(trun)
	if err != nil {
		return 0, err
	}
	if len(body) < 4 {
		return 0, invalidf("trun box is too short")
	}
	count := uint64(binary.BigEndian.Uint32(body))
	body = body[4:]

	if flags&trunDataOffset != 0 {
		if len(body) < 4 {
			return 0, invalidf("trun box is too short")
		}
		pos = base + int64(int32(binary.BigEndian.Uint32(body)))
		body = body[4:]
	}
	firstFlags, hasFirst := d.flags, false
	if flags&trunFirstSampleFlags != 0 {
		if len(body) < 4 {
			return 0, invalidf("trun box is too short")
		}
		firstFlags, hasFirst = binary.BigEndian.Uint32(body), true
		body = body[4:]
	}

	// Check the count before allocating: per-sample fields must be in
	// the box, and samples of a default size must fit in the file.
	perSample := 0
	for _, f := range []uint32{trunSampleDuration, trunSampleSize, trunSampleFlags, trunSampleCTO} {
		if flags&f != 0 {
			perSample += 4
		}
	}
	if count*uint64(perSample) > uint64(len(body)) {
		return 0, invalidf("trun declares %d samples but holds %d bytes", count, len(body))
	}
	if flags&trunSampleSize == 0 {
		if d.size == 0 && count > 0 {
			return 0, invalidf("trun of %d samples has neither sample sizes nor a default size", count)
		}
		if count*uint64(d.size) > uint64(fileSize) {
			return 0, invalidf("trun declares %d samples of %d bytes in a file of %d bytes", count, d.size, fileSize)
		}
	}
	if err := idx.budget.take(count, fileSize); err != nil {
		return 0, err
	}

	b.t.Samples = growSamples(b.t.Samples, int(count))
	for i := 0; i < int(count); i++ {
		s := Sample{Offset: pos, Time: b.nextTime, Dur: d.duration, Size: d.size}
		sf := d.flags
		if i == 0 && hasFirst {
			sf = firstFlags
		}
		if flags&trunSampleDuration != 0 {
			s.Dur, body = binary.BigEndian.Uint32(body), body[4:]
		}
		if flags&trunSampleSize != 0 {
			s.Size, body = binary.BigEndian.Uint32(body), body[4:]
		}
		if flags&trunSampleFlags != 0 {
			sf, body = binary.BigEndian.Uint32(body), body[4:]
		}
		if flags&trunSampleCTO != 0 {
			// Read as signed in both versions, as for ctts.
			s.CTO = int32(binary.BigEndian.Uint32(body))
			body = body[4:]
		}
		s.Sync = sf&sampleIsNonSyncSample == 0

		b.sizeSum += int64(s.Size)
		if b.sizeSum > fileSize {
			return 0, invalidf("sample sizes add up to more than the file's %d bytes", fileSize)
		}
		pos += int64(s.Size)
		b.nextTime += int64(s.Dur)
		b.t.Samples = append(b.t.Samples, s)
	}
	return pos, nil
}

// growSamples makes room for n more samples, growing by at least a
// quarter so a file of many small fragments does not copy the table
// once per fragment.
func growSamples(s []Sample, n int) []Sample {
	if cap(s)-len(s) >= n {
		return s
	}
	extra := max(n, len(s)/4)
	out := make([]Sample, len(s), len(s)+extra)
	copy(out, s)
	return out
}

// withTrack prefixes an error with the track ID; nil stays nil.
func withTrack(id uint32, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("track %d: %w", id, err)
}
