package packager

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// FileIndex is the parsed index of one MP4 file: its video and audio tracks
// with full sample tables, after edit lists were applied. Track.Index and
// Track.Name are left empty; the presentation builder sets them. The
// loader sets Track.IVIdentity, which depends on the file's version.
type FileIndex struct {
	Name       string
	Size       int64
	Fragmented bool
	Tracks     []*Track
	// Edits describes how the edit list of each track was applied, by
	// track ID.
	Edits map[uint32]EditInfo

	movieTimescale uint32
	budget         sampleBudget
}

// EditInfo records what the indexer did with a track's edit list.
type EditInfo struct {
	// Present is true when the track has an edit list.
	Present bool
	// Delay is the empty edit at the start of the track, in track ticks.
	Delay int64
	// MediaTime is the media time of the first non-empty edit, in track
	// ticks.
	MediaTime int64
	// Dropped counts the leading samples that end at or before
	// presentation time 0 and were removed (AAC priming frames).
	Dropped int
	// Ignored is set when the list had edits after the first non-empty
	// one, which the indexer does not apply.
	Ignored bool
}

// trackBuild holds one track while its file is indexed.
type trackBuild struct {
	t        *Track
	elst     *box
	trex     fragmentDefaults
	haveTrex bool
	sizeSum  int64
	nextTime int64 // decode time after the last fragment sample
}

// IndexFile parses the boxes of one MP4 file, progressive or fragmented,
// and returns its video and audio tracks. It reads only box headers, moov
// and moof boxes (and, for avc3/hev1 tracks without parameter sets in the
// sample entry, the first sync sample); mdat payloads are never read.
// Errors wrap ErrInvalidMedia or ErrUnsupported and name the file. Files
// past the limits of limits.go (tracks per file, samples per file, track
// duration) are rejected before their sample tables are allocated.
func IndexFile(f File, name string) (idx *FileIndex, err error) {
	defer func() {
		// mp4ff decodes the sample entries and may panic on input that
		// passed the checks here; a bad file must not take the server down.
		if r := recover(); r != nil {
			idx, err = nil, invalidf("decoder failure: %v", r)
		}
		if err != nil {
			err = fmt.Errorf("indexing %q: %w", name, err)
		}
	}()

	size := f.Size()
	top, err := topLevelBoxes(f, size)
	if err != nil {
		return nil, err
	}

	idx = &FileIndex{Name: name, Size: size, Edits: map[uint32]EditInfo{}, budget: newSampleBudget(size)}
	builds, err := indexMovie(f, top, idx)
	if err != nil {
		return nil, err
	}
	if err := indexFragments(f, top, builds, idx); err != nil {
		return nil, err
	}

	for _, b := range builds {
		if err := finishTrack(f, b, idx); err != nil {
			return nil, fmt.Errorf("track %d: %w", b.t.TrackID, err)
		}
		idx.Tracks = append(idx.Tracks, b.t)
	}
	return idx, nil
}

// topLevelBoxes lists the headers of the boxes at the top of the file.
func topLevelBoxes(r io.ReaderAt, size int64) ([]boxHeader, error) {
	var out []boxHeader
	for off := int64(0); off < size; {
		h, err := readBoxHeader(r, off, size)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
		off = h.end()
	}
	return out, nil
}

// indexMovie parses the moov box: one trackBuild per video or audio track,
// with the progressive sample table when the file has one.
func indexMovie(r io.ReaderAt, top []boxHeader, idx *FileIndex) ([]*trackBuild, error) {
	i := slices.IndexFunc(top, func(h boxHeader) bool { return h.Type == "moov" })
	if i < 0 {
		return nil, invalidf("no moov box")
	}
	payload, err := readBox(r, top[i])
	if err != nil {
		return nil, err
	}
	moov, err := children(payload, top[i].payloadStart())
	if err != nil {
		return nil, err
	}

	movieTimescale, err := parseMvhd(child(moov, "mvhd"))
	if err != nil {
		return nil, err
	}
	trex, err := parseMvex(child(moov, "mvex"))
	if err != nil {
		return nil, err
	}

	var builds []*trackBuild
	for j := range moov {
		if moov[j].Type != "trak" {
			continue
		}
		b, err := parseTrak(&moov[j], movieTimescale, idx)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		b.trex, b.haveTrex = trex[b.t.TrackID]
		if slices.ContainsFunc(builds, func(o *trackBuild) bool { return o.t.TrackID == b.t.TrackID }) {
			return nil, invalidf("track ID %d appears twice", b.t.TrackID)
		}
		if len(builds) == maxTracksPerFile {
			return nil, invalidf("the file has more than %d video and audio tracks", maxTracksPerFile)
		}
		builds = append(builds, b)
	}
	return builds, nil
}

// finishTrack checks the sample table, applies the edit list and fills
// the fields derived from the samples.
func finishTrack(r io.ReaderAt, b *trackBuild, idx *FileIndex) error {
	t := b.t
	if len(t.Samples) == 0 {
		return invalidf("track has no samples")
	}
	for i := range t.Samples {
		s := &t.Samples[i]
		if s.Offset < 0 || s.Offset+int64(s.Size) > idx.Size {
			return invalidf("sample %d at offset %d with size %d lies outside the file of %d bytes", i, s.Offset, s.Size, idx.Size)
		}
	}

	info, err := applyEditList(t, b.elst, idx.movieTimescale)
	if err != nil {
		return err
	}
	if info.Present {
		idx.Edits[t.TrackID] = info
	}

	if err := completeCodecConfig(r, t); err != nil {
		return err
	}
	fillTrackStats(t)
	if err := checkTrackDuration(t); err != nil {
		return err
	}

	clipSamples(t)
	detachCodecConfig(t)
	return nil
}

// clipSamples copies the sample table into a slice of its exact length
// when more than 1/16 of its capacity is unused, as after the growth of
// a fragmented file's table. The index cache counts capacity, so the
// slack would otherwise take room from other indexes.
func clipSamples(t *Track) {
	if cap(t.Samples)-len(t.Samples) > len(t.Samples)/16 {
		clipped := make([]Sample, len(t.Samples))
		copy(clipped, t.Samples)
		t.Samples = clipped
	}
}

// detachCodecConfig copies the codec configuration of t into one
// allocation of its own. After parsing, SampleEntry, DecoderConfig and
// AudioSpecificConfig point into the moov payload. ParameterSets point
// into it too, or into the whole sync sample read for an avc3 or hev1
// track. A cached index would otherwise keep those buffers alive (a few
// kilobytes per file, or a whole video frame), which the index cache
// does not count.
func detachCodecConfig(t *Track) {
	n := len(t.SampleEntry) + len(t.DecoderConfig) + len(t.AudioSpecificConfig)
	for _, ps := range t.ParameterSets {
		n += len(ps)
	}
	buf := make([]byte, 0, n)

	// take appends b to buf and returns the copy with its capacity cut
	// to its length, so an append to one field cannot overwrite the next.
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	t.SampleEntry = take(t.SampleEntry)
	t.DecoderConfig = take(t.DecoderConfig)
	t.AudioSpecificConfig = take(t.AudioSpecificConfig)
	if t.ParameterSets != nil {
		sets := make([][]byte, len(t.ParameterSets))
		for i, ps := range t.ParameterSets {
			sets[i] = take(ps)
		}
		t.ParameterSets = sets
	}
}

// invalidf returns an error wrapping ErrInvalidMedia.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMedia}, args...)...)
}

// unsupportedf returns an error wrapping ErrUnsupported.
func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// readFull reads len(buf) bytes at off; a short read means the file is
// truncated, while other read errors (a failing store) pass through.
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidf("short read of %d bytes at offset %d, got %d", len(buf), off, n)
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(buf), off, err)
}
