// Package packager turns the MP4 files of an asset into streaming output:
// the MP4 index, the segment plan, fMP4/CMAF and MPEG-TS segments, HLS, DASH
// and Smooth Streaming manifests, and their encryption. It does not depend
// on HTTP, tokens or storage backends, and it logs nothing. Every failure is
// returned as an error that names the file, track or value at fault.
package packager

import (
	"context"
	"io"
	"time"
)

// File is one asset file as the packager reads it.
type File interface {
	io.ReaderAt
	Size() int64
}

// Opener opens the files of one asset by their asset-relative names. The
// storage package implements it; names are plain file names such as
// "video_640x360_400k.mp4".
type Opener interface {
	Open(ctx context.Context, name string) (File, FileInfo, error)
	// List returns the files of the asset, sorted by name.
	List(ctx context.Context) ([]FileInfo, error)
}

// FileInfo identifies one version of a file; the index cache keys on it.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	// ETag is the store's version tag where it has one, else empty.
	ETag string
}

// TrackKind is the media type of a track.
type TrackKind int

const (
	KindVideo TrackKind = iota + 1
	KindAudio
	KindText
)

func (k TrackKind) String() string {
	switch k {
	case KindVideo:
		return "video"
	case KindAudio:
		return "audio"
	case KindText:
		return "text"
	}
	return "unknown"
}

// Sample is one access unit of a track, as stored in its source file.
//
// Time is the decode time on the presentation timeline, in the track's
// timescale, after edit lists were applied; it is never negative. The
// presentation time is Time + CTO. CTO is signed because the indexer
// subtracts the edit list's media time from the composition offsets. The
// first sync sample of a B-frame stream is then presented at its decode
// time, and B-frames may have a negative CTO (as trun version 1 allows).
type Sample struct {
	Offset int64 // byte offset of the sample data in the source file
	Time   int64
	CTO    int32
	Size   uint32
	Dur    uint32
	Sync   bool
}

// PresentationTime returns the sample's presentation time in track ticks.
func (s Sample) PresentationTime() int64 { return s.Time + int64(s.CTO) }

// Codec identifies a sample entry type.
type Codec string

const (
	CodecAVC1 Codec = "avc1"
	CodecAVC3 Codec = "avc3"
	CodecHVC1 Codec = "hvc1"
	CodecHEV1 Codec = "hev1"
	CodecAAC  Codec = "mp4a"
	CodecWVTT Codec = "wvtt"
)

// Track is one rendition of a presentation with its full sample table.
// A Track is immutable once built and shared between goroutines.
type Track struct {
	// Index is the track's position in Presentation.Tracks. It differs
	// between presentations of one asset, so no IV depends on it.
	Index int
	// IVIdentity identifies the track's source in every IV derived for it
	// (see SampleIV and SegmentIV): a hash of the asset, file name, file
	// version (size, modification time, ETag) and track ID. The loader
	// rejects an asset in which two tracks share it.
	IVIdentity uint32
	// Name is unique within the presentation and safe in a URL path
	// element: lowercase letters, digits, '_' and '-' only.
	Name string
	Kind TrackKind
	// File is the asset-relative name of the source file; TrackID the
	// track_ID inside it.
	File    string
	TrackID uint32

	Codec Codec
	// CodecString is the RFC 6381 codecs parameter, such as
	// "avc1.64001f" or "mp4a.40.2".
	CodecString string
	Language    string // ISO 639-2/T, "und" when unknown
	Timescale   uint32
	// Duration is the presentation duration in track ticks.
	Duration int64
	// Bitrate is the average bitrate in bits per second; MaxBitrate the
	// peak over the segments of the default plan.
	Bitrate    uint32
	MaxBitrate uint32

	// Video only.
	Width, Height uint16
	FrameRate     Rational // frames per second, zero when variable
	// ParameterSets holds the SPS and PPS (and VPS for HEVC) NAL units
	// without start codes, in the order they appear in the decoder
	// configuration record.
	ParameterSets [][]byte

	// Audio only.
	SampleRate uint32
	Channels   uint16
	// AudioSpecificConfig is the AAC decoder configuration (ISO/IEC 14496-3).
	AudioSpecificConfig []byte
	AudioObjectType     int // 2 for AAC-LC, 5 for HE-AAC, 29 for HE-AACv2

	// SampleEntry is the encoded stsd sample entry box (avc1, hvc1, mp4a,
	// ...) of the source, copied into init segments unchanged.
	SampleEntry []byte
	// DecoderConfig is the payload of the avcC or hvcC box, empty for audio.
	DecoderConfig []byte

	Samples []Sample
}

// Rational is a ratio such as a frame rate (24000/1001).
type Rational struct {
	Num, Den uint32
}

// Presentation is the set of tracks of one asset, as the packager reads it.
type Presentation struct {
	// Asset is the asset name; Name the server manifest name used in URLs
	// (the .ism file name without extension, or the asset name when the
	// server manifest was synthesized).
	Asset  string
	Name   string
	Tracks []*Track
	// Duration is the longest track duration.
	Duration time.Duration
	// Version identifies the versions of the asset files the presentation
	// was built from, as a hash of their names, sizes, modification times
	// and ETags. It changes whenever any of them changes.
	Version string
}

// SegmentPlan records where every segment of a presentation starts and which
// samples of each track it holds. All tracks share the boundaries.
type SegmentPlan struct {
	// Timescale of Boundaries; the timescale of the first video track, or of
	// the first track when there is no video.
	Timescale uint32
	// Boundaries holds len(segments)+1 presentation times: segment i spans
	// [Boundaries[i], Boundaries[i+1]).
	Boundaries []int64
	// Ranges[t][i] is the half-open range of sample indices of track t
	// (Presentation.Tracks[t]) that segment i holds.
	Ranges [][]SampleRange
	// Target is the duration the planner aimed at.
	Target time.Duration
}

// SampleRange is a half-open range [Start, End) of sample indices.
type SampleRange struct {
	Start, End int
}

// SegmentCount returns the number of segments in the plan.
func (p *SegmentPlan) SegmentCount() int { return len(p.Boundaries) - 1 }
