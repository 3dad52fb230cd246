// Package ts writes the MPEG-TS segments (ISO/IEC 13818-1) of HLS
// renditions served as format=m3u8-aapl and format=m3u8-aapl-v3.
//
// Every segment carries one elementary stream, because each video bitrate and
// each audio language is its own HLS rendition. A segment starts with a PAT
// and a PMT, so a player can join at any segment. The layout is fixed:
//
//	PID 0x0000  PAT, program number 1
//	PID 0x1000  PMT (PMTPID)
//	PID 0x0100  H.264 (stream type 0x1B) or HEVC (0x24) video (VideoPID)
//	PID 0x0101  AAC in ADTS (stream type 0x0F) audio (AudioPID)
//
// The elementary PID is also the PCR PID. Continuity counters start at 0 on
// every PID in every segment, because each segment is built on its own,
// without the packet counts of the segments before it. HLS clients parse
// segments one by one, so the jump at a segment boundary is harmless.
//
// The package has its own writer and does not use github.com/asticode/go-astits.
// That muxer writes each packet through a bit writer into an io.Writer and
// needs the whole PES payload in one slice, so every access unit would be
// converted to Annex B in a second buffer first. It does no Annex B or ADTS
// conversion of its own, and it would add go-astikit as a dependency. This writer
// appends straight into the caller's buffer: PAT and PMT are built once at
// start-up, sample data is copied into the packets in place, and per-track
// state (parameter sets, ADTS header, DTS shift) is computed once per Track.
package ts
