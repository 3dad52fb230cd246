package fmp4

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"

	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

// sourceTrack is a track built from a progressive MP4 file as the indexer
// builds it, with the whole source file for reading sample data.
type sourceTrack struct {
	*packager.Track
	path string
	file []byte
}

// data returns the concatenated payloads of samples [from, to).
func (s *sourceTrack) data(from, to int) []byte {
	var out []byte
	for _, sm := range s.Samples[from:to] {
		out = append(out, s.file[sm.Offset:sm.Offset+int64(sm.Size)]...)
	}
	return out
}

// loadTrack builds track number trakNr (from 0) of a progressive MP4 file, following
// the packager.Sample contract: Time starts at 0 and the edit list's media
// time is subtracted from every composition offset.
func loadTrack(tb testing.TB, path string, trakNr, index int) *sourceTrack {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("decoding %s: %v", path, err)
	}
	trak := f.Moov.Traks[trakNr]
	mdia := trak.Mdia
	stbl := mdia.Minf.Stbl
	t := &packager.Track{
		Index: index, IVIdentity: 0x5eed0000 + uint32(index),
		Name: filepath.Base(path), File: filepath.Base(path), TrackID: trak.Tkhd.TrackID,
		Language: mdia.Mdhd.GetLanguage(), Timescale: mdia.Mdhd.Timescale,
	}

	var entry bytes.Buffer
	if err := stbl.Stsd.Children[0].Encode(&entry); err != nil {
		tb.Fatal(err)
	}
	t.SampleEntry = entry.Bytes()
	t.Codec = packager.Codec(stbl.Stsd.Children[0].Type())
	switch se := stbl.Stsd.Children[0].(type) {
	case *mp4.VisualSampleEntryBox:
		t.Kind, t.Width, t.Height = packager.KindVideo, se.Width, se.Height
		var cfg bytes.Buffer
		if se.AvcC != nil {
			_ = se.AvcC.Encode(&cfg)
			t.ParameterSets = append(append(t.ParameterSets, se.AvcC.SPSnalus...), se.AvcC.PPSnalus...)
		} else {
			_ = se.HvcC.Encode(&cfg)
			for _, typ := range []hevc.NaluType{hevc.NALU_VPS, hevc.NALU_SPS, hevc.NALU_PPS} {
				t.ParameterSets = append(t.ParameterSets, se.HvcC.GetNalusForType(typ)...)
			}
		}
		t.DecoderConfig = cfg.Bytes()[8:]
	case *mp4.AudioSampleEntryBox:
		t.Kind, t.SampleRate, t.Channels = packager.KindAudio, uint32(se.SampleRate), se.ChannelCount
		t.AudioSpecificConfig = se.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig
	}

	var mediaTime int64
	if trak.Edts != nil && len(trak.Edts.Elst) > 0 {
		for _, e := range trak.Edts.Elst[0].Entries {
			if e.MediaTime >= 0 {
				mediaTime = e.MediaTime
				break
			}
		}
	}

	n := int(stbl.Stsz.GetNrSamples())
	t.Samples = make([]packager.Sample, n)
	for nr := 1; nr <= n; nr++ {
		decode, dur := stbl.Stts.GetDecodeTime(uint32(nr))
		s := &t.Samples[nr-1]
		s.Time, s.Dur, s.Size = int64(decode), dur, stbl.Stsz.GetSampleSize(nr)
		s.Sync = stbl.Stss == nil || stbl.Stss.IsSyncSample(uint32(nr))
		if stbl.Ctts != nil {
			s.CTO = stbl.Ctts.GetCompositionTimeOffset(uint32(nr))
		}
		s.CTO -= int32(mediaTime)
	}
	for chunkNr := 1; ; chunkNr++ {
		chunk := stbl.Stsc.GetChunk(uint32(chunkNr))
		if int(chunk.StartSampleNr) > n || chunk.NrSamples == 0 {
			break
		}
		var off uint64
		if stbl.Stco != nil {
			off, err = stbl.Stco.GetOffset(chunkNr)
		} else {
			off, err = stbl.Co64.GetOffset(chunkNr)
		}
		if err != nil {
			break
		}
		for nr := chunk.StartSampleNr; nr < chunk.StartSampleNr+chunk.NrSamples && int(nr) <= n; nr++ {
			t.Samples[nr-1].Offset = int64(off)
			off += uint64(t.Samples[nr-1].Size)
		}
	}
	last := t.Samples[n-1]
	t.Duration = last.Time + int64(last.Dur)
	return &sourceTrack{Track: t, path: path, file: raw}
}

// splitTwoSeconds returns the sample ranges of fixed two-second segments
// that start at sync samples.
func splitTwoSeconds(t *packager.Track) []packager.SampleRange {
	var out []packager.SampleRange
	start, next := 0, int64(2*t.Timescale)
	for i, s := range t.Samples {
		if i > start && s.Sync && s.Time >= next {
			out = append(out, packager.SampleRange{Start: start, End: i})
			start = i
			for next <= s.Time {
				next += int64(2 * t.Timescale)
			}
		}
	}
	return append(out, packager.SampleRange{Start: start, End: len(t.Samples)})
}

// sampleDir holds the project's sample asset.
var sampleDir = filepath.Join("..", "..", "testdata", "media", "sample")

// mp4ffDir returns mp4ff's test data folder in the module cache: the
// folder of the source file that defines mp4.DecodeFile, plus testdata. It
// runs no go command, so fuzz workers started by go test can call it.
var mp4ffDir = sync.OnceValues(func() (string, error) {
	fn := runtime.FuncForPC(reflect.ValueOf(mp4.DecodeFile).Pointer())
	if fn == nil {
		return "", errors.New("no function information for mp4.DecodeFile")
	}
	file, _ := fn.FileLine(fn.Entry())
	dir := filepath.Join(filepath.Dir(file), "testdata")
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
})

// mp4ffFile returns the path of one of mp4ff's test files in the module
// cache (MIT licence).
func mp4ffFile(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := mp4ffDir()
	if err != nil {
		tb.Fatalf("locating the mp4ff module: %v", err)
	}
	return filepath.Join(dir, name)
}
