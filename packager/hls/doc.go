// Package hls writes HTTP Live Streaming playlists (RFC 8216) for a
// presentation: the multivariant playlist that lists one variant stream per
// video track with its audio renditions, and the VOD media playlist of one
// track, for MPEG-TS or fMP4 segments, clear or with AES-128 envelope
// encryption.
//
// The package builds no URL of its own: every playlist, segment, init and
// key URI comes from the caller through Options, so the origin alone decides
// the URL scheme. Writers append to a caller's dst slice, keep no state
// between calls and are safe for concurrent use.
package hls
