package origin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/storage"
)

// Protocol is a streaming protocol.
type Protocol string

const (
	ProtocolHLS    Protocol = "hls"
	ProtocolDASH   Protocol = "dash"
	ProtocolSmooth Protocol = "smooth"
)

// Display returns the protocol's name for messages: HLS, DASH or Smooth
// Streaming.
func (p Protocol) Display() string {
	switch p {
	case ProtocolHLS:
		return "HLS"
	case ProtocolDASH:
		return "DASH"
	case ProtocolSmooth:
		return "Smooth Streaming"
	}
	return string(p)
}

// Format is an output format: the value of the manifest's format option,
// or FormatSmooth for a manifest without one.
type Format string

const (
	FormatSmooth   Format = "smooth"
	FormatHLSTS    Format = "m3u8-aapl"    // HLS with MPEG-TS segments
	FormatHLSTSv3  Format = "m3u8-aapl-v3" // HLS version 3 with MPEG-TS segments
	FormatHLSCMAF  Format = "m3u8-cmaf"    // HLS with fMP4/CMAF segments
	FormatDASHCSF  Format = "mpd-time-csf" // DASH with SegmentTimeline
	FormatDASHCMAF Format = "mpd-time-cmaf"
)

// formats lists the format option values in the order messages show them.
var formats = []Format{FormatHLSTS, FormatHLSTSv3, FormatHLSCMAF, FormatDASHCSF, FormatDASHCMAF}

// Protocol returns the protocol of the format.
func (f Format) Protocol() Protocol {
	switch f {
	case FormatHLSTS, FormatHLSTSv3, FormatHLSCMAF:
		return ProtocolHLS
	case FormatDASHCSF, FormatDASHCMAF:
		return ProtocolDASH
	}
	return ProtocolSmooth
}

// family returns the first path element of the format's sub-resources.
// Both DASH formats share the "dash" segments.
func (f Format) family() string {
	switch f {
	case FormatHLSTS:
		return "hls-ts"
	case FormatHLSTSv3:
		return "hls-ts3"
	case FormatHLSCMAF:
		return "hls-cmaf"
	case FormatDASHCSF, FormatDASHCMAF:
		return "dash"
	}
	return ""
}

// ResourceKind is what a streaming URL addresses.
type ResourceKind int

const (
	ResourceManifest ResourceKind = iota + 1 // top-level manifest of any format
	ResourcePlaylist                         // HLS media playlist of one track
	ResourceInit                             // fMP4 init segment of one track
	ResourceSegment                          // TS or fMP4 media segment
	ResourceFragment                         // Smooth Streaming fragment
)

func (k ResourceKind) String() string {
	switch k {
	case ResourceManifest:
		return "manifest"
	case ResourcePlaylist:
		return "playlist"
	case ResourceInit:
		return "init"
	case ResourceSegment:
		return "segment"
	case ResourceFragment:
		return "fragment"
	}
	return "unknown"
}

// StreamRequest is a parsed streaming URL.
//
//	/{locator}/{name}.ism/manifest[(options)][.m3u8|.mpd]
//	/{locator}/{name}.ism/{hls-ts|hls-ts3|hls-cmaf}/{enc}/{track}.m3u8
//	/{locator}/{name}.ism/{hls-ts|hls-ts3}/{enc}/{track}/{n}.ts
//	/{locator}/{name}.ism/{hls-cmaf|dash}/{enc}/{track}/init.mp4
//	/{locator}/{name}.ism/{hls-cmaf|dash}/{enc}/{track}/{n}.m4s
//	/{locator}/{name}.ism/QualityLevels({bitrate})/Fragments({stream}={time}[,encryption={enc}])
type StreamRequest struct {
	Locator uuid.UUID
	// Name is the presentation name: the path element before ".ism",
	// percent-decoded.
	Name   string
	Kind   ResourceKind
	Format Format

	// Scheme is the requested encryption when SchemeSet; the sub-resource
	// paths always carry one. For a manifest without an encryption option,
	// the handler picks the streaming policy's default.
	Scheme    packager.Scheme
	SchemeSet bool

	// Track names the track of playlists, init and media segments.
	Track string
	// Segment is the 1-based media segment number.
	Segment int

	// Smooth Streaming fragments: the QualityLevels bitrate in bits per
	// second, the stream name and the fragment start time in the stream's
	// timescale.
	Bitrate uint32
	Stream  string
	Time    uint64

	// Filter is the manifest's filter option as given, empty when absent.
	// NOTE: filters are parsed and kept but not applied yet; the producer
	// serves the whole presentation.
	Filter string

	// BaseURL is the absolute URL of the origin, such as
	// "https://media.example.com", for absolute URLs in manifests. The
	// handler sets it; the parser leaves it empty.
	BaseURL string
	// BaseFromHost is true when the handler built BaseURL from the
	// request's Host header, which the client chooses, instead of the
	// configured public base URL. HLS key URIs are then root-relative, so
	// a forged Host cannot send a player's key token elsewhere.
	BaseFromHost bool

	// Token is the request's "token" query parameter, for players that
	// cannot set an Authorization header. The handler sets it; it is never
	// logged, and only a token derived from it reaches a playlist.
	Token string
	// Client is the address that refused tokens count against in key
	// delivery's failure limit. The handler sets it.
	Client string
}

// Protocol returns the request's streaming protocol.
func (r *StreamRequest) Protocol() Protocol { return r.Format.Protocol() }

// maxTrackName bounds track and stream names.
const maxTrackName = 64

// ParseStreamURL parses the escaped path of a streaming URL (as
// url.URL.EscapedPath returns it). Each path element is percent-decoded on
// its own, so an encoded '/' ("%2F") stays inside its element, where the
// name checks reject it. Errors are *Error: 404 for a path that is not a
// streaming URL, 400 naming the element and value for a malformed one.
func ParseStreamURL(escapedPath string) (*StreamRequest, error) {
	rest, ok := strings.CutPrefix(escapedPath, "/")
	if !ok {
		return nil, errNoResource
	}

	var raw [6]string
	n := 0
	for n < len(raw) {
		elem, after, more := strings.Cut(rest, "/")
		raw[n] = elem
		n++
		if !more {
			rest = ""
			break
		}
		rest = after
		if rest == "" {
			// A trailing slash leaves an empty element, which no
			// resource has.
			return nil, errNoResource
		}
	}
	if rest != "" || n < 3 || !hasSuffixFold(raw[1], ".ism") {
		return nil, errNoResource
	}

	var elems [6]string
	for i := range n {
		if raw[i] == "" {
			return nil, errorf(http.StatusBadRequest, "invalid URL path: empty path element")
		}
		lower := strings.ToLower(raw[i])
		if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
			return nil, errorf(http.StatusBadRequest, "invalid path element %s: encoded '/' and '\\' are not allowed", quote(raw[i]))
		}
		dec, err := url.PathUnescape(raw[i])
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid percent-encoding in path element %s", quote(raw[i]))
		}
		elems[i] = dec
	}

	req := &StreamRequest{}
	if err := parseLocatorID(elems[0], &req.Locator); err != nil {
		return nil, err
	}
	name := elems[1][:len(elems[1])-len(".ism")]
	if err := storage.CheckName(name); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid presentation name %s: want one plain path element before .ism", quote(name))
	}
	req.Name = name

	sub := elems[2:n]
	switch {
	case len(sub) == 1 && hasPrefixFold(sub[0], "manifest"):
		return req, parseManifest(sub[0], req)
	case hasPrefixFold(sub[0], "QualityLevels("):
		return req, parseFragment(sub, req)
	}
	return req, parseSubresource(sub, req)
}

var errNoResource = errorf(http.StatusNotFound, "no such resource")

func parseLocatorID(s string, id *uuid.UUID) error {
	// uuid.Parse also takes braces, a urn:uuid: prefix and 32 bare hex
	// digits; only the canonical form keeps one URL per locator.
	parsed, err := uuid.Parse(s)
	if len(s) != 36 || err != nil {
		return errorf(http.StatusBadRequest, "invalid locator ID %s: want a UUID such as 91b8e3c6-0f0e-4c62-9a3d-0e2a4c5b6d7e", quote(s))
	}
	*id = parsed
	return nil
}

// parseManifest parses "manifest", "manifest(options)" and the latter with
// a ".m3u8" or ".mpd" suffix that players add.
func parseManifest(elem string, req *StreamRequest) error {
	req.Kind = ResourceManifest
	req.Format = FormatSmooth
	rest := elem[len("manifest"):]
	if rest == "" {
		return nil
	}

	inner, suffix, ok := cutParens(rest)
	if !ok {
		return errorf(http.StatusBadRequest, "invalid manifest element %s: want manifest or manifest(format=...)", quote(elem))
	}
	if err := parseManifestOptions(inner, req); err != nil {
		return err
	}

	switch strings.ToLower(suffix) {
	case "":
	case ".m3u8":
		if req.Protocol() != ProtocolHLS {
			return errorf(http.StatusBadRequest, "invalid manifest suffix .m3u8 for %s: only HLS formats take it", req.Protocol().Display())
		}
	case ".mpd":
		if req.Protocol() != ProtocolDASH {
			return errorf(http.StatusBadRequest, "invalid manifest suffix .mpd for %s: only DASH formats take it", req.Protocol().Display())
		}
	default:
		return errorf(http.StatusBadRequest, "invalid manifest suffix %s: want .m3u8, .mpd or none", quote(suffix))
	}
	return nil
}

// cutParens splits "(inner)suffix"; inner must not be empty.
func cutParens(s string) (inner, suffix string, ok bool) {
	if !strings.HasPrefix(s, "(") {
		return "", "", false
	}
	end := strings.IndexByte(s, ')')
	if end < 2 {
		return "", "", false
	}
	return s[1:end], s[end+1:], true
}

func parseManifestOptions(list string, req *StreamRequest) error {
	var seenFormat, seenEncryption, seenFilter bool
	var encryption string
	for opt := range strings.SplitSeq(list, ",") {
		key, value, ok := strings.Cut(opt, "=")
		if !ok || value == "" {
			return errorf(http.StatusBadRequest, "invalid manifest option %s: want key=value", quote(opt))
		}

		switch strings.ToLower(key) {
		case "format":
			if seenFormat {
				return errorf(http.StatusBadRequest, "manifest option format is given twice")
			}
			seenFormat = true
			f, ok := parseFormat(value)
			if !ok {
				return errorf(http.StatusBadRequest, "invalid format %s: accepted: %s", quote(value), formatList())
			}
			req.Format = f
		case "encryption":
			if seenEncryption {
				return errorf(http.StatusBadRequest, "manifest option encryption is given twice")
			}
			seenEncryption = true
			encryption = value
		case "filter":
			if seenFilter {
				return errorf(http.StatusBadRequest, "manifest option filter is given twice")
			}
			seenFilter = true
			if !validFilter(value) {
				return errorf(http.StatusBadRequest, "invalid filter %s: want filter names of letters, digits, '_', '-' or '.', separated by ';'", quote(value))
			}
			req.Filter = value
		default:
			return errorf(http.StatusBadRequest, "unknown manifest option %s: accepted: format, encryption, filter", quote(key))
		}
	}

	if seenEncryption {
		// The format decides which schemes exist, so the encryption
		// option is checked after every option was read.
		scheme, err := parseEncryption(encryption, req.Protocol(), false)
		if err != nil {
			return err
		}
		req.Scheme, req.SchemeSet = scheme, true
	}
	return nil
}

func parseFormat(s string) (Format, bool) {
	for _, f := range formats {
		if strings.EqualFold(s, string(f)) {
			return f, true
		}
	}
	return "", false
}

func formatList() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// schemesFor lists the encryption schemes a protocol can carry, clear
// last: HLS has AES-128 envelope encryption (cbc), DASH and Smooth
// Streaming have CENC.
func schemesFor(p Protocol) []packager.Scheme {
	if p == ProtocolHLS {
		return []packager.Scheme{packager.SchemeCBC, packager.SchemeClear}
	}
	return []packager.Scheme{packager.SchemeCENC, packager.SchemeClear}
}

// parseEncryption parses an encryption value for protocol p. inPath says
// whether it is a path element (lower case only) or an option value.
func parseEncryption(s string, p Protocol, inPath bool) (packager.Scheme, error) {
	accepted := schemesFor(p)
	for _, scheme := range accepted {
		name := scheme.String()
		if s == name || (!inPath && strings.EqualFold(s, name)) {
			return scheme, nil
		}
	}

	what := "encryption"
	if inPath {
		what = "encryption path element"
	}
	for _, scheme := range []packager.Scheme{packager.SchemeCBC, packager.SchemeCENC} {
		if strings.EqualFold(s, scheme.String()) {
			return 0, errorf(http.StatusBadRequest, "invalid %s %s: %s does not support it; accepted: %s",
				what, quote(s), p.Display(), schemeList(accepted))
		}
	}
	return 0, errorf(http.StatusBadRequest, "invalid %s %s: accepted: %s", what, quote(s), schemeList(accepted))
}

func schemeList(schemes []packager.Scheme) string {
	names := make([]string, len(schemes))
	for i, s := range schemes {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// parseSubresource parses the playlist and segment paths below the .ism
// element: family/enc/track.m3u8 and family/enc/track/file.
func parseSubresource(sub []string, req *StreamRequest) error {
	var f Format
	switch sub[0] {
	case "hls-ts":
		f = FormatHLSTS
	case "hls-ts3":
		f = FormatHLSTSv3
	case "hls-cmaf":
		f = FormatHLSCMAF
	case "dash":
		f = FormatDASHCSF
	default:
		return errNoResource
	}
	req.Format = f
	if len(sub) != 3 && len(sub) != 4 {
		return errNoResource
	}

	scheme, err := parseEncryption(sub[1], f.Protocol(), true)
	if err != nil {
		return err
	}
	req.Scheme, req.SchemeSet = scheme, true

	if len(sub) == 3 {
		return parsePlaylist(sub[2], req)
	}
	if err := checkTrackName(sub[2]); err != nil {
		return err
	}
	req.Track = sub[2]
	return parseSegmentFile(sub[3], req)
}

func parsePlaylist(elem string, req *StreamRequest) error {
	if req.Protocol() != ProtocolHLS {
		return errNoResource
	}
	track, ok := strings.CutSuffix(elem, ".m3u8")
	if !ok {
		return errorf(http.StatusBadRequest, "invalid playlist name %s: want {track}.m3u8", quote(elem))
	}
	if err := checkTrackName(track); err != nil {
		return err
	}
	req.Kind = ResourcePlaylist
	req.Track = track
	return nil
}

func parseSegmentFile(elem string, req *StreamRequest) error {
	ext := ".m4s"
	if req.Format == FormatHLSTS || req.Format == FormatHLSTSv3 {
		ext = ".ts"
	}

	if elem == "init.mp4" {
		if ext == ".ts" {
			return errorf(http.StatusBadRequest, "invalid segment name %s: MPEG-TS has no init segment", quote(elem))
		}
		req.Kind = ResourceInit
		return nil
	}

	digits, ok := strings.CutSuffix(elem, ext)
	if !ok {
		return errorf(http.StatusBadRequest, "invalid segment name %s: want {n}%s", quote(elem), ext)
	}
	n, ok := parseDecimal(digits, 1<<31-1)
	if !ok || n < 1 {
		return errorf(http.StatusBadRequest, "invalid segment number %s: want a decimal number from 1, without leading zeros", quote(digits))
	}
	req.Kind = ResourceSegment
	req.Segment = int(n)
	return nil
}

// parseFragment parses QualityLevels({bitrate})/Fragments({stream}={time}[,encryption={enc}]).
func parseFragment(sub []string, req *StreamRequest) error {
	req.Format = FormatSmooth
	if len(sub) != 2 || !hasPrefixFold(sub[1], "Fragments(") {
		return errNoResource
	}

	inner, suffix, ok := cutParens(sub[0][len("QualityLevels"):])
	if !ok || suffix != "" {
		return errorf(http.StatusBadRequest, "invalid QualityLevels element %s: want QualityLevels({bitrate})", quote(sub[0]))
	}
	bitrate, ok := parseDecimal(inner, 1<<32-1)
	if !ok || bitrate == 0 {
		return errorf(http.StatusBadRequest, "invalid bitrate %s: want a positive decimal number of bits per second", quote(inner))
	}
	req.Bitrate = uint32(bitrate)

	inner, suffix, ok = cutParens(sub[1][len("Fragments"):])
	if !ok || suffix != "" {
		return errorf(http.StatusBadRequest, "invalid Fragments element %s: want Fragments({stream}={time})", quote(sub[1]))
	}
	first, options, _ := strings.Cut(inner, ",")
	stream, timeText, ok := strings.Cut(first, "=")
	if !ok || !validStreamName(stream) {
		return errorf(http.StatusBadRequest, "invalid fragment stream %s: want {stream}={time} with a stream name of letters, digits, '_' or '-'", quote(first))
	}
	t, ok := parseDecimal(timeText, 1<<63-1)
	if !ok {
		return errorf(http.StatusBadRequest, "invalid fragment time %s: want a decimal number without leading zeros", quote(timeText))
	}
	req.Stream, req.Time = stream, t

	if options != "" {
		key, value, _ := strings.Cut(options, "=")
		if !strings.EqualFold(key, "encryption") {
			return errorf(http.StatusBadRequest, "unknown fragment option %s: accepted: encryption", quote(options))
		}
		scheme, err := parseEncryption(value, ProtocolSmooth, false)
		if err != nil {
			return err
		}
		req.Scheme, req.SchemeSet = scheme, true
	}
	req.Kind = ResourceFragment
	return nil
}

// checkTrackName accepts 1 to 64 of [a-z0-9_-], the characters
// packager.Track.Name may contain.
func checkTrackName(s string) error {
	if len(s) == 0 || len(s) > maxTrackName {
		return errorf(http.StatusBadRequest, "invalid track name %s: want 1 to %d characters of a-z, 0-9, '_' or '-'", quote(s), maxTrackName)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return errorf(http.StatusBadRequest, "invalid track name %s: want 1 to %d characters of a-z, 0-9, '_' or '-'", quote(s), maxTrackName)
		}
	}
	return nil
}

// validStreamName accepts Smooth Streaming StreamIndex names such as
// "video" or "audio_eng": 1 to 64 letters, digits, '_' or '-'.
func validStreamName(s string) bool {
	if len(s) == 0 || len(s) > maxTrackName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validFilter(s string) bool {
	if len(s) > 256 {
		return false
	}
	for name := range strings.SplitSeq(s, ";") {
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return false
			}
		}
	}
	return true
}

// parseDecimal parses a non-negative decimal number no larger than max,
// rejecting signs, leading zeros and anything but ASCII digits, so each
// number has exactly one spelling in URLs and caches.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// quote quotes a value from a URL for an error message, escaping control
// characters and invalid UTF-8 and cutting it to 64 bytes, so a message
// stays short whatever the client sent.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

// ManifestPath returns the path of a locator's manifest in format f, with
// an encryption option when scheme is not clear:
// "/{id}/{name}.ism/manifest(format=m3u8-aapl,encryption=cbc)".
func ManifestPath(id uuid.UUID, name string, f Format, scheme packager.Scheme) string {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(id.String())
	b.WriteString("/")
	b.WriteString(url.PathEscape(name))
	b.WriteString(".ism/manifest")

	var opts []string
	if f != FormatSmooth {
		opts = append(opts, "format="+string(f))
	}
	if scheme != packager.SchemeClear {
		opts = append(opts, "encryption="+scheme.String())
	}
	if len(opts) > 0 {
		b.WriteString("(" + strings.Join(opts, ",") + ")")
	}
	return b.String()
}

// PlaylistPath returns the path of an HLS media playlist relative to the
// ".ism/" element, such as "hls-ts/cbc/video_1.m3u8".
func PlaylistPath(f Format, scheme packager.Scheme, track string) string {
	return f.family() + "/" + scheme.String() + "/" + track + ".m3u8"
}

// InitPath returns the path of an fMP4 init segment relative to the
// ".ism/" element, such as "dash/cenc/video_1/init.mp4".
func InitPath(f Format, scheme packager.Scheme, track string) string {
	return f.family() + "/" + scheme.String() + "/" + track + "/init.mp4"
}

// SegmentPath returns the path of media segment n (from 1) relative to the
// ".ism/" element, such as "hls-ts/clear/audio/3.ts".
func SegmentPath(f Format, scheme packager.Scheme, track string, n int) string {
	ext := ".m4s"
	if f == FormatHLSTS || f == FormatHLSTSv3 {
		ext = ".ts"
	}
	return f.family() + "/" + scheme.String() + "/" + track + "/" + strconv.Itoa(n) + ext
}
