package origin

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
)

// referenceEntityTag is the entity tag written out with a streaming hash,
// field by field, as the tag is specified: each string with its length as
// 8 big-endian bytes in front, each number as 8 big-endian bytes.
func referenceEntityTag(req *StreamRequest, asset string, pres *packager.Presentation, prot packager.Protection, keyToken string) string {
	h := sha256.New()
	var num [8]byte
	writeField := func(s string) {
		binary.BigEndian.PutUint64(num[:], uint64(len(s)))
		h.Write(num[:])
		h.Write([]byte(s))
	}
	writeNumber := func(v uint64) {
		binary.BigEndian.PutUint64(num[:], v)
		h.Write(num[:])
	}
	writeField(buildVersion)
	writeField(req.Locator.String())
	writeField(asset)
	writeField(req.Name)
	writeField(req.Kind.String())
	writeField(string(req.Format))
	writeField(req.Track)
	writeField(req.Stream)
	if req.Kind == ResourceManifest || req.Kind == ResourcePlaylist {
		writeField(req.BaseURL)
	} else {
		writeField("")
	}
	writeNumber(uint64(req.Segment))
	writeNumber(req.Time)
	writeNumber(uint64(req.Bitrate))
	writeField(prot.Scheme.String())
	h.Write(prot.Key.ID[:])
	writeField(pres.Version)
	writeField(keyToken)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

func TestEntityTagMatchesReference(t *testing.T) {
	pres := &packager.Presentation{Version: "0123456789abcdef0123456789abcdef"}
	long := string(make([]byte, 600)) // past the stack buffer
	cases := []struct {
		name     string
		req      StreamRequest
		prot     packager.Protection
		keyToken string
	}{
		{"segment", StreamRequest{Locator: uuid.MustParse("5a50565e-bb1d-48a2-90fb-66083ee6e9fd"), Name: "sample", Kind: ResourceSegment,
			Format: FormatHLSTS, Track: "video_700k", Segment: 2, BaseURL: "http://127.0.0.1:8080"}, packager.Protection{}, ""},
		{"encrypted", StreamRequest{Locator: uuid.New(), Name: "sample", Kind: ResourceSegment, Format: FormatDASHCMAF, Track: "audio_eng", Segment: 3},
			packager.Protection{Scheme: packager.SchemeCENC, Key: packager.ContentKey{ID: [16]byte{1, 2, 3}}}, ""},
		{"fragment", StreamRequest{Locator: uuid.New(), Name: "sample", Kind: ResourceFragment, Stream: "video", Bitrate: 697438, Time: 40000000},
			packager.Protection{}, ""},
		{"playlist with key token", StreamRequest{Locator: uuid.New(), Name: "sample", Kind: ResourcePlaylist, Format: FormatHLSTS, Track: "video_700k"},
			packager.Protection{Scheme: packager.SchemeCBC}, "derived-token"},
		{"long fields", StreamRequest{Locator: uuid.New(), Name: long, Kind: ResourceManifest, BaseURL: long}, packager.Protection{}, long},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := entityTag(&tc.req, "sample", pres, tc.prot, tc.keyToken)
			want := referenceEntityTag(&tc.req, "sample", pres, tc.prot, tc.keyToken)
			if got != want {
				t.Errorf("entityTag = %s, want %s", got, want)
			}
		})
	}
}

func TestEncodeUUID(t *testing.T) {
	for _, id := range []uuid.UUID{uuid.Nil, uuid.New(), uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff")} {
		var b [36]byte
		encodeUUID(b[:], id)
		if got, want := string(b[:]), id.String(); got != want {
			t.Errorf("encodeUUID = %s, want %s", got, want)
		}
	}
}
