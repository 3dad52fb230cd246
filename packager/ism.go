package packager

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxServerManifest bounds the size of a .ism file. Real server manifests
// list a few dozen tracks in a few KiB.
const maxServerManifest = 1 << 20

// maxLanguageTag bounds systemLanguage. Tags of a language, script, region
// and variant subtag, such as "sl-Latn-IT-nedis", take under 20 characters.
const maxLanguageTag = 35

// ServerManifest is a .ism server manifest: the SMIL 2.0 document that
// lists the tracks of a presentation and the files holding them.
type ServerManifest struct {
	// Name is the file name without the .ism extension; it is the
	// presentation name in streaming URLs.
	Name    string
	Entries []ManifestEntry
}

// ManifestEntry is one video, audio or textstream element of the
// manifest's switch.
type ManifestEntry struct {
	Kind TrackKind
	// Src is the asset-relative name of the file holding the track.
	Src string
	// SystemBitrate is the declared bitrate in bits per second, 0 when
	// absent.
	SystemBitrate uint32
	// SystemLanguage is the declared language, empty when absent.
	SystemLanguage string
	// TrackID selects the track in Src; 0 means the first track of Kind.
	TrackID uint32
	// TrackName is the trackName parameter, empty when absent.
	TrackName string
}

type smilDocument struct {
	Switch struct {
		Items []smilMedia `xml:",any"`
	} `xml:"body>switch"`
}

type smilMedia struct {
	XMLName        xml.Name
	Src            string      `xml:"src,attr"`
	SystemBitrate  string      `xml:"systemBitrate,attr"`
	SystemLanguage string      `xml:"systemLanguage,attr"`
	Params         []smilParam `xml:"param"`
}

type smilParam struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// ParseServerManifest reads a .ism server manifest named file from r,
// reading at most 1 MiB. Errors wrap ErrInvalidMedia and name the file.
func ParseServerManifest(r io.Reader, file string) (*ServerManifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxServerManifest+1))
	if err != nil {
		return nil, fmt.Errorf("reading server manifest %q: %w", file, err)
	}
	if len(data) > maxServerManifest {
		return nil, fmt.Errorf("server manifest %q is larger than %d bytes: %w", file, maxServerManifest, ErrInvalidMedia)
	}

	var doc smilDocument
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing server manifest %q: %w: %v", file, ErrInvalidMedia, err)
	}

	m := &ServerManifest{Name: strings.TrimSuffix(file, ".ism")}
	for i, item := range doc.Switch.Items {
		e, err := manifestEntry(item)
		if err != nil {
			return nil, fmt.Errorf("server manifest %q, element %d (%s): %w", file, i+1, item.XMLName.Local, err)
		}
		m.Entries = append(m.Entries, e)
	}
	if len(m.Entries) == 0 {
		return nil, fmt.Errorf("server manifest %q lists no tracks: %w", file, ErrInvalidMedia)
	}
	return m, nil
}

func manifestEntry(item smilMedia) (ManifestEntry, error) {
	e := ManifestEntry{Src: item.Src, SystemLanguage: item.SystemLanguage}
	switch item.XMLName.Local {
	case "video":
		e.Kind = KindVideo
	case "audio":
		e.Kind = KindAudio
	case "textstream":
		e.Kind = KindText
	default:
		return e, invalidf("unknown element %q; expected video, audio or textstream", item.XMLName.Local)
	}
	if !isPlainFileName(e.Src) {
		return e, invalidf("src %q is not a plain file name of the asset", e.Src)
	}
	if e.SystemLanguage != "" && !isLanguageTag(e.SystemLanguage) {
		return e, invalidf("systemLanguage %q is not a language tag such as \"en\", \"eng\" or \"pt-BR\" (letters, digits and '-', at most %d characters)",
			e.SystemLanguage, maxLanguageTag)
	}

	if item.SystemBitrate != "" {
		v, err := strconv.ParseUint(item.SystemBitrate, 10, 32)
		if err != nil {
			return e, invalidf("systemBitrate %q is not a number of bits per second", item.SystemBitrate)
		}
		e.SystemBitrate = uint32(v)
	}
	for _, p := range item.Params {
		switch p.Name {
		case "trackID":
			v, err := strconv.ParseUint(p.Value, 10, 32)
			if err != nil || v == 0 {
				return e, invalidf("trackID %q is not a positive track ID", p.Value)
			}
			e.TrackID = uint32(v)
		case "trackName":
			e.TrackName = p.Value
		}
	}
	return e, nil
}

// isLanguageTag reports whether s has the form of a BCP 47 language tag
// (RFC 5646) or ISO 639 code: subtags of 1 to 8 ASCII letters or digits
// separated by single hyphens, the first of letters only. It does not check
// the subtag registry. The value reaches playlists and manifests, so
// nothing else may pass.
func isLanguageTag(s string) bool {
	if len(s) > maxLanguageTag {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			digit := c >= '0' && c <= '9'
			if !letter && (i == 0 || !digit) {
				return false
			}
		}
	}
	return true
}

// isPlainFileName reports whether name is a single path element that
// cannot leave the asset folder.
func isPlainFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// sanitizeTrackName lowercases name and keeps only the characters a track
// name may hold in a URL path element: a-z, 0-9, '_' and '-'. Other
// characters become '_'.
func sanitizeTrackName(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return sb.String()
}
