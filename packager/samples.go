package packager

import (
	"fmt"
	"io"
	"slices"
)

// ReadSamples appends the data of the samples in r to dst, in sample
// order, and returns the extended slice. Samples that follow each other
// in the file are read with one ReadAt call. A short read returns an error
// wrapping ErrInvalidMedia that names the track and offset.
func ReadSamples(f io.ReaderAt, t *Track, r SampleRange, dst []byte) ([]byte, error) {
	if r.Start < 0 || r.End > len(t.Samples) || r.Start > r.End {
		return dst, fmt.Errorf("reading samples [%d, %d) of track %q: track has %d samples: %w", r.Start, r.End, t.Name, len(t.Samples), ErrNotFound)
	}
	samples := t.Samples[r.Start:r.End]

	var total int
	for _, s := range samples {
		total += int(s.Size)
	}
	dst = slices.Grow(dst, total)

	for i := 0; i < len(samples); {
		// Extend the run while the next sample starts where this one ends.
		off := samples[i].Offset
		n := int64(samples[i].Size)
		j := i + 1
		for j < len(samples) && samples[j].Offset == off+n {
			n += int64(samples[j].Size)
			j++
		}

		start := len(dst)
		dst = dst[:start+int(n)]
		if err := readFull(f, dst[start:], off); err != nil {
			return dst[:start], fmt.Errorf("reading samples %d to %d of track %q (%s, track ID %d) at offset %d: %w", r.Start+i, r.Start+j-1, t.Name, t.File, t.TrackID, off, err)
		}
		i = j
	}
	return dst, nil
}
