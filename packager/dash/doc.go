// Package dash writes static MPEG-DASH MPDs (ISO/IEC 23009-1) with
// SegmentTemplate and SegmentTimeline for a presentation, clear or with
// CENC and the ClearKey license URL, using github.com/zencoder/go-dash/v3.
//
// Segment URLs come from the caller's templates, so the origin alone
// decides the URL scheme. Write appends to a caller's dst slice, keeps no
// state between calls and is safe for concurrent use.
package dash
