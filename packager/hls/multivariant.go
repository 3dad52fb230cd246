package hls

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lockstream/lockstream/packager"
)

// The multivariant playlist is written by hand and not with
// github.com/grafov/m3u8 v0.12.1, whose writer cannot express it: it
// always writes PROGRAM-ID, which protocol version 6 removed (RFC 8216
// section 7), and its EXT-X-MEDIA has no CHANNELS attribute.

// rendition is one track with its rates in the requested container.
type rendition struct {
	track         *packager.Track
	uri           string // media playlist URI
	peak, average uint32
}

// audioGroup is the audio renditions of one codec. A variant stream's
// CODECS must name every codec of its renditions (RFC 8216 section
// 4.3.4.2), so renditions of different codecs go into different groups.
type audioGroup struct {
	id         string
	codecs     string
	peak       uint32 // the highest peak of the group
	renditions []rendition
}

// WriteMultivariant appends the multivariant playlist of p to dst: one
// EXT-X-STREAM-INF per video track (per video track and audio group when
// the audio tracks use several codecs), with the audio tracks as
// EXT-X-MEDIA renditions. A presentation without video gets one variant
// stream per audio track. Text tracks are left out.
//
// BANDWIDTH is the peak segment bitrate of the video track plus the
// highest peak of its audio group, both estimated with container overhead
// (see segmentBytes); AVERAGE-BANDWIDTH adds the averages the same way.
// Tracks are looked up in plan by Track.Index, so a caller may pass a
// Presentation that holds a subset of the tracks.
func WriteMultivariant(dst []byte, p *packager.Presentation, plan *packager.SegmentPlan, opts *Options) ([]byte, error) {
	if err := opts.check(false); err != nil {
		return dst, err
	}
	version, err := opts.version()
	if err != nil {
		return dst, err
	}

	var videos []rendition
	var groups []*audioGroup
	for _, t := range p.Tracks {
		if t.Kind != packager.KindVideo && t.Kind != packager.KindAudio {
			continue
		}
		spans, err := plan.DecodeSpans(t)
		if err != nil {
			return dst, fmt.Errorf("writing HLS multivariant playlist of %q: %w", p.Name, err)
		}
		r := rendition{track: t, uri: opts.PlaylistURI(t)}
		if !validQuoted(r.uri) || !validQuoted(t.CodecString) || !validQuoted(t.Name) {
			return dst, fmt.Errorf("writing HLS multivariant playlist of %q: track %q has a name, codec or playlist URI with a quote or line break", p.Name, t.Name)
		}
		r.peak, r.average = rates(t, spans, opts.Container, opts.keyURI(t) != "")
		if t.Kind == packager.KindVideo {
			videos = append(videos, r)
		} else {
			groups = addToGroup(groups, r)
		}
	}
	if len(videos) == 0 && len(groups) == 0 {
		return dst, fmt.Errorf("writing HLS multivariant playlist of %q: no video or audio track: %w", p.Name, packager.ErrNotFound)
	}
	nameGroups(groups)

	legacy := version == VersionLegacy
	start := len(dst)
	dst = append(dst, "#EXTM3U\n#EXT-X-VERSION:"...)
	dst = strconv.AppendInt(dst, int64(version), 10)
	dst = append(dst, '\n')
	if !legacy {
		dst = append(dst, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}

	out, err := appendVariants(dst, videos, groups, legacy)
	if err != nil {
		return dst[:start], fmt.Errorf("writing HLS multivariant playlist of %q: %w", p.Name, err)
	}
	return out, nil
}

// appendVariants appends the EXT-X-MEDIA tags of the audio groups and the
// EXT-X-STREAM-INF tags of the variant streams.
func appendVariants(dst []byte, videos []rendition, groups []*audioGroup, legacy bool) ([]byte, error) {
	var err error
	if len(videos) == 0 {
		for _, g := range groups {
			for _, r := range g.renditions {
				if dst, err = appendStreamInf(dst, r, nil, legacy); err != nil {
					return nil, err
				}
			}
		}
		return dst, nil
	}

	for _, g := range groups {
		for i, r := range g.renditions {
			if dst, err = appendMedia(dst, r, g.id, i == 0, legacy); err != nil {
				return nil, err
			}
		}
	}
	for _, v := range videos {
		if len(groups) == 0 {
			if dst, err = appendStreamInf(dst, v, nil, legacy); err != nil {
				return nil, err
			}
		}
		for _, g := range groups {
			if dst, err = appendStreamInf(dst, v, g, legacy); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

// addToGroup adds r to the group of its codec, creating it when needed.
func addToGroup(groups []*audioGroup, r rendition) []*audioGroup {
	for _, g := range groups {
		if g.codecs == r.track.CodecString {
			g.renditions = append(g.renditions, r)
			g.peak = max(g.peak, r.peak)
			return groups
		}
	}
	return append(groups, &audioGroup{codecs: r.track.CodecString, peak: r.peak, renditions: []rendition{r}})
}

// nameGroups sets the GROUP-IDs: "audio" for a single group, else
// "audio-" and the codec, such as "audio-mp4a.40.5".
func nameGroups(groups []*audioGroup) {
	for _, g := range groups {
		g.id = "audio"
		if len(groups) > 1 {
			g.id = "audio-" + g.codecs
		}
	}
}

// appendMedia appends the EXT-X-MEDIA tag of audio rendition r.
func appendMedia(dst []byte, r rendition, groupID string, isDefault bool, legacy bool) ([]byte, error) {
	t := r.track
	a := attrList{buf: append(dst, "#EXT-X-MEDIA:"...)}
	a.enum("TYPE", "AUDIO")
	a.quoted("GROUP-ID", groupID)
	if lang := packager.LanguageTag(t.Language); lang != "" {
		a.quoted("LANGUAGE", lang)
	}
	a.quoted("NAME", t.Name)
	a.enum("DEFAULT", yesNo(isDefault))
	a.enum("AUTOSELECT", "YES")
	if !legacy && t.Channels > 0 {
		a.quoted("CHANNELS", strconv.Itoa(int(t.Channels)))
	}
	a.quoted("URI", r.uri)
	if a.err != nil {
		return dst, fmt.Errorf("audio rendition %q: %w", t.Name, a.err)
	}
	return append(a.buf, '\n'), nil
}

// appendStreamInf appends the EXT-X-STREAM-INF tag and URI of variant
// stream v, with the renditions of group g when g is not nil.
func appendStreamInf(dst []byte, v rendition, g *audioGroup, legacy bool) ([]byte, error) {
	t := v.track
	peak, average := v.peak, v.average
	codecs := t.CodecString
	if g != nil {
		peak += g.peak
		average += groupAverage(g)
		codecs += "," + g.codecs
	}

	a := attrList{buf: append(dst, "#EXT-X-STREAM-INF:"...)}
	a.integer("BANDWIDTH", uint64(peak))
	if !legacy {
		a.integer("AVERAGE-BANDWIDTH", uint64(average))
	}
	a.quoted("CODECS", codecs)
	if t.Kind == packager.KindVideo {
		if t.Width > 0 && t.Height > 0 {
			a.resolution("RESOLUTION", t.Width, t.Height)
		}
		if fps := frameRate(t); !legacy && fps > 0 {
			a.float("FRAME-RATE", fps)
		}
	}
	if g != nil {
		a.quoted("AUDIO", g.id)
	}
	if a.err != nil {
		return dst, fmt.Errorf("variant stream %q: %w", t.Name, a.err)
	}
	dst = append(a.buf, '\n')
	dst = append(dst, v.uri...)
	return append(dst, '\n'), nil
}

// groupAverage returns the highest average bitrate in g, the share of the
// variant's average that its default rendition can at most add.
func groupAverage(g *audioGroup) uint32 {
	var m uint32
	for _, r := range g.renditions {
		m = max(m, r.average)
	}
	return m
}

// frameRate returns the nominal frame rate of t, or for a variable frame
// rate the mean over its samples.
func frameRate(t *packager.Track) float64 {
	if t.FrameRate.Num > 0 && t.FrameRate.Den > 0 {
		return float64(t.FrameRate.Num) / float64(t.FrameRate.Den)
	}
	if len(t.Samples) == 0 || t.Timescale == 0 {
		return 0
	}
	first, last := t.Samples[0], t.Samples[len(t.Samples)-1]
	dur := last.Time + int64(last.Dur) - first.Time
	if dur <= 0 {
		return 0
	}
	return float64(len(t.Samples)) * float64(t.Timescale) / float64(dur)
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// validQuoted reports whether s fits in a quoted-string.
func validQuoted(s string) bool {
	return !strings.ContainsAny(s, "\"\r\n")
}
