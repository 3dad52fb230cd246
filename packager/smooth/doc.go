// Package smooth writes Smooth Streaming client manifests (MS-SSTR
// section 2.2.2) for a presentation, clear or with a CENC protection
// header, and maps fragment URLs back to tracks and segments.
//
// No Go library writes these manifests, so the elements are encoding/xml
// structs. Build a Manifest once per presentation and plan with New; its
// Append and Lookup methods are safe for concurrent use. IndexFor returns
// the memoized lookup part alone, for fragment requests.
package smooth
