// Package fmp4 writes fragmented MP4 output for one track of a
// presentation: CMAF init and media segments for DASH and HLS (ISO/IEC
// 23000-19), Smooth Streaming fragments (MS-SSTR, PIFF 1.1), and their
// ISO/IEC 23001-7 'cenc' encryption.
//
// Every function appends to a caller's dst slice and is safe for concurrent
// use. Output is a pure function of its input, so two calls, or two origin
// instances, produce byte-identical segments.
package fmp4
