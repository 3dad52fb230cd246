package ts

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"weak"

	"github.com/Eyevinn/mp4ff/aac"

	"github.com/lockstream/lockstream/packager"
)

// codecFamily is the kind of PES payload a track's samples become.
type codecFamily int

const (
	familyH264 codecFamily = iota + 1
	familyHEVC
	familyAAC
)

// streamProfile is the per-track state of Segment beyond the samples. It
// is computed once per Track, because Tracks are immutable and segments of
// one track are requested many times.
type streamProfile struct {
	family   codecFamily
	pid      uint16
	streamID byte
	pmt      *[packetSize]byte

	// Video only.
	lengthSize int    // bytes of each NAL unit length prefix
	aud        []byte // access unit delimiter with start code
	paramSets  []byte // parameter sets in Annex B form, put before each IRAP

	// Audio only.
	adts [adtsHeaderSize]byte // ADTS header with frame_length still to set

	// dtsShift is the largest negative composition offset of the track, in
	// track ticks. Subtracting it from every decode time keeps DTS <= PTS
	// with one shift for all segments, so DTS never steps back at a
	// segment boundary.
	dtsShift int64
}

// profiles caches a streamProfile per Track without keeping the Track
// alive: the key is a weak pointer, and a cleanup removes the entry once
// the Track is collected.
var profiles sync.Map // weak.Pointer[packager.Track] -> *streamProfile

// profileFor returns the cached profile of t, building it on first use.
func profileFor(t *packager.Track) (*streamProfile, error) {
	key := weak.Make(t)
	if p, ok := profiles.Load(key); ok {
		return p.(*streamProfile), nil
	}

	p, err := newStreamProfile(t)
	if err != nil {
		return nil, err
	}
	if _, loaded := profiles.LoadOrStore(key, p); !loaded {
		runtime.AddCleanup(t, func(k weak.Pointer[packager.Track]) { profiles.Delete(k) }, key)
	}
	return p, nil
}

func newStreamProfile(t *packager.Track) (*streamProfile, error) {
	if t.Timescale == 0 {
		return nil, fmt.Errorf("track %q: timescale is 0: %w", t.Name, packager.ErrInvalidMedia)
	}

	var p *streamProfile
	var err error
	switch t.Codec {
	case packager.CodecAVC1, packager.CodecAVC3:
		p = newVideoProfile(t, familyH264, streamTypeH264, audH264, avcCLengthSizeOffset)
	case packager.CodecHVC1, packager.CodecHEV1:
		p = newVideoProfile(t, familyHEVC, streamTypeHEVC, audHEVC, hvcCLengthSizeOffset)
	case packager.CodecAAC:
		p, err = newAACProfile(t)
	default:
		err = fmt.Errorf("track %q: codec %q cannot be carried in MPEG-TS segments; request format=m3u8-cmaf: %w",
			t.Name, t.Codec, packager.ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}

	for _, s := range t.Samples {
		p.dtsShift = max(p.dtsShift, -int64(s.CTO))
	}
	return p, nil
}

// Offsets of lengthSizeMinusOne in the decoder configuration records:
// ISO/IEC 14496-15 section 5.3.3.1 (avcC) and section 8.3.3.1 (hvcC).
const (
	avcCLengthSizeOffset = 4
	hvcCLengthSizeOffset = 21
)

func newVideoProfile(t *packager.Track, family codecFamily, streamType byte, aud []byte, lengthSizeOffset int) *streamProfile {
	p := &streamProfile{
		family:     family,
		pid:        VideoPID,
		streamID:   streamIDVideo,
		pmt:        pmtPackets[streamType],
		lengthSize: 4,
		aud:        aud,
	}
	if len(t.DecoderConfig) > lengthSizeOffset {
		p.lengthSize = int(t.DecoderConfig[lengthSizeOffset]&0x03) + 1
	}
	for _, ps := range t.ParameterSets {
		if len(ps) > 0 {
			p.paramSets = append(p.paramSets, startCode[:]...)
			p.paramSets = append(p.paramSets, ps...)
		}
	}
	return p
}

func newAACProfile(t *packager.Track) (*streamProfile, error) {
	asc := t.AudioSpecificConfig
	if len(asc) == 0 {
		return nil, fmt.Errorf("track %q: no AudioSpecificConfig: %w", t.Name, packager.ErrInvalidMedia)
	}

	// ADTS can signal AAC-LC, and HE-AAC v1 and v2 as their AAC-LC core with
	// implicit SBR and PS signalling (ISO/IEC 14496-3 section 1.6.5.2).
	objectType := asc[0] >> 3
	if objectType != aac.AAClc && objectType != aac.HEAACv1 && objectType != aac.HEAACv2 {
		return nil, fmt.Errorf("track %q: AAC object type %d cannot be carried in ADTS; only AAC-LC and HE-AAC can: %w",
			t.Name, objectType, packager.ErrUnsupported)
	}
	config, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(asc))
	if err != nil {
		return nil, fmt.Errorf("track %q: decoding AudioSpecificConfig %x: %v: %w", t.Name, asc, err, packager.ErrInvalidMedia)
	}
	// channel_configuration 0 would need a program_config_element in every
	// raw data block, and ADTS has 3 bits for the field.
	if config.ChannelConfiguration == 0 || config.ChannelConfiguration > 7 {
		return nil, fmt.Errorf("track %q: AAC channel configuration %d cannot be carried in ADTS: %w",
			t.Name, config.ChannelConfiguration, packager.ErrUnsupported)
	}

	// SamplingFrequency is the AAC core rate, which ADTS carries, also for
	// HE-AAC whose output rate is twice that.
	header, err := aac.NewADTSHeader(config.SamplingFrequency, config.ChannelConfiguration, aac.AAClc, 0)
	if err != nil {
		return nil, fmt.Errorf("track %q: AAC at %d Hz cannot be carried in ADTS: %v: %w",
			t.Name, config.SamplingFrequency, err, packager.ErrUnsupported)
	}

	p := &streamProfile{
		family:   familyAAC,
		pid:      AudioPID,
		streamID: streamIDAudio,
		pmt:      pmtPackets[streamTypeAAC],
	}
	copy(p.adts[:], header.Encode())
	return p, nil
}
