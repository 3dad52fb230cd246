package ts

// clockRate is the rate of PTS, DTS and the PCR base (ISO/IEC 13818-1
// section 2.4.3.7).
const clockRate = 90000

// PTSOffset is added to every PTS, DTS and PCR, in 90 kHz ticks: 10 s, the
// start time Apple's segmenter uses. It keeps timestamps positive when DTS
// is shifted below the presentation time of B-frame streams, or audio
// priming is presented before zero. The PTS of a sample is thus its
// presentation time in the fMP4 output plus 10 s.
const PTSOffset = 10 * clockRate

// timestampMask keeps the 33 bits that PTS, DTS and the PCR base carry.
const timestampMask = 1<<33 - 1

// to90kHz converts ticks of timescale to 90 kHz, rounding toward minus
// infinity. The whole seconds and the remainder are scaled apart, so the
// result is exact and cannot overflow for any timescale that fits a uint32.
func to90kHz(ticks int64, timescale uint32) int64 {
	ts := int64(timescale)
	whole, rem := ticks/ts, ticks%ts
	if rem < 0 {
		whole--
		rem += ts
	}
	return whole*clockRate + rem*clockRate/ts
}
