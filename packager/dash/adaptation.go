package dash

import (
	"fmt"
	"strconv"

	"github.com/zencoder/go-dash/v3/mpd"

	"github.com/lockstream/lockstream/packager"
)

// addVideoSet adds the AdaptationSet of the video tracks.
func addVideoSet(m *mpd.MPD, tracks []trackInfo, opts *Options) error {
	id := strconv.Itoa(len(m.Periods[0].AdaptationSets))
	as, err := m.AddNewAdaptationSetVideoWithID(id, mpd.DASH_MIME_TYPE_VIDEO_MP4, "progressive", true, 1)
	if err != nil {
		return err
	}
	as.ContentType = ptr("video")
	as.Codecs = commonCodecs(tracks)

	var maxWidth, maxHeight uint16
	for _, ti := range tracks {
		t := ti.track
		maxWidth, maxHeight = max(maxWidth, t.Width), max(maxHeight, t.Height)

		r, err := as.AddNewRepresentationVideo(int64(ti.peak), t.CodecString, t.Name, frameRate(t), int64(t.Width), int64(t.Height))
		if err != nil {
			return err
		}
		if *r.FrameRate == "" {
			r.FrameRate = nil
		}
		sar, err := sampleAspectRatio(t)
		if err != nil {
			return err
		}
		r.Sar = ptr(sar)
	}
	as.MaxWidth = ptr(strconv.Itoa(int(maxWidth)))
	as.MaxHeight = ptr(strconv.Itoa(int(maxHeight)))
	return finishSet(as, tracks, opts)
}

// addAudioSet adds the AdaptationSet of the audio tracks of one language.
func addAudioSet(m *mpd.MPD, tracks []trackInfo, opts *Options) error {
	id := strconv.Itoa(len(m.Periods[0].AdaptationSets))
	as, err := m.AddNewAdaptationSetAudioWithID(id, mpd.DASH_MIME_TYPE_AUDIO_MP4, true, 1, packager.LanguageTag(tracks[0].track.Language))
	if err != nil {
		return err
	}
	if *as.Lang == "" {
		as.Lang = nil
	}
	as.ContentType = ptr("audio")
	as.Codecs = commonCodecs(tracks)

	for _, ti := range tracks {
		t := ti.track
		r, err := as.AddNewRepresentationAudio(int64(t.SampleRate), int64(ti.peak), t.CodecString, t.Name)
		if err != nil {
			return err
		}
		if t.Channels == 0 {
			return fmt.Errorf("audio track %q has no channel count: %w", t.Name, packager.ErrInvalidMedia)
		}
		if _, err := r.AddNewAudioChannelConfiguration(mpd.AUDIO_CHANNEL_CONFIGURATION_MPEG_DASH, strconv.Itoa(int(t.Channels))); err != nil {
			return err
		}
	}
	return finishSet(as, tracks, opts)
}

// finishSet adds the protection descriptors and the SegmentTemplates of
// as: one on the AdaptationSet when every Representation has the same
// timescale and segments, otherwise one per Representation.
func finishSet(as *mpd.AdaptationSet, tracks []trackInfo, opts *Options) error {
	if opts.Protection != nil {
		if err := addProtection(as, opts.Protection); err != nil {
			return err
		}
	}

	shared := true
	for _, ti := range tracks[1:] {
		if ti.track.Timescale != tracks[0].track.Timescale || !sameTimeline(ti.spans, tracks[0].spans) {
			shared = false
		}
	}
	if shared {
		as.SegmentTemplate = segmentTemplate(tracks[0], opts)
		return nil
	}
	for i, ti := range tracks {
		as.Representations[i].SegmentTemplate = segmentTemplate(ti, opts)
	}
	return nil
}

func segmentTemplate(ti trackInfo, opts *Options) *mpd.SegmentTemplate {
	return &mpd.SegmentTemplate{
		SegmentTimeline: timeline(ti.spans),
		Initialization:  ptr(opts.InitTemplate),
		Media:           ptr(opts.MediaTemplate),
		StartNumber:     ptr(int64(1)),
		Timescale:       ptr(int64(ti.track.Timescale)),
	}
}

// commonCodecs returns the codecs string shared by all tracks, or nil
// when they differ and each Representation carries its own.
func commonCodecs(tracks []trackInfo) *string {
	for _, ti := range tracks[1:] {
		if ti.track.CodecString != tracks[0].track.CodecString {
			return nil
		}
	}
	return ptr(tracks[0].track.CodecString)
}

// frameRate returns @frameRate, an integer or a fraction such as
// "24000/1001", or "" for a variable frame rate.
func frameRate(t *packager.Track) string {
	fr := t.FrameRate
	if fr.Num == 0 || fr.Den == 0 {
		return ""
	}
	if fr.Num%fr.Den == 0 {
		return strconv.FormatUint(uint64(fr.Num/fr.Den), 10)
	}
	return strconv.FormatUint(uint64(fr.Num), 10) + "/" + strconv.FormatUint(uint64(fr.Den), 10)
}

func ptr[T any](v T) *T { return &v }
