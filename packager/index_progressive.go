package packager

import (
	"encoding/binary"
)

// parseMvhd returns the movie timescale, the unit of edit list segment
// durations.
func parseMvhd(b *box) (uint32, error) {
	if b == nil {
		return 0, invalidf("moov has no mvhd box")
	}
	version, _, body, err := fullBox(b)
	if err != nil {
		return 0, err
	}
	off := 8 // creation and modification time, version 0
	if version == 1 {
		off = 16
	}
	if len(body) < off+4 {
		return 0, invalidf("mvhd box of %d bytes is too short", len(b.Data))
	}
	ts := binary.BigEndian.Uint32(body[off:])
	if ts == 0 {
		return 0, invalidf("mvhd timescale is 0")
	}
	return ts, nil
}

// parseTrak parses one trak box. It returns nil for tracks that are
// neither video nor audio (timecode, hint, metadata), which the packager
// ignores.
func parseTrak(trak *box, movieTimescale uint32, idx *FileIndex) (*trackBuild, error) {
	idx.movieTimescale = movieTimescale
	kids, err := children(trak.Data, trak.Start+8)
	if err != nil {
		return nil, err
	}
	trackID, err := parseTkhd(child(kids, "tkhd"))
	if err != nil {
		return nil, err
	}

	b, err := parseMdia(kids, trackID, idx)
	if err != nil || b == nil {
		return nil, withTrack(trackID, err)
	}
	if edts := child(kids, "edts"); edts != nil {
		ek, err := children(edts.Data, edts.Start+8)
		if err != nil {
			return nil, withTrack(trackID, err)
		}
		b.elst = child(ek, "elst")
	}
	return b, nil
}

func parseMdia(trak []box, trackID uint32, idx *FileIndex) (*trackBuild, error) {
	mdia := child(trak, "mdia")
	if mdia == nil {
		return nil, invalidf("trak has no mdia box")
	}
	kids, err := children(mdia.Data, mdia.Start+8)
	if err != nil {
		return nil, err
	}

	kind, err := parseHdlr(child(kids, "hdlr"))
	if err != nil || kind == 0 {
		return nil, err
	}
	t := &Track{Kind: kind, File: idx.Name, TrackID: trackID}
	if err := parseMdhd(child(kids, "mdhd"), t); err != nil {
		return nil, err
	}

	stbl, err := findStbl(kids)
	if err != nil {
		return nil, err
	}
	if err := parseStsd(child(stbl, "stsd"), t); err != nil {
		return nil, err
	}
	b := &trackBuild{t: t}
	if err := parseSampleTable(stbl, b, idx); err != nil {
		return nil, err
	}
	return b, nil
}

func findStbl(mdia []box) ([]box, error) {
	minf := child(mdia, "minf")
	if minf == nil {
		return nil, invalidf("mdia has no minf box")
	}
	mk, err := children(minf.Data, minf.Start+8)
	if err != nil {
		return nil, err
	}
	stbl := child(mk, "stbl")
	if stbl == nil {
		return nil, invalidf("minf has no stbl box")
	}
	return children(stbl.Data, stbl.Start+8)
}

func parseTkhd(b *box) (uint32, error) {
	if b == nil {
		return 0, invalidf("trak has no tkhd box")
	}
	version, _, body, err := fullBox(b)
	if err != nil {
		return 0, err
	}
	off := 8
	if version == 1 {
		off = 16
	}
	if len(body) < off+4 {
		return 0, invalidf("tkhd box of %d bytes is too short", len(b.Data))
	}
	return binary.BigEndian.Uint32(body[off:]), nil
}

// parseHdlr returns the track kind, or 0 for handler types the packager
// does not serve.
func parseHdlr(b *box) (TrackKind, error) {
	if b == nil {
		return 0, invalidf("mdia has no hdlr box")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return 0, err
	}
	if len(body) < 8 {
		return 0, invalidf("hdlr box of %d bytes is too short", len(b.Data))
	}
	switch string(body[4:8]) {
	case "vide":
		return KindVideo, nil
	case "soun":
		return KindAudio, nil
	}
	return 0, nil
}

func parseMdhd(b *box, t *Track) error {
	if b == nil {
		return invalidf("mdia has no mdhd box")
	}
	version, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	off := 8
	durLen := 4
	if version == 1 {
		off, durLen = 16, 8
	}
	if len(body) < off+4+durLen+2 {
		return invalidf("mdhd box of %d bytes is too short", len(b.Data))
	}
	t.Timescale = binary.BigEndian.Uint32(body[off:])
	if t.Timescale == 0 {
		return invalidf("mdhd timescale is 0")
	}
	t.Language = decodeLanguage(binary.BigEndian.Uint16(body[off+4+durLen:]))
	return nil
}

// decodeLanguage unpacks the ISO 639-2/T code of mdhd: three letters of 5
// bits each, offset by 0x60 (ISO/IEC 14496-12 section 8.4.2.3).
func decodeLanguage(v uint16) string {
	var c [3]byte
	for i := range c {
		x := byte(v>>(10-5*i)) & 0x1f
		if x == 0 || x > 26 {
			return "und"
		}
		c[i] = x + 0x60
	}
	return string(c[:])
}

// parseSampleTable builds the progressive sample table of a track from
// stsz, stts, ctts, stsc, stco/co64 and stss. A fragmented file has empty
// tables here and gets its samples from the moof boxes.
func parseSampleTable(stbl []box, b *trackBuild, idx *FileIndex) error {
	fileSize := idx.Size
	sizes, err := parseStsz(child(stbl, "stsz"), fileSize)
	if err != nil {
		return err
	}
	n := sizes.count
	if n == 0 {
		return nil
	}
	if err := idx.budget.take(uint64(n), fileSize); err != nil {
		return err
	}
	b.t.Samples = make([]Sample, n)
	samples := b.t.Samples
	for i := range samples {
		samples[i].Size = sizes.at(i)
		samples[i].Sync = true
		b.sizeSum += int64(samples[i].Size)
	}
	if b.sizeSum > fileSize {
		return invalidf("sample sizes add up to %d bytes, more than the file's %d", b.sizeSum, fileSize)
	}

	if err := parseStts(child(stbl, "stts"), samples); err != nil {
		return err
	}
	if err := parseCtts(child(stbl, "ctts"), samples); err != nil {
		return err
	}
	if err := parseChunks(stbl, samples); err != nil {
		return err
	}
	return parseStss(child(stbl, "stss"), samples)
}

// sampleSizes is a decoded stsz box: either one size for all samples or a
// table of big-endian uint32 sizes.
type sampleSizes struct {
	count   int
	uniform uint32
	table   []byte
}

func (s sampleSizes) at(i int) uint32 {
	if s.table == nil {
		return s.uniform
	}
	return binary.BigEndian.Uint32(s.table[4*i:])
}

func parseStsz(b *box, fileSize int64) (sampleSizes, error) {
	if b == nil {
		return sampleSizes{}, invalidf("stbl has no stsz box")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return sampleSizes{}, err
	}
	if len(body) < 8 {
		return sampleSizes{}, invalidf("stsz box of %d bytes is too short", len(b.Data))
	}
	uniform := binary.BigEndian.Uint32(body)
	count := uint64(binary.BigEndian.Uint32(body[4:]))
	if uniform != 0 {
		// The samples must fit in the file, which bounds the allocation.
		if count*uint64(uniform) > uint64(fileSize) {
			return sampleSizes{}, invalidf("stsz declares %d samples of %d bytes in a file of %d bytes", count, uniform, fileSize)
		}
		return sampleSizes{count: int(count), uniform: uniform}, nil
	}
	if count*4 > uint64(len(body)-8) {
		return sampleSizes{}, invalidf("stsz declares %d samples but holds %d bytes", count, len(body)-8)
	}
	return sampleSizes{count: int(count), table: body[8 : 8+4*count]}, nil
}

func parseStts(b *box, samples []Sample) error {
	if b == nil {
		return invalidf("stbl has no stts box")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	count, entries, err := tableBody(b, body, 8)
	if err != nil {
		return err
	}

	i := 0
	var t int64
	for e := 0; e < count && i < len(samples); e++ {
		n := int(binary.BigEndian.Uint32(entries[8*e:]))
		delta := binary.BigEndian.Uint32(entries[8*e+4:])
		for ; n > 0 && i < len(samples); n-- {
			samples[i].Time = t
			samples[i].Dur = delta
			t += int64(delta)
			i++
		}
	}
	if i < len(samples) {
		return invalidf("stts covers %d of %d samples", i, len(samples))
	}
	return nil
}

// parseCtts reads composition offsets. Version 0 offsets are unsigned in
// the specification, but encoders write negative offsets into version 0
// boxes too, so both versions are read as int32.
func parseCtts(b *box, samples []Sample) error {
	if b == nil {
		return nil
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	count, entries, err := tableBody(b, body, 8)
	if err != nil {
		return err
	}

	i := 0
	for e := 0; e < count && i < len(samples); e++ {
		n := int(binary.BigEndian.Uint32(entries[8*e:]))
		off := int32(binary.BigEndian.Uint32(entries[8*e+4:]))
		for ; n > 0 && i < len(samples); n-- {
			samples[i].CTO = off
			i++
		}
	}
	if i < len(samples) {
		return invalidf("ctts covers %d of %d samples", i, len(samples))
	}
	return nil
}

func parseStss(b *box, samples []Sample) error {
	if b == nil {
		return nil // no stss: every sample is a sync sample
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	count, entries, err := tableBody(b, body, 4)
	if err != nil {
		return err
	}

	for i := range samples {
		samples[i].Sync = false
	}
	for e := 0; e < count; e++ {
		nr := binary.BigEndian.Uint32(entries[4*e:])
		if nr == 0 || int64(nr) > int64(len(samples)) {
			return invalidf("stss names sample %d of %d", nr, len(samples))
		}
		samples[nr-1].Sync = true
	}
	return nil
}

// parseChunks sets the sample offsets from stsc and stco or co64.
func parseChunks(stbl []box, samples []Sample) error {
	offsets, err := chunkOffsets(stbl)
	if err != nil {
		return err
	}
	b := child(stbl, "stsc")
	if b == nil {
		return invalidf("stbl has no stsc box")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return err
	}
	count, entries, err := tableBody(b, body, 12)
	if err != nil {
		return err
	}

	i := 0
	for e := 0; e < count && i < len(samples); e++ {
		first := binary.BigEndian.Uint32(entries[12*e:])
		perChunk := binary.BigEndian.Uint32(entries[12*e+4:])
		if desc := binary.BigEndian.Uint32(entries[12*e+8:]); desc != 1 {
			return unsupportedf("samples use sample description %d; only one sample description per track is supported", desc)
		}
		last := uint32(offsets.count) // last chunk of this entry, 1-based
		if e+1 < count {
			last = binary.BigEndian.Uint32(entries[12*(e+1):]) - 1
		}
		if first == 0 || last > uint32(offsets.count) || (e+1 < count && last+1 <= first) {
			return invalidf("stsc entry %d has first chunk %d, out of order or past the %d chunks", e+1, first, offsets.count)
		}

		for c := first; c <= last && i < len(samples); c++ {
			pos := offsets.at(int(c - 1))
			for k := uint32(0); k < perChunk && i < len(samples); k++ {
				samples[i].Offset = pos
				pos += int64(samples[i].Size)
				i++
			}
		}
	}
	if i < len(samples) {
		return invalidf("stsc and chunk offsets cover %d of %d samples", i, len(samples))
	}
	return nil
}

// chunkTable is a decoded stco (4-byte) or co64 (8-byte) box.
type chunkTable struct {
	count int
	wide  bool
	table []byte
}

func (c chunkTable) at(i int) int64 {
	if c.wide {
		return int64(binary.BigEndian.Uint64(c.table[8*i:]) & (1<<63 - 1))
	}
	return int64(binary.BigEndian.Uint32(c.table[4*i:]))
}

func chunkOffsets(stbl []box) (chunkTable, error) {
	b, size := child(stbl, "stco"), 4
	if b == nil {
		b, size = child(stbl, "co64"), 8
	}
	if b == nil {
		return chunkTable{}, invalidf("stbl has neither stco nor co64")
	}
	_, _, body, err := fullBox(b)
	if err != nil {
		return chunkTable{}, err
	}
	count, entries, err := tableBody(b, body, size)
	if err != nil {
		return chunkTable{}, err
	}
	return chunkTable{count: count, wide: size == 8, table: entries}, nil
}
