package dash

import (
	"bytes"
	"fmt"
	"time"

	"github.com/zencoder/go-dash/v3/mpd"

	"github.com/lockstream/lockstream/packager"
)

// trackInfo is one track with its segments.
type trackInfo struct {
	track *packager.Track
	spans []packager.TrackSpan
	// peak is the highest segment bitrate of the samples, for @bandwidth.
	// NOTE: container overhead (moof, mdat, senc) is not counted.
	peak uint32
}

// Write appends the static MPD of p to dst: one Period with one
// AdaptationSet for the video tracks and one per audio language, one
// Representation per track with id = track name. Text tracks are left
// out. Tracks are looked up in plan by Track.Index, so a caller may pass a
// Presentation that holds a subset of the tracks.
func Write(dst []byte, p *packager.Presentation, plan *packager.SegmentPlan, opts *Options) ([]byte, error) {
	if err := opts.check(); err != nil {
		return dst, err
	}
	m, err := build(p, plan, opts)
	if err != nil {
		return dst, fmt.Errorf("writing MPD of %q: %w", p.Name, err)
	}

	buf := bytes.NewBuffer(dst)
	if err := m.Write(buf); err != nil {
		return dst, fmt.Errorf("writing MPD of %q: %w", p.Name, err)
	}
	return buf.Bytes(), nil
}

// build returns the MPD of p.
func build(p *packager.Presentation, plan *packager.SegmentPlan, opts *Options) (*mpd.MPD, error) {
	var video []trackInfo
	var audio [][]trackInfo // by language, in order of appearance
	var longest time.Duration
	for _, t := range p.Tracks {
		if t.Kind != packager.KindVideo && t.Kind != packager.KindAudio {
			continue
		}
		spans, err := plan.PresentationSpans(t)
		if err != nil {
			return nil, err
		}
		for _, s := range spans {
			longest = max(longest, ticksToDuration(s.Duration, t.Timescale))
		}

		info := trackInfo{track: t, spans: spans, peak: plan.PeakBitrate(t)}
		if t.Kind == packager.KindVideo {
			video = append(video, info)
		} else {
			audio = addByLanguage(audio, info)
		}
	}
	if len(video) == 0 && len(audio) == 0 {
		return nil, fmt.Errorf("no video or audio track: %w", packager.ErrNotFound)
	}

	// minBufferTime is the longest segment: with bandwidth set to the peak
	// segment bitrate, a client that buffered one segment never stalls.
	longest = (longest + time.Millisecond - 1).Truncate(time.Millisecond)
	m := mpd.NewMPD(mpd.DashProfile(opts.Profile), formatDuration(p.Duration), formatDuration(longest))
	if len(video) > 0 {
		if err := addVideoSet(m, video, opts); err != nil {
			return nil, err
		}
	}
	for _, lang := range audio {
		if err := addAudioSet(m, lang, opts); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func addByLanguage(sets [][]trackInfo, info trackInfo) [][]trackInfo {
	for i, set := range sets {
		if set[0].track.Language == info.track.Language {
			sets[i] = append(set, info)
			return sets
		}
	}
	return append(sets, []trackInfo{info})
}

func ticksToDuration(ticks int64, timescale uint32) time.Duration {
	sec := ticks / int64(timescale)
	rem := ticks % int64(timescale)
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(timescale)
}
