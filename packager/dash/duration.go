package dash

import (
	"strconv"
	"time"
)

// formatDuration returns d as an xs:duration (XML Schema Part 2 section
// 3.2.6) in hours, minutes and seconds, such as PT12S, PT0.213S or
// PT1H2M3.5S: exact to the nanosecond, without trailing zeros, and PT0S
// for zero. Negative durations are written as PT0S, because no MPD
// duration attribute may be negative.
//
// github.com/zencoder/go-dash/v3 v3.0.3 formats durations under one second
// wrongly (Duration.String writes PT213333333\uFFFDS for 0.213 s), so the
// MPD does not use it.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	buf := make([]byte, 0, 32)
	buf = append(buf, "PT"...)
	if h := d / time.Hour; h > 0 {
		buf = strconv.AppendInt(buf, int64(h), 10)
		buf = append(buf, 'H')
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		buf = strconv.AppendInt(buf, int64(m), 10)
		buf = append(buf, 'M')
		d -= m * time.Minute
	}
	if d == 0 {
		return string(buf)
	}

	buf = strconv.AppendInt(buf, int64(d/time.Second), 10)
	if ns := int64(d % time.Second); ns > 0 {
		frac := strconv.AppendInt(nil, ns+1e9, 10)[1:] // nine digits with leading zeros
		for frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		buf = append(buf, '.')
		buf = append(buf, frac...)
	}
	return string(append(buf, 'S'))
}
