package hls

import (
	"encoding/hex"
	"time"

	"github.com/lockstream/lockstream/packager"
)

// The fixture mirrors testdata/media/sample: three H.264 renditions at 24
// fps, timescale 12288, 2 s GOPs, and AAC-LC 48 kHz stereo. The video is
// 13 s long and the plan cuts it every 4 s, a length that the target of 5
// s does not match, so the last segment is 1 s. The audio runs on its own
// 1024-sample frames, so its segments do not end where the video's do.
// The parameter sets and the AudioSpecificConfig are those of the sample
// files.

const (
	videoTimescale = 12288
	frameDur       = 512 // 1/24 s
	gopFrames      = 48  // 2 s
	audioTimescale = 48000
	aacFrameDur    = 1024
)

var fixtureVideos = []struct {
	name          string
	width, height uint16
	bitrate       int
	codec         string
	sps, pps      string
}{
	{"video_200k", 416, 234, 200_000, "avc1.4d400d", "674d400deca0d0ffc980880000030008000003018078a14cb0", "68ebecb2"},
	{"video_400k", 640, 360, 400_000, "avc1.4d401e", "674d401eeca05017fcb808800000030080000018078b16cb", "68ebecb2"},
	{"video_700k", 854, 480, 700_000, "avc1.64001e", "6764001eacd940d83de6f011000003000100000300300f162d96", "68ebecb22c"},
}

// fixtureOptions changes the fixture presentation.
type fixtureOptions struct {
	videoSeconds int   // default 13
	boundaries   []int // segment boundaries in seconds, default 0,4,8,12,end
	startTicks   int64 // decode time of the first video sample
	noVideo      bool
	audioLangs   []string // default "eng"
}

// fixture builds the presentation and plan described above.
func fixture(o fixtureOptions) (*packager.Presentation, *packager.SegmentPlan) {
	if o.videoSeconds == 0 {
		o.videoSeconds = 13
	}
	if o.boundaries == nil {
		o.boundaries = []int{0, 4, 8, 12, o.videoSeconds}
	}
	if o.audioLangs == nil {
		o.audioLangs = []string{"eng"}
	}

	p := &packager.Presentation{Asset: "sample", Name: "sample"}
	if !o.noVideo {
		for _, v := range fixtureVideos {
			p.Tracks = append(p.Tracks, videoTrack(len(p.Tracks), v.name, v.width, v.height, v.bitrate, v.codec, v.sps, v.pps, o))
		}
	}
	for _, lang := range o.audioLangs {
		p.Tracks = append(p.Tracks, audioTrack(len(p.Tracks), lang, o))
	}
	p.Duration = time.Duration(o.videoSeconds) * time.Second

	plan := &packager.SegmentPlan{Timescale: videoTimescale, Target: 5 * time.Second}
	for _, b := range o.boundaries {
		plan.Boundaries = append(plan.Boundaries, o.startTicks+int64(b)*videoTimescale)
	}
	for _, t := range p.Tracks {
		plan.Ranges = append(plan.Ranges, rangesFor(t, plan))
	}
	return p, plan
}

func videoTrack(index int, name string, width, height uint16, rate int, codec, sps, pps string, o fixtureOptions) *packager.Track {
	t := &packager.Track{
		Index: index, IVIdentity: 0xc0de0000 + uint32(index), Name: name, Kind: packager.KindVideo, File: name + ".mp4", TrackID: 1,
		Codec: packager.CodecAVC1, CodecString: codec, Language: "und",
		Timescale: videoTimescale, Width: width, Height: height,
		FrameRate:     packager.Rational{Num: 24, Den: 1},
		ParameterSets: [][]byte{mustHex(sps), mustHex(pps)},
	}
	frames := o.videoSeconds * 24
	perFrame := rate / 8 / 24
	seed := uint32(index + 1)
	for i := 0; i < frames; i++ {
		seed = seed*1664525 + 1013904223
		size := perFrame/2 + int(seed>>8)%perFrame
		sync := i%gopFrames == 0
		if sync {
			size *= 4
		}
		t.Samples = append(t.Samples, packager.Sample{
			Time: o.startTicks + int64(i)*frameDur, Size: uint32(size), Dur: frameDur, Sync: sync,
		})
	}
	finishTrack(t)
	return t
}

func audioTrack(index int, lang string, o fixtureOptions) *packager.Track {
	t := &packager.Track{
		Index: index, IVIdentity: 0xc0de0000 + uint32(index), Name: "audio_" + lang, Kind: packager.KindAudio, File: "audio_" + lang + "_96k.mp4", TrackID: 1,
		Codec: packager.CodecAAC, CodecString: "mp4a.40.2", Language: lang,
		Timescale: audioTimescale, SampleRate: audioTimescale, Channels: 2,
		AudioSpecificConfig: mustHex("119056e500"), AudioObjectType: 2,
	}
	frames := (o.videoSeconds*audioTimescale + aacFrameDur - 1) / aacFrameDur
	seed := uint32(index + 7)
	for i := 0; i < frames; i++ {
		seed = seed*1664525 + 1013904223
		t.Samples = append(t.Samples, packager.Sample{
			Time: int64(i) * aacFrameDur, Size: 230 + (seed>>8)%50, Dur: aacFrameDur, Sync: true,
		})
	}
	finishTrack(t)
	return t
}

// finishTrack sets the duration, which like the planner's reads it is the
// end time on the presentation timeline, and the average and peak
// bitrates.
func finishTrack(t *packager.Track) {
	last := t.Samples[len(t.Samples)-1]
	t.Duration = last.Time + int64(last.Dur)
	var total int64
	for _, s := range t.Samples {
		total += int64(s.Size)
	}
	t.Bitrate = uint32(total * 8 * int64(t.Timescale) / (t.Duration - t.Samples[0].Time))
	t.MaxBitrate = t.Bitrate * 2
}

// rangesFor assigns each sample to the segment whose boundaries contain
// its decode time, converted to the plan's timescale.
func rangesFor(t *packager.Track, plan *packager.SegmentPlan) []packager.SampleRange {
	n := plan.SegmentCount()
	ranges := make([]packager.SampleRange, n)
	seg := 0
	for i, s := range t.Samples {
		at := s.Time * int64(plan.Timescale) / int64(t.Timescale)
		for seg+1 < n && at >= plan.Boundaries[seg+1] {
			seg++
			ranges[seg].Start = i
		}
		ranges[seg].End = i + 1
	}
	for seg++; seg < n; seg++ {
		ranges[seg] = packager.SampleRange{Start: len(t.Samples), End: len(t.Samples)}
	}
	return ranges
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
