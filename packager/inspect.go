package packager

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// inspectCacheBytes bounds the index cache of one Inspect call.
const inspectCacheBytes = 1 << 30

// Report describes a presentation for people: its tracks, GOP structure,
// segment plan, normal properties worth knowing (Notes) and anything that
// looks wrong (Warnings).
type Report struct {
	Asset    string
	Name     string
	Duration time.Duration
	Tracks   []TrackReport
	// Plan is the segment plan at Target. It is nil when planning failed,
	// and PlanError then contains the reason.
	Target    time.Duration
	Plan      *SegmentPlan
	PlanError string
	// Notes are normal properties that explain the output, such as an
	// applied edit list or B-frames.
	Notes []string
	// Warnings are problems that hurt playback or switching: misaligned
	// or variable GOPs, GOPs longer than the target, ignored edits.
	Warnings []string
}

// TrackReport describes one track.
type TrackReport struct {
	Track *Track
	// Edit describes how the track's edit list was applied.
	Edit EditInfo
	// BFrames is set when samples are presented in another order than
	// they are decoded.
	BFrames bool
	// GOP describes the sync sample interval of a video track.
	GOP GOPReport
	// MinSegment and MaxSegment are the shortest and longest segment
	// durations of the plan, excluding the last segment.
	MinSegment, MaxSegment time.Duration
}

// GOPReport describes the distance between sync samples.
type GOPReport struct {
	// MinFrames and MaxFrames are the shortest and longest sync sample
	// intervals in samples, excluding the last GOP, which may be cut
	// short by the end of the stream.
	MinFrames, MaxFrames int
	// MinSeconds and MaxSeconds are the same intervals in seconds.
	MinSeconds, MaxSeconds float64
	// Fixed is set when every interval but the last is the same.
	Fixed bool
	Count int
}

// Inspect loads the presentation of asset name through o, plans it at
// target and reports on it. A misaligned presentation still gets a
// report, with the planning error among the warnings.
func Inspect(ctx context.Context, o Opener, name string, target time.Duration) (*Report, error) {
	l := NewLoader(inspectCacheBytes)
	p, err := l.Load(ctx, name, o)
	if err != nil {
		return nil, err
	}
	files, err := o.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing asset %q: %w", name, err)
	}

	r := &Report{Asset: p.Asset, Name: p.Name, Duration: p.Duration, Target: target}
	plan, err := p.Plan(target)
	if err != nil {
		r.PlanError = err.Error()
		r.Warnings = append(r.Warnings, "GOPs are not aligned between video renditions, so no segment plan exists: "+err.Error())
	} else {
		r.Plan = plan
	}

	for _, t := range p.Tracks {
		tr := TrackReport{Track: t, BFrames: hasBFrames(t)}
		if fi, ok := findFile(files, t.File); ok {
			if idx, err := l.indexFile(ctx, name, fi, o); err == nil {
				tr.Edit = idx.Edits[t.TrackID]
			}
		}
		if t.Kind == KindVideo {
			tr.GOP = gopReport(t)
		}
		if plan != nil {
			tr.MinSegment, tr.MaxSegment = segmentRange(plan, t)
		}
		r.Tracks = append(r.Tracks, tr)
		r.Notes = append(r.Notes, trackNotes(tr)...)
		r.Warnings = append(r.Warnings, trackWarnings(tr, target)...)
	}
	return r, nil
}

func hasBFrames(t *Track) bool {
	for i := 1; i < len(t.Samples); i++ {
		if t.Samples[i].PresentationTime() < t.Samples[i-1].PresentationTime() {
			return true
		}
	}
	return false
}

func gopReport(t *Track) GOPReport {
	var syncs []int
	for i, s := range t.Samples {
		if s.Sync {
			syncs = append(syncs, i)
		}
	}
	g := GOPReport{Count: len(syncs), Fixed: true}
	if len(syncs) < 2 {
		g.MinFrames, g.MaxFrames = len(t.Samples), len(t.Samples)
		g.MinSeconds = seconds(t.Duration, t.Timescale)
		g.MaxSeconds = g.MinSeconds
		return g
	}
	for k := 1; k < len(syncs); k++ {
		frames := syncs[k] - syncs[k-1]
		secs := seconds(t.Samples[syncs[k]].PresentationTime()-t.Samples[syncs[k-1]].PresentationTime(), t.Timescale)
		if k == 1 {
			g.MinFrames, g.MaxFrames, g.MinSeconds, g.MaxSeconds = frames, frames, secs, secs
			continue
		}
		g.Fixed = g.Fixed && frames == g.MinFrames && frames == g.MaxFrames
		g.MinFrames, g.MaxFrames = min(g.MinFrames, frames), max(g.MaxFrames, frames)
		g.MinSeconds, g.MaxSeconds = min(g.MinSeconds, secs), max(g.MaxSeconds, secs)
	}
	return g
}

func segmentRange(plan *SegmentPlan, t *Track) (lo, hi time.Duration) {
	n := plan.SegmentCount()
	for i := 0; i < max(n-1, 1); i++ {
		_, d := plan.TrackSegment(t, i)
		dur := time.Duration(seconds(d, t.Timescale) * float64(time.Second))
		if i == 0 || dur < lo {
			lo = dur
		}
		hi = max(hi, dur)
	}
	return lo, hi
}

// trackNotes lists properties of a track that are normal for encoder
// output but explain timestamps in the packaged streams: an edit list
// shifts presentation times, and B-frames make them differ from decode
// times.
func trackNotes(tr TrackReport) []string {
	var n []string
	prefix := trackPrefix(tr.Track)
	if tr.Edit.Present {
		n = append(n, prefix+fmt.Sprintf("edit list applied: delay %d, media time %d, %d leading samples dropped", tr.Edit.Delay, tr.Edit.MediaTime, tr.Edit.Dropped))
	}
	if tr.BFrames {
		n = append(n, prefix+"has B-frames (presentation order differs from decode order)")
	}
	return n
}

func trackWarnings(tr TrackReport, target time.Duration) []string {
	t := tr.Track
	var w []string
	prefix := trackPrefix(t)
	if tr.Edit.Ignored {
		w = append(w, prefix+"edit list has edits after the first media edit, which are ignored")
	}
	if t.Kind == KindVideo && !tr.GOP.Fixed {
		w = append(w, prefix+fmt.Sprintf("variable GOP of %d to %d frames", tr.GOP.MinFrames, tr.GOP.MaxFrames))
	}
	if t.Kind == KindVideo && tr.GOP.MaxSeconds > target.Seconds() {
		w = append(w, prefix+fmt.Sprintf("GOP of up to %.3f s is longer than the %v target, so segments are one GOP long", tr.GOP.MaxSeconds, target))
	}
	return w
}

func trackPrefix(t *Track) string {
	return fmt.Sprintf("track %d %q (%s, track ID %d): ", t.Index, t.Name, t.File, t.TrackID)
}

// WriteText writes the report as human-readable text.
func (r *Report) WriteText(w io.Writer) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "presentation %q of asset %q, duration %v\n\n", r.Name, r.Asset, r.Duration)

	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tname\tkind\tcodec\tfile\tid\tlang\ttimescale\tduration\tbitrate\tpeak\tdetails")
	for _, tr := range r.Tracks {
		t := tr.Track
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%.3fs\t%d\t%d\t%s\n", t.Index, t.Name, t.Kind, t.CodecString, t.File, t.TrackID, t.Language,
			t.Timescale, seconds(t.Duration, t.Timescale), t.Bitrate, t.MaxBitrate, trackDetails(tr))
	}
	tw.Flush()

	sb.WriteString("\n")
	if r.Plan != nil {
		fmt.Fprintf(&sb, "segment plan at target %v: %d segments\n", r.Target, r.Plan.SegmentCount())
		for _, tr := range r.Tracks {
			fmt.Fprintf(&sb, "  %s: segments %.3fs to %.3fs (last excluded)\n", tr.Track.Name, tr.MinSegment.Seconds(), tr.MaxSegment.Seconds())
		}
	} else {
		fmt.Fprintf(&sb, "segment plan at target %v: none (%s)\n", r.Target, r.PlanError)
	}

	if len(r.Notes) > 0 {
		sb.WriteString("\nnotes:\n")
		for _, s := range r.Notes {
			fmt.Fprintf(&sb, "  - %s\n", s)
		}
	}
	if len(r.Warnings) > 0 {
		sb.WriteString("\nwarnings:\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(&sb, "  - %s\n", s)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func trackDetails(tr TrackReport) string {
	t := tr.Track
	switch t.Kind {
	case KindVideo:
		fps := "variable fps"
		if t.FrameRate.Den != 0 {
			fps = fmt.Sprintf("%.3f fps", float64(t.FrameRate.Num)/float64(t.FrameRate.Den))
		}
		gop := fmt.Sprintf("GOP %d frames / %.3fs", tr.GOP.MinFrames, tr.GOP.MinSeconds)
		if !tr.GOP.Fixed {
			gop = fmt.Sprintf("GOP %d-%d frames / %.3f-%.3fs (variable)", tr.GOP.MinFrames, tr.GOP.MaxFrames, tr.GOP.MinSeconds, tr.GOP.MaxSeconds)
		} else {
			gop += " (fixed)"
		}
		return fmt.Sprintf("%dx%d %s, %d samples, %s", t.Width, t.Height, fps, len(t.Samples), gop)
	case KindAudio:
		return fmt.Sprintf("%d Hz, %d channels, AAC object type %d, %d samples", t.SampleRate, t.Channels, t.AudioObjectType, len(t.Samples))
	}
	return fmt.Sprintf("%d samples", len(t.Samples))
}
