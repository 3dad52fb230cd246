package ts

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// segmentSeconds is the target segment duration of the tests, as in a
// default HLS plan.
const segmentSeconds = 6

type mediaCase struct {
	name   string
	path   string
	kind   packager.TrackKind
	family codecFamily
}

func mediaCases(t *testing.T) []mediaCase {
	return []mediaCase{
		{"416x234", filepath.Join(sampleDir, "video_416x234_200k.mp4"), packager.KindVideo, familyH264},
		{"640x360", filepath.Join(sampleDir, "video_640x360_400k.mp4"), packager.KindVideo, familyH264},
		{"854x480", filepath.Join(sampleDir, "video_854x480_700k.mp4"), packager.KindVideo, familyH264},
		{"audio_eng", filepath.Join(sampleDir, "audio_eng_96k.mp4"), packager.KindAudio, familyAAC},
		{"bbb_video", mp4ffTestdata(t, "bbb_prog_10s.mp4"), packager.KindVideo, familyH264},
		{"bbb_audio", mp4ffTestdata(t, "bbb_prog_10s.mp4"), packager.KindAudio, familyAAC},
		{"hevc", mp4ffTestdata(t, "ed_hevc.mp4"), packager.KindVideo, familyHEVC},
	}
}

func TestSegmentStructure(t *testing.T) {
	for _, c := range mediaCases(t) {
		t.Run(c.name, func(t *testing.T) {
			track, file := loadTrack(t, c.path, c.kind)
			ranges := splitSegments(track, segmentSeconds)
			for i, seg := range buildSegments(t, track, file, segmentSeconds) {
				r, err := checkSegment(seg)
				if err != nil {
					t.Fatalf("segment %d: %v", i, err)
				}
				checkStreams(t, c, track, r, track.Samples[ranges[i][0]:ranges[i][1]])
			}
		})
	}
}

// checkStreams compares what checkSegment found with the samples the
// segment was built from.
func checkStreams(t *testing.T, c mediaCase, track *packager.Track, r *tsReport, samples []packager.Sample) {
	t.Helper()
	wantType := map[codecFamily]byte{familyH264: 0x1B, familyHEVC: 0x24, familyAAC: 0x0F}[c.family]
	if r.streamType != wantType {
		t.Errorf("stream type %#x, want %#x", r.streamType, wantType)
	}
	wantPID := uint16(VideoPID)
	if c.kind == packager.KindAudio {
		wantPID = AudioPID
	}
	if r.esPID != wantPID {
		t.Errorf("elementary PID %#x, want %#x", r.esPID, wantPID)
	}
	wantPTS := to90kHz(samples[0].PresentationTime(), track.Timescale) + PTSOffset
	if r.pes[0].pts != wantPTS {
		t.Errorf("first PTS %d, want %d", r.pes[0].pts, wantPTS)
	}

	if c.kind == packager.KindAudio {
		checkAudioPES(t, r, samples)
		return
	}

	if len(r.pes) != len(samples) {
		t.Fatalf("%d PES, want one per sample, %d", len(r.pes), len(samples))
	}
	keys, err := checkVideoAccessUnits(r, c.family)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := 0
	for i, s := range samples {
		if s.Sync {
			wantKeys++
		}
		if pts := to90kHz(s.PresentationTime(), track.Timescale) + PTSOffset; r.pes[i].pts != pts {
			t.Errorf("PES %d: PTS %d, want %d", i, r.pes[i].pts, pts)
		}
	}
	if keys != wantKeys {
		t.Errorf("%d random access PES, want %d sync samples", keys, wantKeys)
	}
}

func checkAudioPES(t *testing.T, r *tsReport, samples []packager.Sample) {
	t.Helper()
	var frames int
	for i, u := range r.pes {
		f, err := adtsFrames(u.payload)
		if err != nil {
			t.Fatalf("PES %d: %v", i, err)
		}
		if len(f) > 5 {
			t.Errorf("PES %d holds %d frames, more than 100 ms", i, len(f))
		}
		frames += len(f)
	}
	if frames != len(samples) {
		t.Errorf("%d ADTS frames, want %d", frames, len(samples))
	}
}

func TestSegmentDecodesLikeSource(t *testing.T) {
	requireFFmpeg(t)
	for _, c := range mediaCases(t) {
		t.Run(c.name, func(t *testing.T) {
			track, file := loadTrack(t, c.path, c.kind)
			segments := buildSegments(t, track, file, segmentSeconds)
			tsPath := filepath.Join(t.TempDir(), "all.ts")
			if err := os.WriteFile(tsPath, bytes.Join(segments, nil), 0o600); err != nil {
				t.Fatal(err)
			}

			// The TS has no edit list, so it decodes the AAC priming frame
			// that the MP4's edit list hides. The reference ignores the
			// edit list so that both decode the same frames.
			got := frameHashes(t, c.kind, tsPath)
			want := frameHashes(t, c.kind, "-ignore_editlist", "1", c.path)
			if len(got) != len(want) {
				t.Fatalf("decoded %d frames from TS, %d from MP4", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("frame %d: hash %s from TS, %s from MP4", i, got[i], want[i])
				}
			}
		})
	}
}

// frameHashes decodes the first stream of kind from the input given by the
// last of args and returns the MD5 of every decoded frame.
func frameHashes(t *testing.T, kind packager.TrackKind, args ...string) []string {
	t.Helper()
	stream := "0:v:0"
	if kind == packager.KindAudio {
		stream = "0:a:0"
	}
	args = append([]string{"-v", "error"}, args...)
	args = append(args[:len(args)-1], "-i", args[len(args)-1], "-map", stream, "-f", "framemd5", "-")
	cmd := exec.Command("ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	var hashes []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(fields[len(fields)-1]))
	}
	return hashes
}

func TestSegmentProbe(t *testing.T) {
	requireFFmpeg(t)
	for _, c := range mediaCases(t) {
		t.Run(c.name, func(t *testing.T) {
			track, file := loadTrack(t, c.path, c.kind)
			ranges := splitSegments(track, segmentSeconds)
			dir := t.TempDir()
			for i, seg := range buildSegments(t, track, file, segmentSeconds) {
				path := filepath.Join(dir, strconv.Itoa(i)+".ts")
				if err := os.WriteFile(path, seg, 0o600); err != nil {
					t.Fatal(err)
				}
				first := track.Samples[ranges[i][0]]
				checkProbe(t, c, path, to90kHz(first.PresentationTime(), track.Timescale)+PTSOffset)
			}
		})
	}
}

type probeOutput struct {
	Streams []struct {
		ID        string `json:"id"`
		CodecName string `json:"codec_name"`
		TimeBase  string `json:"time_base"`
	} `json:"streams"`
	Packets []struct {
		PTS *int64 `json:"pts"`
		DTS *int64 `json:"dts"`
	} `json:"packets"`
}

// checkProbe runs ffprobe on one segment and checks its stream, the PTS of
// its first packet and DTS <= PTS for every packet.
func checkProbe(t *testing.T, c mediaCase, path string, wantPTS int64) {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_packets", "-of", "json", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v: %s", path, err, stderr.String())
	}
	var probe probeOutput
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatal(err)
	}

	wantCodec := map[codecFamily]string{familyH264: "h264", familyHEVC: "hevc", familyAAC: "aac"}[c.family]
	wantID := "0x100"
	if c.kind == packager.KindAudio {
		wantID = "0x101"
	}
	if len(probe.Streams) != 1 {
		t.Fatalf("%s: %d streams, want 1", path, len(probe.Streams))
	}
	if s := probe.Streams[0]; s.CodecName != wantCodec || s.ID != wantID || s.TimeBase != "1/90000" {
		t.Errorf("%s: stream %s with id %s and time base %s, want %s with id %s and time base 1/90000",
			path, s.CodecName, s.ID, s.TimeBase, wantCodec, wantID)
	}

	if len(probe.Packets) == 0 || probe.Packets[0].PTS == nil {
		t.Fatalf("%s: no packets with a PTS", path)
	}
	if got := *probe.Packets[0].PTS; got != wantPTS {
		t.Errorf("%s: first PTS %d, want %d", path, got, wantPTS)
	}
	for i, p := range probe.Packets {
		if p.PTS == nil || p.DTS == nil {
			t.Fatalf("%s: packet %d without PTS or DTS", path, i)
		}
		if *p.DTS > *p.PTS {
			t.Errorf("%s: packet %d: DTS %d after PTS %d", path, i, *p.DTS, *p.PTS)
		}
	}
}
