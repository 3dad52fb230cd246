package fmp4

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

func decodeInit(t *testing.T, b []byte) *mp4.InitSegment {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding init segment: %v", err)
	}
	if f.Init == nil || len(f.Segments) != 0 {
		t.Fatalf("output is not a lone init segment")
	}
	return f.Init
}

func TestInitBoxes(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			out, err := Init(nil, src.Track, packager.Protection{})
			if err != nil {
				t.Fatal(err)
			}
			init := decodeInit(t, out)

			ftyp := init.Ftyp
			if ftyp.MajorBrand() != "cmfc" {
				t.Errorf("major brand %q, want cmfc", ftyp.MajorBrand())
			}
			for _, brand := range []string{"iso6", "cmfc", "dash", "cmf2"} {
				if !slices.Contains(ftyp.CompatibleBrands(), brand) {
					t.Errorf("compatible brands %v lack %q", ftyp.CompatibleBrands(), brand)
				}
			}

			moov := init.Moov
			if len(moov.Traks) != 1 || moov.Mvex == nil || len(moov.Mvex.Trexs) != 1 {
				t.Fatalf("moov has %d traks and mvex %v, want 1 trak and 1 trex", len(moov.Traks), moov.Mvex)
			}
			trak := moov.Trak
			if trak.Tkhd.TrackID != 1 || moov.Mvex.Trex.TrackID != 1 {
				t.Errorf("tkhd track ID %d, trex track ID %d, want 1", trak.Tkhd.TrackID, moov.Mvex.Trex.TrackID)
			}
			if trak.Edts != nil {
				t.Error("trak has an edit list")
			}
			if got := trak.Mdia.Mdhd.Timescale; got != src.Timescale {
				t.Errorf("mdhd timescale %d, want %d", got, src.Timescale)
			}
			if got := trak.Mdia.Mdhd.GetLanguage(); got != src.Language {
				t.Errorf("mdhd language %q, want %q", got, src.Language)
			}

			minf := trak.Mdia.Minf
			wantHandler := map[packager.TrackKind]string{packager.KindVideo: "vide", packager.KindAudio: "soun"}[src.Kind]
			if got := trak.Mdia.Hdlr.HandlerType; got != wantHandler {
				t.Errorf("handler %q, want %q", got, wantHandler)
			}
			if (minf.Vmhd != nil) != (src.Kind == packager.KindVideo) || (minf.Smhd != nil) != (src.Kind == packager.KindAudio) {
				t.Errorf("vmhd %v, smhd %v for %s", minf.Vmhd != nil, minf.Smhd != nil, src.Kind)
			}
			stbl := minf.Stbl
			if stbl.Stts == nil || stbl.Stsc == nil || stbl.Stsz == nil || stbl.Stco == nil || minf.Dinf == nil {
				t.Error("stbl lacks stts, stsc, stsz or stco, or minf lacks dinf")
			}
			var entry bytes.Buffer
			if err := stbl.Stsd.Children[0].Encode(&entry); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(entry.Bytes(), src.SampleEntry) {
				t.Error("sample entry differs from the source sample entry")
			}
			if src.Kind == packager.KindVideo && (trak.Tkhd.Width>>16 != mp4.Fixed32(src.Width) || trak.Tkhd.Height>>16 != mp4.Fixed32(src.Height)) {
				t.Errorf("tkhd size %dx%d, want %dx%d", trak.Tkhd.Width>>16, trak.Tkhd.Height>>16, src.Width, src.Height)
			}
		})
	}
}

func TestInitCENC(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			out, err := Init(nil, src.Track, cenc)
			if err != nil {
				t.Fatal(err)
			}
			init := decodeInit(t, out)

			var sinf *mp4.SinfBox
			entry := init.Moov.Trak.Mdia.Minf.Stbl.Stsd.Children[0]
			switch se := entry.(type) {
			case *mp4.VisualSampleEntryBox:
				sinf = se.Sinf
			case *mp4.AudioSampleEntryBox:
				sinf = se.Sinf
			}
			wantType := map[packager.TrackKind]string{packager.KindVideo: "encv", packager.KindAudio: "enca"}[src.Kind]
			if entry.Type() != wantType || sinf == nil {
				t.Fatalf("sample entry %q with sinf %v, want %q with sinf", entry.Type(), sinf != nil, wantType)
			}
			if sinf.Frma.DataFormat != string(src.Codec) {
				t.Errorf("frma %q, want %q", sinf.Frma.DataFormat, src.Codec)
			}
			if sinf.Schm.SchemeType != "cenc" || sinf.Schm.SchemeVersion != 0x00010000 {
				t.Errorf("schm %q version %#x, want cenc 0x10000", sinf.Schm.SchemeType, sinf.Schm.SchemeVersion)
			}
			tenc := sinf.Schi.Tenc
			if tenc.DefaultIsProtected != 1 || tenc.DefaultPerSampleIVSize != 8 || !bytes.Equal(tenc.DefaultKID, testKey.ID[:]) {
				t.Errorf("tenc protected %d, IV size %d, KID %x; want 1, 8, %x",
					tenc.DefaultIsProtected, tenc.DefaultPerSampleIVSize, []byte(tenc.DefaultKID), testKey.ID)
			}

			psshs := init.Moov.Psshs
			if len(psshs) != 1 {
				t.Fatalf("moov has %d pssh boxes, want 1", len(psshs))
			}
			var pssh bytes.Buffer
			if err := psshs[0].Encode(&pssh); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pssh.Bytes(), PSSH(testKey.ID)) {
				t.Errorf("pssh in moov %x differs from PSSH %x", pssh.Bytes(), PSSH(testKey.ID))
			}
		})
	}
}

func TestPSSH(t *testing.T) {
	b := PSSH(testKey.ID)
	box, err := mp4.DecodeBox(0, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding pssh: %v", err)
	}
	pssh := box.(*mp4.PsshBox)
	if got := pssh.SystemID.String(); got != mp4.UUID_W3C_COMMON {
		t.Errorf("system ID %s, want %s", got, mp4.UUID_W3C_COMMON)
	}
	if pssh.Version != 1 || len(pssh.KIDs) != 1 || !bytes.Equal(pssh.KIDs[0], testKey.ID[:]) || len(pssh.Data) != 0 {
		t.Errorf("pssh version %d, KIDs %v, data %d bytes; want version 1, KID %x, no data", pssh.Version, pssh.KIDs, len(pssh.Data), testKey.ID)
	}
	if int(box.Size()) != len(b) {
		t.Errorf("box size %d, %d bytes written", box.Size(), len(b))
	}
}

func TestInitBadInput(t *testing.T) {
	src := allMedia[0].load(t)
	with := func(change func(*packager.Track)) *packager.Track {
		c := *src.Track
		change(&c)
		return &c
	}
	tests := []struct {
		name  string
		track *packager.Track
		prot  packager.Protection
		want  error
	}{
		{"unknown codec", with(func(c *packager.Track) { c.Codec = "vp09" }), packager.Protection{}, packager.ErrUnsupported},
		{"zero timescale", with(func(c *packager.Track) { c.Timescale = 0 }), packager.Protection{}, packager.ErrInvalidMedia},
		{"truncated sample entry", with(func(c *packager.Track) { c.SampleEntry = c.SampleEntry[:20] }), packager.Protection{}, packager.ErrInvalidMedia},
		{"empty sample entry", with(func(c *packager.Track) { c.SampleEntry = nil }), packager.Protection{}, packager.ErrInvalidMedia},
		{"codec mismatch", with(func(c *packager.Track) { c.Codec = packager.CodecHVC1 }), packager.Protection{}, packager.ErrInvalidMedia},
		{"unknown scheme", src.Track, packager.Protection{Scheme: 9}, packager.ErrUnsupported},
		{"cenc text", with(func(c *packager.Track) { c.Kind = packager.KindText }), cenc, packager.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Init([]byte("prefix"), tc.track, tc.prot)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), src.Name) {
				t.Errorf("error %q does not name track %q", err, src.Name)
			}
			if string(out) != "prefix" {
				t.Errorf("dst changed to %d bytes on error", len(out))
			}
		})
	}

	if _, err := Init(nil, nil, packager.Protection{}); !errors.Is(err, packager.ErrNotFound) {
		t.Errorf("nil track: error %v, want %v", err, packager.ErrNotFound)
	}
}
