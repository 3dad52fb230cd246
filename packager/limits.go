package packager

import (
	"fmt"
	"time"
)

// Resource limits. A source file is untrusted input: every allocation the
// indexer and planner make is bounded by one of these before it is made.
const (
	// maxTracksPerFile bounds the video and audio tracks of one file. Real
	// files usually hold one rendition, or a few renditions and at most a
	// few dozen audio languages.
	maxTracksPerFile = 64

	// maxFileSamples bounds the samples of all tracks of one file, so one
	// file's sample tables take at most 512 MiB (32 bytes per sample). It
	// covers a 24-hour file with 60 fps video and two 48 kHz AAC tracks
	// (5.2 million + 2 x 4.1 million samples).
	maxFileSamples = 1 << 24

	// minSampleBytes is the smallest average sample size, in bytes of the
	// file, that the indexer accepts: a file may declare at most
	// size/minSampleBytes samples in all. By our estimate the smallest
	// samples of real files are silent AAC frames of about 6 bytes, and
	// most samples also cost table entries in moov or moof. The sample
	// tables then take at most 8 times the file size in memory.
	minSampleBytes = 4

	// maxTrackDuration bounds the duration of a track. Longer tracks,
	// usually times in the wrong timescale, are rejected as invalid media.
	maxTrackDuration = 7 * 24 * time.Hour

	// maxPlanSegments bounds the segments of one plan: 7 days at 1 s
	// segments is 604,800. A plan holds 16 bytes per segment and track.
	maxPlanSegments = 1_000_000

	// minPresentationCacheBytes is the smallest bound of the presentation
	// cache, so that a loader with a small index cache can still hold one
	// feature-length presentation. A 2-hour title with three 24 fps video
	// renditions and two 48 kHz AAC tracks has about 1.2 million samples,
	// or 36 MiB of sample tables.
	minPresentationCacheBytes = 64 << 20
)

// The IV layouts in protection.go have 32 bits for the sample index and
// 24 bits for the segment index. These constants fail to compile when a
// limit above outgrows them.
const (
	_ uint64 = MaxTrackSamples - maxFileSamples
	_ uint64 = MaxSegmentIndex - maxPlanSegments
)

// sampleBudget is the number of samples a file may still declare.
type sampleBudget struct {
	left int64
}

func newSampleBudget(fileSize int64) sampleBudget {
	return sampleBudget{left: min(maxFileSamples, fileSize/minSampleBytes)}
}

// take reserves n samples, or returns an error wrapping ErrInvalidMedia
// when the file's budget is exhausted. Call it before allocating.
func (b *sampleBudget) take(n uint64, fileSize int64) error {
	if n > uint64(b.left) {
		return invalidf("the file declares more than %d samples in all, the limit for a file of %d bytes (at most one sample per %d bytes, and at most %d)",
			min(maxFileSamples, fileSize/minSampleBytes), fileSize, minSampleBytes, maxFileSamples)
	}
	b.left -= int64(n)
	return nil
}

// checkTrackDuration rejects a track longer than maxTrackDuration.
func checkTrackDuration(t *Track) error {
	limit := int64(maxTrackDuration/time.Second) * int64(t.Timescale)
	if t.Duration > limit {
		return invalidf("duration of %d ticks at timescale %d is more than the limit of %v", t.Duration, t.Timescale, maxTrackDuration)
	}
	return nil
}

// checkSegmentCount rejects a plan of more than maxPlanSegments segments;
// ref is the track the plan's boundaries follow.
func checkSegmentCount(p *Presentation, ref *Track, n uint64, target time.Duration) error {
	if n > maxPlanSegments {
		return fmt.Errorf("planning segments of %q: track %d of %q at target %v makes %d segments, more than the limit of %d: %w",
			p.Name, ref.TrackID, ref.File, target, n, maxPlanSegments, ErrInvalidMedia)
	}
	return nil
}
