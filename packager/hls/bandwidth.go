package hls

import (
	"github.com/lockstream/lockstream/packager"
)

// Container overhead estimates. BANDWIDTH must be an upper bound of every
// segment's bitrate (RFC 8216 section 4.3.4.2), and it covers the segment
// bytes on the wire, so the sample bytes alone are too low. These are
// estimates of the writers' output, chosen to err high.
const (
	tsPacketSize  = 188
	tsPayloadSize = 184 // a 188-byte packet less its 4-byte header
	// tsTablePackets is one PAT and one PMT at the start of each segment.
	tsTablePackets = 2
	// tsSampleHeader is the most a TS writer adds in front of one access
	// unit: a PES header with PTS and DTS (19 bytes), an adaptation field
	// with a PCR (8), an H.264 access unit delimiter (6) or an ADTS header
	// with CRC (9). It assumes one PES packet per access unit, which also
	// bounds writers that put several audio frames in one PES packet.
	tsSampleHeader = 19 + 8 + 9
	// fmp4SegmentHeader covers styp, moof, mfhd, traf, tfhd, tfdt, the
	// trun header and the mdat header; fmp4SampleEntry one trun entry.
	fmp4SegmentHeader = 256
	fmp4SampleEntry   = 16
	// cbcPadding is the most PKCS#7 adds to an AES-128-CBC segment.
	cbcPadding = 16
)

// segmentBytes returns the estimated size of segment s of track t in
// container c.
func segmentBytes(t *packager.Track, s packager.TrackSpan, c packager.Container, encrypted bool) int64 {
	var n int64
	if c == packager.ContainerTS {
		n = segmentBytesTS(t, s)
	} else {
		n = fmp4SegmentHeader + int64(s.End-s.First)*fmp4SampleEntry + s.Bytes(t)
	}
	if encrypted {
		n += cbcPadding
	}
	return n
}

// segmentBytesTS counts the TS packets of segment s, with the parameter
// sets repeated in front of every sync sample of a video track.
func segmentBytesTS(t *packager.Track, s packager.TrackSpan) int64 {
	var paramSets int64
	for _, ps := range t.ParameterSets {
		paramSets += 4 + int64(len(ps)) // start code and NAL unit
	}

	packets := int64(tsTablePackets)
	for _, sample := range t.Samples[s.First:s.End] {
		n := int64(sample.Size) + tsSampleHeader
		if sample.Sync {
			n += paramSets
		}
		packets += (n + tsPayloadSize - 1) / tsPayloadSize
	}
	return packets * tsPacketSize
}

// rates returns the peak segment bitrate and the average bitrate of track
// t in container c, in bits per second, rounded up.
func rates(t *packager.Track, spans []packager.TrackSpan, c packager.Container, encrypted bool) (peak, average uint32) {
	var totalBytes, totalDur int64
	for _, s := range spans {
		n := segmentBytes(t, s, c, encrypted)
		totalBytes += n
		totalDur += s.Duration
		peak = max(peak, bitrate(n, s.Duration, t.Timescale))
	}
	return peak, bitrate(totalBytes, totalDur, t.Timescale)
}

// bitrate returns n bytes over dur ticks in bits per second, rounded up.
func bitrate(n, dur int64, timescale uint32) uint32 {
	if dur <= 0 {
		return 0
	}
	bits := n * 8 * int64(timescale)
	return uint32((bits + dur - 1) / dur)
}
