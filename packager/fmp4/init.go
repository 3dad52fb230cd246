package fmp4

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

// trackID is the track_ID of the single track in every init segment and
// fragment this package writes.
const trackID = 1

// commonSystemID is the system ID of the W3C Common PSSH box
// (https://www.w3.org/TR/eme-initdata-cenc/).
var commonSystemID = [16]byte{0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02,
	0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b}

// Init appends the CMAF init segment (ftyp and moov) of t to dst and
// returns the extended slice. The moov holds one track with ID 1, the
// source sample entry, empty sample tables and a trex; it has no edit
// list, because sample times already include the edit list shift.
//
// With packager.SchemeCENC the sample entry becomes encv or enca with a
// 'cenc' sinf whose tenc names prot.Key.ID with 8-byte per-sample IVs,
// and moov carries the W3C common system pssh. packager.SchemeCBC leaves
// the init segment clear, as HLS requires when EXT-X-MAP comes before
// EXT-X-KEY.
//
// On error dst is returned unchanged in length.
func Init(dst []byte, t *packager.Track, prot packager.Protection) ([]byte, error) {
	init, err := buildInit(t, prot)
	if err != nil {
		return dst, fmt.Errorf("writing init segment of track %q: %w", trackName(t), err)
	}

	buf := bytes.NewBuffer(dst)
	if err := init.Encode(buf); err != nil {
		return dst, fmt.Errorf("encoding init segment of track %q: %w", trackName(t), err)
	}
	return buf.Bytes(), nil
}

func buildInit(t *packager.Track, prot packager.Protection) (*mp4.InitSegment, error) {
	if t == nil {
		return nil, fmt.Errorf("no track: %w", packager.ErrNotFound)
	}
	if err := checkCodec(t); err != nil {
		return nil, err
	}
	if t.Timescale == 0 {
		return nil, fmt.Errorf("timescale is 0: %w", packager.ErrInvalidMedia)
	}
	entry, err := decodeSampleEntry(t)
	if err != nil {
		return nil, err
	}

	init := mp4.NewMP4Init()
	// 'cmfc' is the CMAF track brand (ISO/IEC 23000-19), and 'cmf2' the
	// brand of its second edition, whose tracks carry signed composition
	// offsets in trun version 1 instead of an edit list, as these do.
	// NOTE: the brands are checked with ffmpeg 5.1 and mp4ff, not with the
	// CMAF conformance software.
	init.AddChild(mp4.NewFtyp("cmfc", 0, []string{"iso6", "cmfc", "dash", "cmf2"}))
	moov := mp4.NewMoovBox()
	init.AddChild(moov)
	moov.AddChild(mp4.CreateMvhd())
	moov.AddChild(mp4.NewMvexBox())

	trak := init.AddEmptyTrack(t.Timescale, handlerType(t.Kind), language(t.Language))
	trak.Mdia.Hdlr.Name = "Lockstream " + t.Kind.String() + " handler"
	if t.Kind == packager.KindVideo {
		trak.Tkhd.Width = mp4.Fixed32(uint32(t.Width) << 16)
		trak.Tkhd.Height = mp4.Fixed32(uint32(t.Height) << 16)
	}
	trak.Mdia.Minf.Stbl.Stsd.AddChild(entry)

	switch prot.Scheme {
	case packager.SchemeClear, packager.SchemeCBC:
		return init, nil
	case packager.SchemeCENC:
		return init, protectInit(init, t, prot.Key)
	}
	return nil, fmt.Errorf("protection scheme %d: %w", prot.Scheme, packager.ErrUnsupported)
}

// decodeSampleEntry decodes the track's source sample entry, checking that
// it is the entry its codec says.
func decodeSampleEntry(t *packager.Track) (mp4.Box, error) {
	entry, err := mp4.DecodeBox(0, bytes.NewReader(t.SampleEntry))
	if err != nil {
		return nil, fmt.Errorf("decoding sample entry: %v: %w", err, packager.ErrInvalidMedia)
	}
	if entry.Type() != string(t.Codec) {
		return nil, fmt.Errorf("sample entry %q does not match codec %q: %w", entry.Type(), t.Codec, packager.ErrInvalidMedia)
	}
	if entry.Size() != uint64(len(t.SampleEntry)) {
		return nil, fmt.Errorf("sample entry of %d bytes decodes as %d bytes: %w",
			len(t.SampleEntry), entry.Size(), packager.ErrInvalidMedia)
	}
	return entry, nil
}

// protectInit turns the clear init segment into a 'cenc' protected one:
// encv or enca with frma, schm (cenc, version 1.0) and tenc (ISO/IEC
// 23001-7), and a W3C common system pssh in moov.
func protectInit(init *mp4.InitSegment, t *packager.Track, key packager.ContentKey) error {
	if t.Kind != packager.KindVideo && t.Kind != packager.KindAudio {
		return fmt.Errorf("encrypting %s tracks: %w", t.Kind, packager.ErrUnsupported)
	}
	if t.Kind == packager.KindVideo {
		if err := checkNALLengthSize(t); err != nil {
			return err
		}
	}

	pssh, err := commonPSSH(key.ID)
	if err != nil {
		return err
	}
	// The IV given to InitProtect only sets the per-sample IV size in
	// tenc, because 'cenc' has no constant IV. Segment derives every
	// sample's IV with packager.SampleIV.
	var ivForSize [ivSize]byte
	_, err = mp4.InitProtect(init, nil, ivForSize[:], "cenc", mp4.UUID(key.ID[:]), []*mp4.PsshBox{pssh})
	if err != nil {
		return fmt.Errorf("adding protection to init segment: %v: %w", err, packager.ErrInvalidMedia)
	}
	return nil
}

// PSSH returns the W3C common system pssh box (version 1, listing kid, no
// data) that the init segments carry, for a DASH MPD's cenc:pssh element
// or a player that needs EME init data.
func PSSH(kid [16]byte) []byte {
	// size, type, version and flags, system ID, KID count, KID, data size
	b := make([]byte, 0, 52)
	b = appendUint32(b, 52)
	b = append(b, "pssh"...)
	b = appendVersionFlags(b, 1, 0)
	b = append(b, commonSystemID[:]...)
	b = appendUint32(b, 1)
	b = append(b, kid[:]...)
	return binary.BigEndian.AppendUint32(b, 0)
}

// commonPSSH returns the PSSH box decoded for mp4ff, so the init segment
// and PSSH always agree.
func commonPSSH(kid [16]byte) (*mp4.PsshBox, error) {
	box, err := mp4.DecodeBox(0, bytes.NewReader(PSSH(kid)))
	if err != nil {
		return nil, fmt.Errorf("decoding pssh box: %w", err)
	}
	return box.(*mp4.PsshBox), nil
}

func handlerType(k packager.TrackKind) string {
	switch k {
	case packager.KindVideo:
		return "video"
	case packager.KindAudio:
		return "audio"
	}
	return "text"
}

func language(lang string) string {
	if lang == "" {
		return "und"
	}
	return lang
}
