package packager

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// maxEditTicks bounds edit list times, in track ticks: about 35 years at
// a 90 kHz timescale, far beyond any real media, and small enough that
// sample times cannot overflow.
const maxEditTicks = 1 << 47

// edit is the part of an edit list the packager applies.
type edit struct {
	delay     int64 // empty edits at the start, in track ticks
	mediaTime int64 // media time of the first non-empty edit, in track ticks
	ignored   bool
}

// applyEditList maps the track's samples onto the presentation timeline.
// The rule, for an edit list of optional empty edits followed by one
// media edit starting at media time M:
//
//   - The empty edits delay the whole track: every sample moves later by
//     their total duration, so audio that starts after the video keeps its
//     offset.
//   - Video: M is the composition delay of B-frame streams, so M is
//     subtracted from every composition offset and the first sync sample
//     is presented at its decode time. Decode times stay as they are. When
//     M is larger than the composition delay (a trim into the first GOP),
//     the track is moved later until its earliest presentation time is 0:
//     frames before a sync sample cannot be cut without re-encoding.
//   - Audio: M is the encoder priming (1024 or 2112 ticks for AAC). Frames
//     that end at or before presentation time 0 are dropped, and the first
//     kept frame starts at its presentation time rounded to the nearest
//     multiple of its duration, never below 0. Later frames follow it
//     contiguously, so the error against the source is below one frame.
//
// Edits after the first media edit (end trims, repeated segments) are not
// applied; EditInfo.Ignored reports them.
func applyEditList(t *Track, elst *box, movieTimescale uint32) (EditInfo, error) {
	if elst == nil {
		return EditInfo{}, nil
	}
	e, err := parseElst(elst, movieTimescale, t.Timescale)
	if err != nil {
		return EditInfo{}, err
	}
	info := EditInfo{Present: true, Delay: e.delay, MediaTime: e.mediaTime, Ignored: e.ignored}

	switch t.Kind {
	case KindVideo:
		err = shiftVideo(t, e)
	default:
		info.Dropped, err = shiftAudio(t, e)
	}
	return info, err
}

func parseElst(b *box, movieTimescale, trackTimescale uint32) (edit, error) {
	version, _, body, err := fullBox(b)
	if err != nil {
		return edit{}, err
	}
	size := 12
	if version == 1 {
		size = 20
	}
	count, entries, err := tableBody(b, body, size)
	if err != nil {
		return edit{}, err
	}

	var e edit
	for i := 0; i < count; i++ {
		p := entries[i*size:]
		var dur uint64
		var mt int64
		if version == 1 {
			dur, mt = binary.BigEndian.Uint64(p), int64(binary.BigEndian.Uint64(p[8:]))
		} else {
			dur, mt = uint64(binary.BigEndian.Uint32(p)), int64(int32(binary.BigEndian.Uint32(p[4:])))
		}

		if mt == -1 {
			d, ok := mulDiv(dur, uint64(trackTimescale), uint64(movieTimescale))
			if !ok || e.delay+int64(d) > maxEditTicks {
				return edit{}, invalidf("empty edit of %d movie ticks is out of range", dur)
			}
			e.delay += int64(d)
			continue
		}
		if mt < 0 || mt > maxEditTicks {
			return edit{}, invalidf("edit media time %d is out of range", mt)
		}
		e.mediaTime = mt
		e.ignored = i+1 < count
		break
	}
	return e, nil
}

func shiftVideo(t *Track, e edit) error {
	minPTS := int64(math.MaxInt64)
	for i := range t.Samples {
		s := &t.Samples[i]
		cto := int64(s.CTO) - e.mediaTime
		if cto < math.MinInt32 || cto > math.MaxInt32 {
			return invalidf("composition offset of sample %d is out of range after the edit list", i)
		}
		s.CTO = int32(cto)
		minPTS = min(minPTS, s.PresentationTime())
	}

	shift := e.delay
	if minPTS < 0 {
		shift -= minPTS
	}
	for i := range t.Samples {
		t.Samples[i].Time += shift
	}
	return nil
}

func shiftAudio(t *Track, e edit) (int, error) {
	k := 0
	for k < len(t.Samples) {
		s := t.Samples[k]
		if s.PresentationTime()-e.mediaTime+int64(s.Dur) > 0 {
			break
		}
		k++
	}
	if k == len(t.Samples) {
		return 0, invalidf("edit list media time %d removes every sample", e.mediaTime)
	}

	first := t.Samples[k]
	pts := first.PresentationTime() - e.mediaTime
	start := pts
	if d := int64(first.Dur); d > 0 {
		start = roundDiv(pts, d) * d
	}
	start = max(start, 0)

	shift := start - pts - e.mediaTime + e.delay
	t.Samples = t.Samples[k:]
	for i := range t.Samples {
		t.Samples[i].Time += shift
		if t.Samples[i].Time < 0 {
			return 0, invalidf("sample %d has a negative decode time after the edit list", i+k)
		}
	}
	return k, nil
}

// roundDiv returns a/b rounded to the nearest integer, halves away from
// zero; b must be positive.
func roundDiv(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// mulDiv returns a*b/c rounded down, reporting false on overflow or when c
// is 0.
func mulDiv(a, b, c uint64) (uint64, bool) {
	if c == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, c)
	return q, true
}

// convertTicks converts a non-negative time between timescales, rounding
// to the nearest tick (up when roundUp is set); values that overflow
// saturate.
func convertTicks(v int64, from, to uint32, roundUp bool) int64 {
	if v <= 0 || from == 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(v), uint64(to))
	if hi >= uint64(from) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(from))
	if (roundUp && r > 0) || (!roundUp && r >= uint64(from)-r) {
		q++
	}
	return int64(min(q, math.MaxInt64))
}
