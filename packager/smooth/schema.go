package smooth

import "encoding/xml"

// SmoothStreamingMedia is the root element of the client manifest
// (MS-SSTR section 2.2.2.1).
type SmoothStreamingMedia struct {
	XMLName      xml.Name      `xml:"SmoothStreamingMedia"`
	MajorVersion int           `xml:"MajorVersion,attr"`
	MinorVersion int           `xml:"MinorVersion,attr"`
	TimeScale    int64         `xml:"TimeScale,attr"`
	Duration     int64         `xml:"Duration,attr"`
	Protection   *Protection   `xml:"Protection,omitempty"`
	Streams      []StreamIndex `xml:"StreamIndex"`
}

// Protection holds the protection header (MS-SSTR section 2.2.2.2).
type Protection struct {
	Header ProtectionHeader `xml:"ProtectionHeader"`
}

// ProtectionHeader is the base64 header data of one protection system.
type ProtectionHeader struct {
	SystemID string `xml:"SystemID,attr"`
	Data     string `xml:",chardata"`
}

// StreamIndex is one stream: the video, or the audio of one language
// (MS-SSTR section 2.2.2.3).
type StreamIndex struct {
	Type          string         `xml:"Type,attr"`
	Name          string         `xml:"Name,attr"`
	Language      string         `xml:"Language,attr,omitempty"`
	Chunks        int            `xml:"Chunks,attr"`
	QualityLevels int            `xml:"QualityLevels,attr"`
	URL           string         `xml:"Url,attr"`
	MaxWidth      int            `xml:"MaxWidth,attr,omitempty"`
	MaxHeight     int            `xml:"MaxHeight,attr,omitempty"`
	DisplayWidth  int            `xml:"DisplayWidth,attr,omitempty"`
	DisplayHeight int            `xml:"DisplayHeight,attr,omitempty"`
	TimeScale     int64          `xml:"TimeScale,attr"`
	Levels        []QualityLevel `xml:"QualityLevel"`
	Chunk         []Chunk        `xml:"c"`
}

// QualityLevel is one track of a stream (MS-SSTR section 2.2.2.5).
type QualityLevel struct {
	Index            int    `xml:"Index,attr"`
	Bitrate          uint32 `xml:"Bitrate,attr"`
	FourCC           string `xml:"FourCC,attr"`
	MaxWidth         int    `xml:"MaxWidth,attr,omitempty"`
	MaxHeight        int    `xml:"MaxHeight,attr,omitempty"`
	CodecPrivateData string `xml:"CodecPrivateData,attr"`
	SamplingRate     uint32 `xml:"SamplingRate,attr,omitempty"`
	Channels         uint16 `xml:"Channels,attr,omitempty"`
	BitsPerSample    int    `xml:"BitsPerSample,attr,omitempty"`
	PacketSize       int    `xml:"PacketSize,attr,omitempty"`
	AudioTag         int    `xml:"AudioTag,attr,omitempty"`
}

// Chunk is one fragment (MS-SSTR section 2.2.2.6): its duration, and its
// start time where it does not follow from the previous chunk.
type Chunk struct {
	T *int64 `xml:"t,attr,omitempty"`
	D int64  `xml:"d,attr"`
}
