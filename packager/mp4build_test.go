package packager

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/mp4"
)

// audioSpec is one AAC-LC track of a generated MP4: count samples of size
// bytes and dur ticks each.
type audioSpec struct {
	timescale        uint32
	count, size, dur uint32
}

// progressiveAudioMP4 returns a progressive MP4 with one AAC track per
// spec. Each track has one chunk, and all chunks start at the mdat
// payload, which is as long as the largest track needs, so tracks may
// share sample data. The indexer accepts such files.
func progressiveAudioMP4(t testing.TB, specs ...audioSpec) []byte {
	t.Helper()
	init := mp4.CreateEmptyInit()
	var payload int
	for _, s := range specs {
		trak := init.AddEmptyTrack(s.timescale, "audio", "und")
		if err := trak.SetAACDescriptor(aac.AAClc, 48000); err != nil {
			t.Fatal(err)
		}
		stbl := trak.Mdia.Minf.Stbl
		stbl.Stts.SampleCount = []uint32{s.count}
		stbl.Stts.SampleTimeDelta = []uint32{s.dur}
		stbl.Stsz.SampleNumber = s.count
		stbl.Stsz.SampleUniformSize = s.size
		if err := stbl.Stsc.AddEntry(1, s.count, 1); err != nil {
			t.Fatal(err)
		}
		stbl.Stco.ChunkOffset = []uint32{0}
		payload = max(payload, int(s.count)*int(s.size))
	}

	// The moov's size does not depend on the chunk offsets, so encode it
	// once to learn where the mdat payload starts.
	head := encodeBoxes(t, mp4.CreateFtyp(), init.Moov)
	for _, trak := range init.Moov.Traks {
		trak.Mdia.Minf.Stbl.Stco.ChunkOffset[0] = uint32(len(head) + 8)
	}
	out := encodeBoxes(t, mp4.CreateFtyp(), init.Moov)
	out = binary.BigEndian.AppendUint32(out, uint32(payload+8))
	out = append(out, "mdat"...)
	return append(out, make([]byte, payload)...)
}

// fragmentedAudioMP4 returns a fragmented MP4 with one AAC track and one
// fragment whose trun lists count samples with no per-sample fields, so
// every sample takes the tfhd default size and duration.
func fragmentedAudioMP4(t testing.TB, count, size, dur uint32) []byte {
	t.Helper()
	init := mp4.CreateEmptyInit()
	trak := init.AddEmptyTrack(48000, "audio", "und")
	if err := trak.SetAACDescriptor(aac.AAClc, 48000); err != nil {
		t.Fatal(err)
	}
	out := encodeBoxes(t, mp4.CreateFtyp(), init.Moov)

	const tfhdFlags = tfhdDefaultDuration | tfhdDefaultSize | tfhdDefaultBaseIsMoof
	tfhd := fullBoxBytes("tfhd", tfhdFlags, be32(trak.Tkhd.TrackID), be32(dur), be32(size))
	tfdt := fullBoxBytes("tfdt", 0, be32(0))
	trunLen := 8 + 4 + 4 + 4
	moofLen := 8 + len(fullBoxBytes("mfhd", 0, be32(1))) + 8 + len(tfhd) + len(tfdt) + trunLen
	trun := fullBoxBytes("trun", trunDataOffset, be32(count), be32(uint32(moofLen+8)))
	traf := boxBytes("traf", tfhd, tfdt, trun)
	out = append(out, boxBytes("moof", fullBoxBytes("mfhd", 0, be32(1)), traf)...)

	payload := int(count) * int(size)
	out = binary.BigEndian.AppendUint32(out, uint32(payload+8))
	out = append(out, "mdat"...)
	return append(out, make([]byte, payload)...)
}

func encodeBoxes(t testing.TB, boxes ...mp4.Box) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, b := range boxes {
		if err := b.Encode(&buf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func boxBytes(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	out = append(out, typ...)
	for _, p := range payload {
		out = append(out, p...)
	}
	return out
}

// fullBoxBytes returns a version 0 full box.
func fullBoxBytes(typ string, flags uint32, payload ...[]byte) []byte {
	return boxBytes(typ, append([][]byte{be32(flags & 0xffffff)}, payload...)...)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// writeAsset writes files into a new asset folder and returns it.
func writeAsset(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGeneratedMP4sIndex checks that the generators above make files the
// indexer accepts, so the limit tests fail on the limit and not on the
// file.
func TestGeneratedMP4sIndex(t *testing.T) {
	prog := progressiveAudioMP4(t, audioSpec{timescale: 48000, count: 10, size: 8, dur: 1024}, audioSpec{timescale: 44100, count: 5, size: 8, dur: 1024})
	idx, err := IndexFile(newMemFile(prog), "prog.mp4")
	if err != nil {
		t.Fatalf("progressive: %v", err)
	}
	if len(idx.Tracks) != 2 || len(idx.Tracks[0].Samples) != 10 || len(idx.Tracks[1].Samples) != 5 {
		t.Errorf("progressive: got %d tracks, want 2 of 10 and 5 samples", len(idx.Tracks))
	}

	frag := fragmentedAudioMP4(t, 20, 8, 1024)
	idx, err = IndexFile(newMemFile(frag), "frag.mp4")
	if err != nil {
		t.Fatalf("fragmented: %v", err)
	}
	if len(idx.Tracks) != 1 || len(idx.Tracks[0].Samples) != 20 || idx.Tracks[0].Samples[19].Time != 19*1024 {
		t.Errorf("fragmented: got %+v, want one track of 20 samples", idx.Tracks)
	}
}
