package packager

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestIndexSampleAsset(t *testing.T) {
	tests := []struct {
		file        string
		kind        TrackKind
		codec       string
		width       uint16
		samples     int
		timescale   uint32
		durationSec float64
	}{
		{"video_416x234_200k.mp4", KindVideo, "avc1.4d400d", 416, 288, 12288, 12},
		{"video_640x360_400k.mp4", KindVideo, "avc1.4d401e", 640, 288, 12288, 12},
		{"video_854x480_700k.mp4", KindVideo, "avc1.64001e", 854, 288, 12288, 12},
		{"audio_eng_96k.mp4", KindAudio, "mp4a.40.2", 0, 563, 48000, 12},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			idx := indexPath(t, filepath.Join(sampleDir, tc.file))
			if len(idx.Tracks) != 1 {
				t.Fatalf("got %d tracks, want 1", len(idx.Tracks))
			}
			tr := idx.Tracks[0]
			if tr.Kind != tc.kind || tr.CodecString != tc.codec || tr.Width != tc.width || tr.Timescale != tc.timescale {
				t.Errorf("got kind %v codec %q width %d timescale %d, want %v %q %d %d", tr.Kind, tr.CodecString, tr.Width, tr.Timescale, tc.kind, tc.codec, tc.width, tc.timescale)
			}
			if len(tr.Samples) != tc.samples {
				t.Errorf("got %d samples, want %d", len(tr.Samples), tc.samples)
			}
			if got := seconds(tr.Duration, tr.Timescale); got < tc.durationSec-0.05 || got > tc.durationSec+0.05 {
				t.Errorf("got duration %.3f s, want %.3f s", got, tc.durationSec)
			}
			if len(tr.SampleEntry) == 0 || tr.Bitrate == 0 {
				t.Errorf("got %d sample entry bytes and bitrate %d, want both set", len(tr.SampleEntry), tr.Bitrate)
			}
			if tr.Kind == KindVideo {
				checkVideoTrack(t, tr)
			} else {
				checkAudioTrack(t, tr, 48000, 2, 2)
			}
			if !idx.Edits[tr.TrackID].Present || idx.Edits[tr.TrackID].MediaTime != 1024 {
				t.Errorf("got edit info %+v, want media time 1024", idx.Edits[tr.TrackID])
			}
		})
	}
}

func checkVideoTrack(t *testing.T, tr *Track) {
	t.Helper()
	if tr.FrameRate != (Rational{24, 1}) && tr.Timescale == 12288 {
		t.Errorf("got frame rate %v, want 24/1", tr.FrameRate)
	}
	if len(tr.ParameterSets) < 2 || len(tr.DecoderConfig) == 0 {
		t.Errorf("got %d parameter sets and %d decoder config bytes", len(tr.ParameterSets), len(tr.DecoderConfig))
	}
	first := tr.Samples[0]
	if !first.Sync || first.PresentationTime() != first.Time {
		t.Errorf("first sample %+v: want a sync sample presented at its decode time", first)
	}
	for i, s := range tr.Samples {
		if s.Time < 0 {
			t.Fatalf("sample %d has negative decode time %d", i, s.Time)
		}
	}
}

func checkAudioTrack(t *testing.T, tr *Track, rate uint32, channels uint16, aot int) {
	t.Helper()
	if tr.SampleRate != rate || tr.Channels != channels || tr.AudioObjectType != aot || len(tr.AudioSpecificConfig) == 0 {
		t.Errorf("got %d Hz, %d channels, object type %d, ASC %x; want %d Hz, %d channels, object type %d", tr.SampleRate, tr.Channels, tr.AudioObjectType, tr.AudioSpecificConfig, rate, channels, aot)
	}
	if tr.Samples[0].Time < 0 {
		t.Errorf("first audio sample at %d, want >= 0", tr.Samples[0].Time)
	}
}

func TestIndexMP4ffFiles(t *testing.T) {
	tests := []struct {
		file   string
		codecs []string
		frag   bool
	}{
		{"bbb_prog_10s.mp4", []string{"avc1.64000d", "mp4a.40.2"}, false},
		{"prog_8s.mp4", []string{"mp4a.40.2", "avc1.64001e"}, false},
		{"bbb5s_aac_sidx.mp4", []string{"mp4a.40.2"}, true},
		{"v300_multiple_segments.mp4", []string{"avc1.64001e"}, true},
		{"ed_hevc.mp4", []string{"hvc1.1.6.L120.90", "mp4a.40.2"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			idx := indexPath(t, mp4ffTestdata(t, tc.file))
			var got []string
			for _, tr := range idx.Tracks {
				got = append(got, tr.CodecString)
			}
			if strings.Join(got, ",") != strings.Join(tc.codecs, ",") {
				t.Errorf("got codecs %v, want %v", got, tc.codecs)
			}
			if idx.Fragmented != tc.frag {
				t.Errorf("got fragmented %v, want %v", idx.Fragmented, tc.frag)
			}
		})
	}
}

func TestIndexUnsupportedCodec(t *testing.T) {
	data, err := os.ReadFile(mp4ffTestdata(t, "opus.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = IndexFile(newMemFile(data), "opus.mp4")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	for _, want := range []string{"opus.mp4", "track 1", "Opus"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestIndexFFmpegLayouts indexes files in the layouts encoders write and
// compares each with the packets ffprobe reports.
func TestIndexFFmpegLayouts(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := testSourceArgs(6)
	aac := []string{"-c:a", "aac", "-b:a", "64k"}
	tests := []struct {
		name string
		args []string
		frag bool
	}{
		{"moov_at_end", append(append(append([]string{}, src...), x264Args...), aac...), false},
		{"faststart", append(append(append([]string{}, src...), x264Args...), append(aac, "-movflags", "+faststart")...), false},
		{"fragmented", append(append(append([]string{}, src...), x264Args...), append(aac, "-movflags", "frag_keyframe+empty_moov+default_base_moof")...), true},
		{"fragmented_sidx", append(append(append([]string{}, src...), x264Args...), append(aac, "-movflags", "frag_keyframe+empty_moov+default_base_moof+dash+global_sidx")...), true},
		{"fragmented_legacy_base", append(append(append([]string{}, src...), x264Args...), append(aac, "-movflags", "frag_keyframe+empty_moov")...), true},
		{"hevc", append(append([]string{}, src[:4]...), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=50:min-keyint=50:bframes=2", "-tag:v", "hvc1"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".mp4")
			ffmpeg(t, append(tc.args, out)...)
			idx := indexPath(t, out)
			if idx.Fragmented != tc.frag {
				t.Errorf("got fragmented %v, want %v", idx.Fragmented, tc.frag)
			}
			for _, tr := range idx.Tracks {
				checkAgainstFFprobe(t, out, tr)
			}
		})
	}
}

// checkAgainstFFprobe compares sample sizes and offsets with ffprobe's
// packets, and presentation times within one frame (one audio frame, or
// one video frame).
func checkAgainstFFprobe(t *testing.T, path string, tr *Track) {
	t.Helper()
	streamIndex := int(tr.TrackID) - 1
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", strconv.Itoa(streamIndex),
		"-show_entries", "packet=pts,pos,size,flags", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	lines := strings.Fields(string(out))
	// ffprobe keeps the priming frames that the indexer drops.
	lines = lines[len(lines)-len(tr.Samples):]

	var maxDur uint32
	for _, s := range tr.Samples {
		maxDur = max(maxDur, s.Dur)
	}
	for i, line := range lines {
		f := strings.Split(line, ",")
		pts, _ := strconv.ParseInt(f[0], 10, 64)
		size, _ := strconv.ParseInt(f[1], 10, 64)
		pos, _ := strconv.ParseInt(f[2], 10, 64)
		s := tr.Samples[i]
		if int64(s.Size) != size || s.Offset != pos {
			t.Fatalf("%s track %d sample %d: got size %d at %d, ffprobe says %d at %d", tr.Codec, tr.TrackID, i, s.Size, s.Offset, size, pos)
		}
		if s.Sync != strings.HasPrefix(f[3], "K") {
			t.Fatalf("%s track %d sample %d: got sync %v, ffprobe flags %q", tr.Codec, tr.TrackID, i, s.Sync, f[3])
		}
		// ffprobe reports stream time-base ticks, the track timescale.
		if d := s.PresentationTime() - pts; d < -int64(maxDur) || d > int64(maxDur) {
			t.Fatalf("%s track %d sample %d: presented at %d, ffprobe at %d, more than one frame (%d) apart", tr.Codec, tr.TrackID, i, s.PresentationTime(), pts, maxDur)
		}
	}
}

// rewriteMoov rebuilds the moov box of a file whose moov follows its mdat,
// so that sizes may change without moving sample data. edit returns the
// new type and payload of each leaf box.
func rewriteMoov(t *testing.T, data []byte, edit func(typ string, payload []byte) (string, []byte)) []byte {
	t.Helper()
	top, err := topLevelBoxes(newMemFile(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	last := top[len(top)-1]
	if last.Type != "moov" {
		t.Fatalf("moov is not the last box but %q", last.Type)
	}
	var rebuild func(b box) []byte
	rebuild = func(b box) []byte {
		typ := b.Type
		var payload []byte
		switch b.Type {
		case "moov", "trak", "mdia", "minf", "stbl", "edts":
			kids, err := children(b.Data, b.Start+8)
			if err != nil {
				t.Fatal(err)
			}
			payload = nil
			for _, k := range kids {
				payload = append(payload, rebuild(k)...)
			}
		default:
			typ, payload = edit(b.Type, b.Data)
		}
		out := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
		return append(append(out, typ...), payload...)
	}
	moov := rebuild(box{Type: "moov", Start: last.Start, Data: data[last.Start+last.HeaderLen:]})
	return append(append([]byte{}, data[:last.Start]...), moov...)
}

func TestIndexRewrittenTables(t *testing.T) {
	requireFFmpeg(t)
	path := filepath.Join(t.TempDir(), "end.mp4")
	ffmpeg(t, append(append(append([]string{}, testSourceArgs(4)...), x264Args...), "-c:a", "aac", path)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := IndexFile(newMemFile(data), "end.mp4")
	if err != nil {
		t.Fatal(err)
	}

	elsts := 0 // the video track's edit list comes first
	tests := []struct {
		name  string
		edit  func(string, []byte) (string, []byte)
		check func(t *testing.T, got *FileIndex)
	}{
		{"co64", func(typ string, p []byte) (string, []byte) {
			if typ != "stco" {
				return typ, p
			}
			n := binary.BigEndian.Uint32(p[4:])
			out := append([]byte{}, p[:8]...)
			for i := range n {
				out = binary.BigEndian.AppendUint64(out, uint64(binary.BigEndian.Uint32(p[8+4*i:])))
			}
			return "co64", out
		}, func(t *testing.T, got *FileIndex) { sameSamples(t, got, want) }},
		{"ctts_v1_negative", func(typ string, p []byte) (string, []byte) {
			switch typ {
			case "ctts":
				// Version 1 with the composition delay subtracted, and an
				// edit list of media time 0: the same presentation.
				out := append([]byte{1, 0, 0, 0}, p[4:]...)
				for i := range binary.BigEndian.Uint32(p[4:]) {
					o := 8 + 8*i + 4
					binary.BigEndian.PutUint32(out[o:], uint32(int32(binary.BigEndian.Uint32(p[o:]))-1024))
				}
				return typ, out
			case "elst":
				out := append([]byte{}, p...)
				elsts++
				if elsts == 1 && binary.BigEndian.Uint32(out[12:]) == 1024 && len(out) == 20 {
					binary.BigEndian.PutUint32(out[12:], 0)
				}
				return typ, out
			}
			return typ, p
		}, func(t *testing.T, got *FileIndex) { sameSamples(t, got, want) }},
		{"no_stss", func(typ string, p []byte) (string, []byte) {
			if typ == "stss" {
				return "free", p
			}
			return typ, p
		}, func(t *testing.T, got *FileIndex) {
			for _, tr := range got.Tracks {
				for i, s := range tr.Samples {
					if !s.Sync {
						t.Fatalf("track %d sample %d is not sync, want every sample sync without stss", tr.TrackID, i)
					}
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := rewriteMoov(t, data, tc.edit)
			got, err := IndexFile(newMemFile(b), tc.name+".mp4")
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

func sameSamples(t *testing.T, got, want *FileIndex) {
	t.Helper()
	if len(got.Tracks) != len(want.Tracks) {
		t.Fatalf("got %d tracks, want %d", len(got.Tracks), len(want.Tracks))
	}
	for i := range got.Tracks {
		g, w := got.Tracks[i].Samples, want.Tracks[i].Samples
		if len(g) != len(w) {
			t.Fatalf("track %d: got %d samples, want %d", i, len(g), len(w))
		}
		for j := range g {
			if g[j] != w[j] {
				t.Fatalf("track %d sample %d: got %+v, want %+v", i, j, g[j], w[j])
			}
		}
	}
}

func TestParseAudioSpecificConfig(t *testing.T) {
	tests := []struct {
		name     string
		asc      []byte
		aot      int
		rate     int
		channels uint16
	}{
		{"aac_lc_48k_stereo", []byte{0x11, 0x90}, 2, 48000, 2},
		{"he_aac_explicit", []byte{0x2b, 0x11, 0x88, 0x00}, 5, 48000, 2},       // 24 kHz core, 48 kHz SBR
		{"he_aac_v2_explicit", []byte{0xeb, 0x09, 0x88, 0x00}, 29, 48000, 2},   // mono core with PS
		{"he_aac_implicit", []byte{0x13, 0x10, 0x56, 0xe5, 0x98}, 5, 48000, 2}, // LC 24 kHz + sync extension
		{"aac_lc_5_1", []byte{0x11, 0xb0}, 2, 48000, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAudioSpecificConfig(tc.asc)
			if err != nil {
				t.Fatal(err)
			}
			if got.objectType != tc.aot || got.outputRate != tc.rate || got.channels != tc.channels {
				t.Errorf("got %+v, want object type %d, %d Hz, %d channels", got, tc.aot, tc.rate, tc.channels)
			}
		})
	}
	if _, err := parseAudioSpecificConfig([]byte{0x08, 0x10}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AAC Main: got %v, want ErrUnsupported", err)
	}
	if _, err := parseAudioSpecificConfig([]byte{0x11}); err == nil {
		t.Error("truncated config: got no error")
	}
}

func TestIndexHEAACFile(t *testing.T) {
	requireFFmpeg(t)
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if !strings.Contains(string(out), "libfdk_aac") {
		t.Skip("this ffmpeg has no HE-AAC encoder (libfdk_aac); HE-AAC signalling is covered by TestParseAudioSpecificConfig")
	}
	path := filepath.Join(t.TempDir(), "he.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3", "-ac", "2", "-c:a", "libfdk_aac", "-profile:a", "aac_he", path)
	idx := indexPath(t, path)
	checkAudioTrack(t, idx.Tracks[0], 48000, 2, 5)
	if idx.Tracks[0].CodecString != "mp4a.40.5" {
		t.Errorf("got codec %q, want mp4a.40.5", idx.Tracks[0].CodecString)
	}
}
