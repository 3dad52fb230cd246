package fmp4

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// testKey is a public test key; it protects nothing.
var testKey = packager.ContentKey{
	ID:    [16]byte{0x6b, 0x5e, 0x2b, 0x3f, 0x0c, 0x41, 0x4e, 0x18, 0x9a, 0x44, 0x6f, 0x3a, 0x51, 0x2d, 0x77, 0x10},
	Value: [16]byte{0x3c, 0x6a, 0x95, 0x11, 0xe0, 0x4d, 0x27, 0x8b, 0x61, 0x0f, 0xa2, 0x5c, 0x93, 0x17, 0xd8, 0x4e},
}

var cenc = packager.Protection{Scheme: packager.SchemeCENC, Key: testKey}

// testMedia is one source track of the test set. index is unique across
// the set and gives each track its own IVIdentity, as the loader ensures
// for the tracks of an asset sharing one key.
type testMedia struct {
	name  string
	path  func(testing.TB) string
	trak  int
	index int
}

func sampleFile(name string) func(testing.TB) string {
	return func(testing.TB) string { return filepath.Join(sampleDir, name) }
}

func mp4ffTestFile(name string) func(testing.TB) string {
	return func(tb testing.TB) string { return mp4ffFile(tb, name) }
}

// allMedia lists every rendition of the sample asset, an H.264 and AAC
// file from mp4ff, and an HEVC file from mp4ff.
var allMedia = []testMedia{
	{"sample_416x234", sampleFile("video_416x234_200k.mp4"), 0, 0},
	{"sample_640x360", sampleFile("video_640x360_400k.mp4"), 0, 1},
	{"sample_854x480", sampleFile("video_854x480_700k.mp4"), 0, 2},
	{"sample_audio", sampleFile("audio_eng_96k.mp4"), 0, 3},
	{"bbb_video", mp4ffTestFile("bbb_prog_10s.mp4"), 0, 4},
	{"bbb_audio", mp4ffTestFile("bbb_prog_10s.mp4"), 1, 5},
	{"hevc_video", mp4ffTestFile("ed_hevc.mp4"), 0, 6},
}

func (m testMedia) load(tb testing.TB) *sourceTrack {
	tb.Helper()
	return loadTrack(tb, m.path(tb), m.trak, m.index)
}

// packagedTrack is a whole track written as an init segment and one media
// segment per two-second range.
type packagedTrack struct {
	init     []byte
	segments [][]byte
	ranges   []packager.SampleRange
}

func (p *packagedTrack) file() []byte {
	out := append([]byte(nil), p.init...)
	for _, s := range p.segments {
		out = append(out, s...)
	}
	return out
}

func packageTrack(tb testing.TB, src *sourceTrack, prot packager.Protection) *packagedTrack {
	tb.Helper()
	init, err := Init(nil, src.Track, prot)
	if err != nil {
		tb.Fatalf("Init: %v", err)
	}
	p := &packagedTrack{init: init, ranges: splitTwoSeconds(src.Track)}
	for i, r := range p.ranges {
		seg, err := Segment(nil, src.Track, uint32(i+1), r.Start, src.Samples[r.Start:r.End], src.data(r.Start, r.End), prot)
		if err != nil {
			tb.Fatalf("Segment %d: %v", i+1, err)
		}
		p.segments = append(p.segments, seg)
	}
	return p
}

// requireFFmpeg skips the test when ffmpeg is missing, unless CI=true.
func requireFFmpeg(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("ffmpeg is required with CI=true: %v", err)
		}
		tb.Skip("ffmpeg not found; install ffmpeg to run this test")
	}
}

// framemd5 decodes input with ffmpeg and returns its framemd5 listing.
// Input goes through a pipe, a non-seekable input: ffmpeg 5.1 applies the
// last fragment's IVs to every sample of a seekable fragmented CENC file.
func framemd5(tb testing.TB, input []byte, inputArgs ...string) string {
	tb.Helper()
	args := append([]string{"-v", "error"}, inputArgs...)
	args = append(args, "-i", "pipe:0", "-f", "framemd5", "-")
	return runFFmpeg(tb, input, args)
}

// sourceFramemd5 decodes the first video or audio stream of a source file.
// Audio is decoded with its edit list ignored, because fMP4 output keeps
// the priming samples at negative presentation times rather than in an
// edit list, and ffmpeg 5.1 decodes them instead of trimming them.
func sourceFramemd5(tb testing.TB, src *sourceTrack) string {
	tb.Helper()
	args := []string{"-v", "error"}
	stream := "0:v:0"
	if src.Kind == packager.KindAudio {
		args = append(args, "-ignore_editlist", "1")
		stream = "0:a:0"
	}
	args = append(args, "-i", src.path, "-map", stream, "-f", "framemd5", "-")
	return runFFmpeg(tb, nil, args)
}

func runFFmpeg(tb testing.TB, stdin []byte, args []string) string {
	tb.Helper()
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Errorf("ffmpeg %v reported errors:\n%s", args, stderr.String())
	}
	return stdout.String()
}

func keyHex(k packager.ContentKey) string { return hex.EncodeToString(k.Value[:]) }
