package packager

import (
	"cmp"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
	"weak"
)

// maxMemoizedTargets bounds the plans memoized per presentation; outputs
// use a handful of configured targets.
const maxMemoizedTargets = 16

// planMemos maps a presentation to its memoized plans. The key is a weak
// pointer, so a memo lives as long as its presentation and no longer.
var planMemos sync.Map // weak.Pointer[Presentation] -> *planMemo

type planMemo struct {
	mu    sync.Mutex
	plans map[time.Duration]*planResult
}

type planResult struct {
	once sync.Once
	plan *SegmentPlan
	err  error
}

// Plan returns the segment plan of the presentation for a target segment
// duration, computing it once per target. It is safe for concurrent use;
// the returned plan is shared and must not be modified.
//
// Boundaries fall on the sync samples of the video tracks, chosen greedily.
// From a segment's start S, the segment ends at the sync sample nearest to
// S+target: the last one before it or the first one at or after it. A tie
// goes to the later one, and S itself is never chosen, so a GOP longer
// than the target makes a one-GOP segment. Audio-only presentations cut every
// target duration. Every other track cuts at the sample whose start is
// nearest each boundary (video renditions at the same sync samples, which
// they must share). A boundary that would leave any track with an empty
// segment is dropped, so segments can exceed the target there. A plan of
// more than 1,000,000 segments is rejected with ErrInvalidMedia.
func (p *Presentation) Plan(target time.Duration) (*SegmentPlan, error) {
	if target <= 0 {
		return nil, fmt.Errorf("planning segments of %q: target duration %v is not positive", p.Name, target)
	}
	memo := memoFor(p)
	memo.mu.Lock()
	r := memo.plans[target]
	if r == nil {
		r = &planResult{}
		if len(memo.plans) < maxMemoizedTargets {
			memo.plans[target] = r
		}
	}
	memo.mu.Unlock()

	r.once.Do(func() { r.plan, r.err = planSegments(p, target) })
	return r.plan, r.err
}

func memoFor(p *Presentation) *planMemo {
	key := weak.Make(p)
	if v, ok := planMemos.Load(key); ok {
		return v.(*planMemo)
	}
	v, loaded := planMemos.LoadOrStore(key, &planMemo{plans: map[time.Duration]*planResult{}})
	if !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[Presentation]) { planMemos.Delete(k) }, key)
	}
	return v.(*planMemo)
}

func planSegments(p *Presentation, target time.Duration) (*SegmentPlan, error) {
	if len(p.Tracks) == 0 {
		return nil, fmt.Errorf("planning segments of %q: presentation has no tracks: %w", p.Name, ErrInvalidMedia)
	}
	ref := p.Tracks[0]
	if i := slices.IndexFunc(p.Tracks, func(t *Track) bool { return t.Kind == KindVideo }); i >= 0 {
		ref = p.Tracks[i]
	}
	for i, t := range p.Tracks {
		if t.Index != i || len(t.Samples) == 0 || t.Timescale == 0 {
			return nil, fmt.Errorf("planning segments of %q: track %d (%q) has index %d, %d samples and timescale %d: %w", p.Name, i, t.Name, t.Index, len(t.Samples), t.Timescale, ErrInvalidMedia)
		}
	}

	ts := uint64(ref.Timescale)
	step, ok := mulDiv(uint64(target), ts, uint64(time.Second))
	if !ok || step == 0 {
		return nil, fmt.Errorf("planning segments of %q: target %v is less than one tick of timescale %d", p.Name, target, ts)
	}
	var end int64
	for _, t := range p.Tracks {
		end = max(end, convertTicks(t.Duration, t.Timescale, ref.Timescale, true))
	}

	// Video boundaries are distinct sync samples, so their number is
	// bounded by the sample table; audio-only boundaries are counted
	// before they are allocated.
	var inner []int64
	if ref.Kind == KindVideo {
		syncs := syncTimes(ref)
		if err := checkAlignment(p, ref, syncs); err != nil {
			return nil, err
		}
		inner = chooseBoundaries(syncs, int64(step), end)
		if err := checkSegmentCount(p, ref, uint64(len(inner))+1, target); err != nil {
			return nil, err
		}
	} else {
		n := (uint64(end) + step - 1) / step
		if err := checkSegmentCount(p, ref, n, target); err != nil {
			return nil, err
		}
		inner = make([]int64, 0, max(n, 1)-1)
		for b := int64(step); b < end; b += int64(step) {
			inner = append(inner, b)
		}
	}

	plan := &SegmentPlan{Timescale: ref.Timescale, Target: target}
	plan.Boundaries, plan.Ranges = cutTracks(p, ref, inner, end)
	return plan, nil
}

// syncTimes returns the sorted presentation times of a track's sync
// samples.
func syncTimes(t *Track) []int64 {
	var out []int64
	for _, s := range t.Samples {
		if s.Sync {
			out = append(out, s.PresentationTime())
		}
	}
	slices.Sort(out)
	return out
}

// checkAlignment requires every video track to have its sync samples at
// the reference track's sync times, compared exactly as rationals.
func checkAlignment(p *Presentation, ref *Track, refSyncs []int64) error {
	for _, t := range p.Tracks {
		if t == ref || t.Kind != KindVideo {
			continue
		}
		syncs := syncTimes(t)
		n := min(len(syncs), len(refSyncs))
		k := 0
		for k < n && sameTime(refSyncs[k], ref.Timescale, syncs[k], t.Timescale) {
			k++
		}
		if k == len(syncs) && k == len(refSyncs) {
			continue
		}

		var at float64
		switch {
		case k == n && k < len(refSyncs):
			at = seconds(refSyncs[k], ref.Timescale)
		case k == n:
			at = seconds(syncs[k], t.Timescale)
		default:
			at = min(seconds(refSyncs[k], ref.Timescale), seconds(syncs[k], t.Timescale))
		}
		return fmt.Errorf("planning segments of %q: video renditions %q (track %d) and %q (track %d) have sync samples at different times, first at %.3f s; encode them with the same fixed GOP: %w",
			p.Name, ref.File, ref.TrackID, t.File, t.TrackID, at, ErrInvalidMedia)
	}
	return nil
}

// sameTime reports whether a/sa equals b/sb exactly.
func sameTime(a int64, sa uint32, b int64, sb uint32) bool {
	if (a < 0) != (b < 0) {
		return false
	}
	if a < 0 {
		a, b = -a, -b
	}
	h1, l1 := bits.Mul64(uint64(a), uint64(sb))
	h2, l2 := bits.Mul64(uint64(b), uint64(sa))
	return h1 == h2 && l1 == l2
}

func seconds(ticks int64, timescale uint32) float64 {
	return float64(ticks) / float64(timescale)
}

// chooseBoundaries picks inner boundaries from the sync times by the rule
// documented on Plan.
func chooseBoundaries(syncs []int64, step, end int64) []int64 {
	var out []int64
	for start := int64(0); ; {
		aim := start + step
		// First candidate at or after aim; the end of the presentation
		// counts as a candidate.
		i := sort.Search(len(syncs), func(i int) bool { return syncs[i] >= aim })
		after := end
		if i < len(syncs) && syncs[i] < end {
			after = syncs[i]
		}
		next := after
		if i > 0 && syncs[i-1] > start && aim-syncs[i-1] < after-aim {
			next = syncs[i-1]
		}
		if next >= end {
			return out
		}
		out = append(out, next)
		start = next
	}
}

// cutTracks maps the inner boundaries to sample indices of every track,
// drops boundaries that would leave a track with an empty segment, and
// returns the boundaries with the ranges.
func cutTracks(p *Presentation, ref *Track, inner []int64, end int64) ([]int64, [][]SampleRange) {
	cutters := make([]func(int64) int, len(p.Tracks))
	for i, t := range p.Tracks {
		cutters[i] = trackCutter(t, ref.Timescale)
	}

	boundaries := []int64{0}
	cuts := make([][]int, len(p.Tracks))
	for i := range cuts {
		cuts[i] = []int{0}
	}
	row := make([]int, len(p.Tracks))
	for _, b := range inner {
		keep := true
		for i, t := range p.Tracks {
			row[i] = cutters[i](b)
			last := cuts[i][len(cuts[i])-1]
			if row[i] <= last || row[i] >= len(t.Samples) {
				keep = false
			}
		}
		if !keep {
			continue
		}
		boundaries = append(boundaries, b)
		for i := range cuts {
			cuts[i] = append(cuts[i], row[i])
		}
	}
	boundaries = append(boundaries, end)

	ranges := make([][]SampleRange, len(p.Tracks))
	for i, t := range p.Tracks {
		c := append(cuts[i], len(t.Samples))
		ranges[i] = make([]SampleRange, len(c)-1)
		for j := range ranges[i] {
			ranges[i][j] = SampleRange{Start: c[j], End: c[j+1]}
		}
	}
	return boundaries, ranges
}

// trackCutter returns a function mapping a boundary, in the plan's
// timescale, to the index of the track's first sample of the segment
// starting there. Video tracks cut at the first sync sample presented at or
// after the boundary. Other tracks cut at the sample whose start is nearest
// the boundary.
func trackCutter(t *Track, planTimescale uint32) func(int64) int {
	toTrack := func(b int64) int64 { return convertTicks(b, planTimescale, t.Timescale, false) }

	if t.Kind == KindVideo {
		type syncAt struct {
			pts   int64
			index int
		}
		var syncs []syncAt
		for i, s := range t.Samples {
			if s.Sync {
				syncs = append(syncs, syncAt{s.PresentationTime(), i})
			}
		}
		slices.SortFunc(syncs, func(a, b syncAt) int { return cmp.Compare(a.pts, b.pts) })
		return func(b int64) int {
			bt := toTrack(b)
			i := sort.Search(len(syncs), func(i int) bool { return syncs[i].pts >= bt })
			if i == len(syncs) {
				return len(t.Samples)
			}
			return syncs[i].index
		}
	}

	return func(b int64) int {
		bt := toTrack(b)
		i := sort.Search(len(t.Samples), func(i int) bool { return t.Samples[i].PresentationTime() >= bt })
		if i > 0 && (i == len(t.Samples) || bt-t.Samples[i-1].PresentationTime() < t.Samples[i].PresentationTime()-bt) {
			i--
		}
		return i
	}
}

// rangeOf returns the sample range of a track's segment, or an empty
// range when the plan has no such track or segment.
func (p *SegmentPlan) rangeOf(t *Track, i int) SampleRange {
	if t.Index < 0 || t.Index >= len(p.Ranges) || i < 0 || i >= len(p.Ranges[t.Index]) {
		return SampleRange{}
	}
	r := p.Ranges[t.Index][i]
	if r.End > len(t.Samples) || r.Start > r.End {
		return SampleRange{}
	}
	return r
}

// SegmentBytes returns the size of the sample data of segment i of t.
func (p *SegmentPlan) SegmentBytes(t *Track, i int) int64 {
	r := p.rangeOf(t, i)
	var n int64
	for _, s := range t.Samples[r.Start:r.End] {
		n += int64(s.Size)
	}
	return n
}

// TrackSegment returns the start and duration of segment i of t in the
// track's timescale. The start is the earliest presentation time of the
// segment's samples, which is the earliest presentation time of an fMP4
// fragment and the t of a DASH SegmentTimeline entry. The duration runs to
// the next segment's start, or to the track's end for the last segment,
// so consecutive segments tile the timeline.
func (p *SegmentPlan) TrackSegment(t *Track, i int) (start, duration int64) {
	r := p.rangeOf(t, i)
	if r.Start == r.End {
		return 0, 0
	}
	start = earliestPTS(t.Samples[r.Start:r.End])
	end := t.Duration
	if next := p.rangeOf(t, i+1); next.Start < next.End {
		end = earliestPTS(t.Samples[next.Start:next.End])
	}
	return start, max(end-start, 0)
}

func earliestPTS(samples []Sample) int64 {
	m := samples[0].PresentationTime()
	for _, s := range samples[1:] {
		m = min(m, s.PresentationTime())
	}
	return m
}

// PeakBitrate returns the highest bitrate of t over the plan's segments,
// in bits per second.
func (p *SegmentPlan) PeakBitrate(t *Track) uint32 {
	var peak uint64
	for i := range p.SegmentCount() {
		_, d := p.TrackSegment(t, i)
		if bps, ok := bitrate(p.SegmentBytes(t, i), d, t.Timescale); ok {
			peak = max(peak, bps)
		}
	}
	return clampUint32(peak)
}

// AverageBitrate returns the bitrate of t over all of the plan's segments,
// in bits per second.
func (p *SegmentPlan) AverageBitrate(t *Track) uint32 {
	var bytes, dur int64
	for i := range p.SegmentCount() {
		_, d := p.TrackSegment(t, i)
		bytes += p.SegmentBytes(t, i)
		dur += d
	}
	bps, _ := bitrate(bytes, dur, t.Timescale)
	return clampUint32(bps)
}

func bitrate(bytes, ticks int64, timescale uint32) (uint64, bool) {
	if ticks <= 0 || bytes < 0 {
		return 0, false
	}
	return mulDiv(uint64(bytes)*8, uint64(timescale), uint64(ticks))
}

func clampUint32(v uint64) uint32 {
	return uint32(min(v, 1<<32-1))
}
