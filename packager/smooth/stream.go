package smooth

import (
	"fmt"
	"slices"

	"github.com/lockstream/lockstream/packager"
)

// trackGroup is the tracks of one StreamIndex with their segments.
type trackGroup struct {
	kind   packager.TrackKind
	name   string
	lang   string
	tracks []*packager.Track
	spans  [][]packager.TrackSpan
}

// groupTracks puts the video tracks into one group named "video" and the
// audio tracks into one group per language, named "audio" when there is
// one language and "audio_" plus the language code otherwise.
func groupTracks(p *packager.Presentation, plan *packager.SegmentPlan) ([]*trackGroup, error) {
	var video *trackGroup
	var audio []*trackGroup
	for _, t := range p.Tracks {
		if t.Kind != packager.KindVideo && t.Kind != packager.KindAudio {
			continue
		}
		spans, err := plan.DecodeSpans(t)
		if err != nil {
			return nil, err
		}

		var g *trackGroup
		if t.Kind == packager.KindVideo {
			if video == nil {
				video = &trackGroup{kind: packager.KindVideo, name: "video"}
			}
			g = video
		} else {
			for _, a := range audio {
				if a.lang == t.Language {
					g = a
				}
			}
			if g == nil {
				g = &trackGroup{kind: packager.KindAudio, lang: t.Language}
				audio = append(audio, g)
			}
		}
		g.tracks = append(g.tracks, t)
		g.spans = append(g.spans, spans)
	}

	var groups []*trackGroup
	if video != nil {
		groups = append(groups, video)
	}
	for _, a := range audio {
		a.name = "audio"
		if len(audio) > 1 {
			a.name = "audio_" + a.lang
		}
		groups = append(groups, a)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no video or audio track: %w", packager.ErrNotFound)
	}
	return groups, nil
}

// buildStream returns the StreamIndex of g and its lookup index.
func buildStream(g *trackGroup) (StreamIndex, stream, error) {
	si := StreamIndex{
		Type:      g.kind.String(),
		Name:      g.name,
		Language:  g.lang,
		TimeScale: TimeScale,
		URL:       "QualityLevels({bitrate})/Fragments(" + g.name + "={start time})",
	}
	st := stream{name: g.name}

	for i, t := range g.tracks {
		if !sameTimes(g.spans[i], g.spans[0], t.Timescale, g.tracks[0].Timescale) {
			return si, st, fmt.Errorf("track %q has other segment times than track %q in Smooth stream %q: %w",
				t.Name, g.tracks[0].Name, g.name, packager.ErrInvalidMedia)
		}
		level, err := qualityLevel(t, i, uniqueBitrate(st.bitrates, t.Bitrate))
		if err != nil {
			return si, st, err
		}
		si.Levels = append(si.Levels, level)
		st.bitrates = append(st.bitrates, level.Bitrate)
		st.tracks = append(st.tracks, t.Index)
		if g.kind == packager.KindVideo {
			si.MaxWidth, si.MaxHeight = max(si.MaxWidth, int(t.Width)), max(si.MaxHeight, int(t.Height))
		}
	}
	si.DisplayWidth, si.DisplayHeight = si.MaxWidth, si.MaxHeight
	si.QualityLevels = len(si.Levels)

	si.Chunk, st.starts = chunks(g.spans[0], g.tracks[0].Timescale)
	si.Chunks = len(si.Chunk)
	return si, st, nil
}

// uniqueBitrate returns bitrate, raised until no earlier QualityLevel of
// the stream uses it: the bitrate is the only QualityLevel key in
// fragment URLs.
func uniqueBitrate(used []uint32, bitrate uint32) uint32 {
	for slices.Contains(used, bitrate) {
		bitrate++
	}
	return bitrate
}

// chunks returns the chunk list of spans in TimeScale units and the
// chunk start times. The first chunk and any chunk after a gap carry t.
func chunks(spans []packager.TrackSpan, timescale uint32) ([]Chunk, []int64) {
	list := make([]Chunk, 0, len(spans))
	starts := make([]int64, 0, len(spans))
	var next int64
	for i, s := range spans {
		start := smoothTime(s.Start, timescale, TimeScale)
		end := smoothTime(s.Start+s.Duration, timescale, TimeScale)
		c := Chunk{D: end - start}
		if i == 0 || start != next {
			c.T = &start
		}
		list = append(list, c)
		starts = append(starts, start)
		next = end
	}
	return list, starts
}

// sameTimes reports whether a and b have the same segment times once
// rescaled to TimeScale.
func sameTimes(a, b []packager.TrackSpan, tsA, tsB uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if smoothTime(a[i].Start, tsA, TimeScale) != smoothTime(b[i].Start, tsB, TimeScale) ||
			smoothTime(a[i].Start+a[i].Duration, tsA, TimeScale) != smoothTime(b[i].Start+b[i].Duration, tsB, TimeScale) {
			return false
		}
	}
	return true
}
