package ts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

// sampleDir holds the project's sample asset.
const sampleDir = "../../testdata/media/sample"

// mp4ffTestdata returns a file from mp4ff's testdata in the module cache.
func mp4ffTestdata(tb testing.TB, name string) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		tb.Fatalf("locating the module cache: %v", err)
	}
	path := filepath.Join(string(bytes.TrimSpace(out)), "github.com", "!eyevinn", "mp4ff@v0.56.0", "mp4", "testdata", name)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("mp4ff test file not in the module cache: %v", err)
	}
	return path
}

// loadTrack builds a packager.Track from the first track of kind in a
// progressive MP4 file, the way the contract describes it: Time from stts
// starting at 0, CTO from ctts minus the edit list's media time. It returns
// the track and the whole file, from which sampleData cuts payloads.
func loadTrack(tb testing.TB, path string, kind packager.TrackKind) (*packager.Track, []byte) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("decoding %s: %v", path, err)
	}

	handler := map[packager.TrackKind]string{packager.KindVideo: "vide", packager.KindAudio: "soun"}[kind]
	for _, trak := range f.Moov.Traks {
		if trak.Mdia.Hdlr.HandlerType != handler {
			continue
		}
		t := &packager.Track{
			Name:      filepath.Base(path),
			Kind:      kind,
			TrackID:   trak.Tkhd.TrackID,
			Timescale: trak.Mdia.Mdhd.Timescale,
		}
		describeSampleEntry(tb, t, trak.Mdia.Minf.Stbl.Stsd)
		t.Samples = sampleTable(tb, trak)
		return t, raw
	}
	tb.Fatalf("%s has no %s track", path, kind)
	return nil, nil
}

func describeSampleEntry(tb testing.TB, t *packager.Track, stsd *mp4.StsdBox) {
	tb.Helper()
	var config mp4.Box
	switch {
	case stsd.AvcX != nil:
		t.Codec = packager.Codec(stsd.AvcX.Type())
		t.ParameterSets = append(append(t.ParameterSets, stsd.AvcX.AvcC.SPSnalus...), stsd.AvcX.AvcC.PPSnalus...)
		config = stsd.AvcX.AvcC
	case stsd.HvcX != nil:
		t.Codec = packager.Codec(stsd.HvcX.Type())
		for _, a := range stsd.HvcX.HvcC.NaluArrays {
			t.ParameterSets = append(t.ParameterSets, a.Nalus...)
		}
		config = stsd.HvcX.HvcC
	case stsd.Mp4a != nil:
		t.Codec = packager.CodecAAC
		t.AudioSpecificConfig = stsd.Mp4a.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig
		t.SampleRate = uint32(stsd.Mp4a.SampleRate)
		t.Channels = stsd.Mp4a.ChannelCount
		return
	default:
		tb.Fatalf("unexpected sample entry in %s", t.Name)
	}
	var buf bytes.Buffer
	if err := config.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	t.DecoderConfig = buf.Bytes()[8:]
}

func sampleTable(tb testing.TB, trak *mp4.TrakBox) []packager.Sample {
	tb.Helper()
	stbl := trak.Mdia.Minf.Stbl
	var mediaTime int64
	if trak.Edts != nil {
		for _, e := range trak.Edts.Elst[0].Entries {
			if e.MediaTime >= 0 {
				mediaTime = e.MediaTime
				break
			}
		}
	}

	n := stbl.Stsz.GetNrSamples()
	samples := make([]packager.Sample, n)
	var decodeTime int64
	nr := 0
	for i, count := range stbl.Stts.SampleCount {
		for range count {
			s := &samples[nr]
			s.Time = decodeTime
			s.Dur = stbl.Stts.SampleTimeDelta[i]
			s.Size = stbl.Stsz.GetSampleSize(nr + 1)
			s.CTO = -int32(mediaTime)
			if stbl.Ctts != nil {
				s.CTO += stbl.Ctts.GetCompositionTimeOffset(uint32(nr + 1))
			}
			s.Sync = stbl.Stss == nil || stbl.Stss.IsSyncSample(uint32(nr+1))
			decodeTime += int64(s.Dur)
			nr++
		}
	}

	chunks, err := stbl.Stsc.GetContainingChunks(1, n)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range chunks {
		var off uint64
		if stbl.Stco != nil {
			off, err = stbl.Stco.GetOffset(int(c.ChunkNr))
		} else {
			off, err = stbl.Co64.GetOffset(int(c.ChunkNr))
		}
		if err != nil {
			tb.Fatal(err)
		}
		for nr := c.StartSampleNr; nr < c.StartSampleNr+c.NrSamples && nr <= n; nr++ {
			samples[nr-1].Offset = int64(off)
			off += uint64(samples[nr-1].Size)
		}
	}
	return samples
}

// sampleData returns the payloads of samples concatenated, as
// packager.ReadSamples returns them.
func sampleData(file []byte, samples []packager.Sample) []byte {
	var data []byte
	for _, s := range samples {
		data = append(data, file[s.Offset:s.Offset+int64(s.Size)]...)
	}
	return data
}

// splitSegments cuts the samples of t into segments of about target
// seconds: video at the first sync sample at or after each multiple of
// target, audio at the first sample at or after it. It returns the sample
// index ranges as [start, end) pairs.
func splitSegments(t *packager.Track, target int64) [][2]int {
	var ranges [][2]int
	start := 0
	next := target * int64(t.Timescale)
	for i, s := range t.Samples {
		cut := s.PresentationTime() >= next
		if t.Kind == packager.KindVideo {
			cut = cut && s.Sync
		}
		if i > start && cut {
			ranges = append(ranges, [2]int{start, i})
			start = i
			next += target * int64(t.Timescale)
		}
	}
	return append(ranges, [2]int{start, len(t.Samples)})
}

// buildSegments returns the TS segments of t cut by splitSegments.
func buildSegments(tb testing.TB, t *packager.Track, file []byte, target int64) [][]byte {
	tb.Helper()
	var segments [][]byte
	for _, r := range splitSegments(t, target) {
		samples := t.Samples[r[0]:r[1]]
		seg, err := Segment(nil, t, samples, sampleData(file, samples))
		if err != nil {
			tb.Fatalf("segment of samples %d-%d: %v", r[0], r[1], err)
		}
		segments = append(segments, seg)
	}
	return segments
}

// requireFFmpeg skips the test when ffmpeg or ffprobe is missing, except
// on CI, where the test fails.
func requireFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("%s is required on CI: %v", tool, err)
			}
			tb.Skipf("%s not installed: %v", tool, err)
		}
	}
}
