package packager

// fillTrackStats sets the fields derived from the samples: Duration,
// Bitrate and, for video with a constant frame duration, FrameRate.
// MaxBitrate depends on the segment plan and is set by the loader.
func fillTrackStats(t *Track) {
	var end, bytes int64
	for _, s := range t.Samples {
		end = max(end, s.PresentationTime()+int64(s.Dur))
		bytes += int64(s.Size)
	}
	t.Duration = end

	start := t.Samples[0].Time
	if span := end - start; span > 0 {
		bps, ok := mulDiv(uint64(bytes)*8, uint64(t.Timescale), uint64(span))
		if ok && bps <= 1<<32-1 {
			t.Bitrate = uint32(bps)
		}
	}

	if t.Kind == KindVideo {
		t.FrameRate = frameRate(t)
	}
}

// frameRate returns the frame rate when every sample but the last has the
// same duration, and zero otherwise.
func frameRate(t *Track) Rational {
	d := t.Samples[0].Dur
	for _, s := range t.Samples[:len(t.Samples)-1] {
		if s.Dur != d {
			return Rational{}
		}
	}
	if d == 0 {
		return Rational{}
	}
	g := gcd(uint64(t.Timescale), uint64(d))
	return Rational{Num: t.Timescale / uint32(g), Den: d / uint32(g)}
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
