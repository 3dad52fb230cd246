package smooth

import "github.com/lockstream/lockstream/packager/fmp4"

// TimeScale is the manifest and fragment timescale: 100 ns units, the
// MS-SSTR default.
const TimeScale = 10_000_000

// smoothTime rescales t from timescale from to timescale to with
// fmp4.SmoothTime, the rule the fragments use. Chunk times rescale the
// absolute segment start times and take durations as differences, so
// rounding errors never accumulate and every chunk time equals the
// fragment's tfxd time.
func smoothTime(t int64, from, to uint32) int64 {
	return fmp4.SmoothTime(t, from, to)
}
