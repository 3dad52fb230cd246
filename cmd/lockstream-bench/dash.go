package main

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scheme identifiers of the ContentProtection descriptors the tool reads.
const (
	mp4ProtectionScheme = "urn:mpeg:dash:mp4protection:2011"
	clearKeyScheme      = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"
)

// The MPD types hold only what a player needs to walk one video
// representation with SegmentTemplate and SegmentTimeline (ISO/IEC
// 23009-1 section 5.3.9). Element names without a namespace match any
// namespace in encoding/xml.
type mpdDocument struct {
	BaseURL []string    `xml:"BaseURL"`
	Periods []mpdPeriod `xml:"Period"`
}

type mpdPeriod struct {
	BaseURL        []string           `xml:"BaseURL"`
	AdaptationSets []mpdAdaptationSet `xml:"AdaptationSet"`
}

type mpdAdaptationSet struct {
	ContentType        string              `xml:"contentType,attr"`
	MimeType           string              `xml:"mimeType,attr"`
	BaseURL            []string            `xml:"BaseURL"`
	ContentProtections []mpdContentProtect `xml:"ContentProtection"`
	SegmentTemplate    *mpdSegmentTemplate `xml:"SegmentTemplate"`
	Representations    []mpdRepresentation `xml:"Representation"`
}

type mpdRepresentation struct {
	ID                 string              `xml:"id,attr"`
	Bandwidth          int64               `xml:"bandwidth,attr"`
	MimeType           string              `xml:"mimeType,attr"`
	BaseURL            []string            `xml:"BaseURL"`
	ContentProtections []mpdContentProtect `xml:"ContentProtection"`
	SegmentTemplate    *mpdSegmentTemplate `xml:"SegmentTemplate"`
}

type mpdContentProtect struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	DefaultKID  string `xml:"urn:mpeg:cenc:2013 default_KID,attr"`
	// The ClearKey license URL appears as dashif:laurl (DASH-IF IOP) and
	// as clearkey:Laurl (the older DASH-IF ClearKey guideline).
	DashIFLaurl   string `xml:"laurl"`
	ClearKeyLaurl string `xml:"Laurl"`
}

type mpdSegmentTemplate struct {
	Initialization string       `xml:"initialization,attr"`
	Media          string       `xml:"media,attr"`
	StartNumber    *uint64      `xml:"startNumber,attr"`
	Timescale      *uint64      `xml:"timescale,attr"`
	Timeline       *mpdTimeline `xml:"SegmentTimeline"`
}

type mpdTimeline struct {
	S []mpdTimelineEntry `xml:"S"`
}

type mpdTimelineEntry struct {
	T *uint64 `xml:"t,attr"`
	D uint64  `xml:"d,attr"`
	R int64   `xml:"r,attr"`
}

// buildDASHPlan parses an MPD and returns the plan of the selected video
// representation of the first period: the license request when the
// adaptation set is CENC-protected with a ClearKey license URL, the
// initialization segment, and one media segment per SegmentTimeline
// entry.
//
// NOTE: SegmentBase, SegmentList, SegmentTemplate@duration without a
// timeline, and r="-1" are not supported; the origin writes none of them.
func buildDASHPlan(body []byte, base *url.URL, sel rendition) (*plan, error) {
	var doc mpdDocument
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing XML: %w", err)
	}
	if len(doc.Periods) == 0 {
		return nil, errors.New("MPD has no Period")
	}
	period := &doc.Periods[0]
	set := pickVideoSet(period.AdaptationSets)
	if set == nil {
		return nil, errors.New("first Period has no AdaptationSet with a Representation")
	}

	bandwidths := make([]int64, len(set.Representations))
	for i, r := range set.Representations {
		bandwidths[i] = r.Bandwidth
	}
	i, err := sel.pick(bandwidths)
	if err != nil {
		return nil, err
	}
	rep := &set.Representations[i]

	repBase, err := resolveBaseURLs(base, doc.BaseURL, period.BaseURL, set.BaseURL, rep.BaseURL)
	if err != nil {
		return nil, err
	}
	p, err := templatePlan(rep, set, repBase)
	if err != nil {
		return nil, fmt.Errorf("representation %q: %w", rep.ID, err)
	}
	if p.keys, err = licenseRequests(base, append(set.ContentProtections, rep.ContentProtections...)); err != nil {
		return nil, err
	}
	return p, nil
}

// pickVideoSet returns the first video adaptation set with a
// representation, or else the first adaptation set with one.
func pickVideoSet(sets []mpdAdaptationSet) *mpdAdaptationSet {
	var fallback *mpdAdaptationSet
	for i := range sets {
		set := &sets[i]
		if len(set.Representations) == 0 {
			continue
		}
		if set.ContentType == "video" || strings.HasPrefix(set.MimeType, "video/") ||
			strings.HasPrefix(set.Representations[0].MimeType, "video/") {
			return set
		}
		if fallback == nil {
			fallback = set
		}
	}
	return fallback
}

// resolveBaseURLs applies the first BaseURL of each level in turn.
func resolveBaseURLs(base *url.URL, levels ...[]string) (*url.URL, error) {
	for _, level := range levels {
		if len(level) == 0 {
			continue
		}
		u, err := resolve(base, level[0])
		if err != nil {
			return nil, fmt.Errorf("BaseURL: %w", err)
		}
		base = u
	}
	return base, nil
}

// templatePlan expands the representation's SegmentTemplate, or else the
// adaptation set's, over its SegmentTimeline.
func templatePlan(rep *mpdRepresentation, set *mpdAdaptationSet, base *url.URL) (*plan, error) {
	tmpl := rep.SegmentTemplate
	if tmpl == nil {
		tmpl = set.SegmentTemplate
	}
	switch {
	case tmpl == nil:
		return nil, errors.New("no SegmentTemplate: only SegmentTemplate with SegmentTimeline is supported")
	case tmpl.Timeline == nil:
		return nil, errors.New("SegmentTemplate has no SegmentTimeline: only SegmentTemplate with SegmentTimeline is supported")
	case tmpl.Media == "":
		return nil, errors.New("SegmentTemplate has no media attribute")
	}

	p := &plan{}
	if tmpl.Initialization != "" {
		init, err := expandTemplate(tmpl.Initialization, rep, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("SegmentTemplate@initialization: %w", err)
		}
		u, err := resolve(base, init)
		if err != nil {
			return nil, fmt.Errorf("SegmentTemplate@initialization: %w", err)
		}
		p.init = segmentRef{url: u.String()}
	}

	number := uint64(1)
	if tmpl.StartNumber != nil {
		number = *tmpl.StartNumber
	}
	// SegmentTemplate@timescale defaults to 1 (ISO/IEC 23009-1 5.3.9.2).
	timescale := uint64(1)
	if tmpl.Timescale != nil && *tmpl.Timescale > 0 {
		timescale = *tmpl.Timescale
	}
	var t uint64
	for _, s := range tmpl.Timeline.S {
		if s.R < 0 {
			return nil, errors.New(`SegmentTimeline S@r="-1" is not supported`)
		}
		if s.T != nil {
			t = *s.T
		}
		if s.R >= maxSegments || len(p.segments)+int(s.R)+1 > maxSegments {
			return nil, fmt.Errorf("SegmentTimeline lists more than %d segments", maxSegments)
		}
		for range s.R + 1 {
			media, err := expandTemplate(tmpl.Media, rep, number, t)
			if err != nil {
				return nil, fmt.Errorf("SegmentTemplate@media: %w", err)
			}
			u, err := resolve(base, media)
			if err != nil {
				return nil, fmt.Errorf("SegmentTemplate@media: %w", err)
			}
			p.segments = append(p.segments, segmentRef{url: u.String(), duration: mediaDuration(s.D, timescale)})
			number++
			t += s.D
		}
	}
	return p, nil
}

// expandTemplate substitutes the identifiers of ISO/IEC 23009-1 section
// 5.3.9.4.4: $RepresentationID$, $Number$, $Time$ and $Bandwidth$, each
// optionally with a %0Nd width, and $$.
func expandTemplate(tmpl string, rep *mpdRepresentation, number, t uint64) (string, error) {
	var b strings.Builder
	for {
		start := strings.IndexByte(tmpl, '$')
		if start < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		end := strings.IndexByte(tmpl[start+1:], '$')
		if end < 0 {
			return "", fmt.Errorf("unterminated identifier in %q", tmpl)
		}
		b.WriteString(tmpl[:start])
		ident := tmpl[start+1 : start+1+end]
		tmpl = tmpl[start+end+2:]

		name, format, _ := strings.Cut(ident, "%")
		var value string
		switch name {
		case "":
			b.WriteByte('$')
			continue
		case "RepresentationID":
			b.WriteString(rep.ID)
			continue
		case "Number":
			value = strconv.FormatUint(number, 10)
		case "Time":
			value = strconv.FormatUint(t, 10)
		case "Bandwidth":
			value = strconv.FormatInt(rep.Bandwidth, 10)
		default:
			return "", fmt.Errorf("unknown identifier $%s$", ident)
		}
		if format != "" {
			width, err := templateWidth(format)
			if err != nil {
				return "", fmt.Errorf("identifier $%s$: %w", ident, err)
			}
			if pad := width - len(value); pad > 0 {
				b.WriteString(strings.Repeat("0", pad))
			}
		}
		b.WriteString(value)
	}
}

// templateWidth parses the "0Nd" format tag of a template identifier.
func templateWidth(format string) (int, error) {
	digits, ok := strings.CutSuffix(format, "d")
	if !ok || !strings.HasPrefix(digits, "0") {
		return 0, fmt.Errorf("invalid format %q: want %%0Nd", "%"+format)
	}
	width, err := strconv.Atoi(digits)
	if err != nil || width < 1 || width > 32 {
		return 0, fmt.Errorf("invalid format %q: want a width from 1 to 32", "%"+format)
	}
	return width, nil
}

// licenseRequests returns the ClearKey license request for the default
// KID of a CENC-protected adaptation set, or none when there is no
// default_KID or no license URL.
func licenseRequests(base *url.URL, protections []mpdContentProtect) ([]keyRequest, error) {
	var kid, laurl string
	for _, cp := range protections {
		switch strings.ToLower(cp.SchemeIDURI) {
		case mp4ProtectionScheme:
			if cp.DefaultKID != "" && kid == "" {
				kid = cp.DefaultKID
			}
		case clearKeyScheme:
			if laurl == "" {
				laurl = strings.TrimSpace(cmp.Or(cp.DashIFLaurl, cp.ClearKeyLaurl))
			}
		}
	}
	if kid == "" || laurl == "" {
		return nil, nil
	}

	raw, err := parseKID(kid)
	if err != nil {
		return nil, err
	}
	u, err := resolve(base, laurl)
	if err != nil {
		return nil, fmt.Errorf("ClearKey license URL: %w", err)
	}
	// The W3C Encrypted Media Extensions ClearKey license request: key IDs
	// in base64url without padding.
	body, err := json.Marshal(struct {
		Kids []string `json:"kids"`
		Type string   `json:"type"`
	}{Kids: []string{base64.RawURLEncoding.EncodeToString(raw)}, Type: "temporary"})
	if err != nil {
		return nil, err
	}
	return []keyRequest{{format: keyClearKey, method: http.MethodPost, url: u.String(), body: body}}, nil
}

// parseKID parses a cenc:default_KID, a UUID in its 8-4-4-4-12 form.
func parseKID(s string) ([]byte, error) {
	raw, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if err != nil || len(raw) != 16 {
		return nil, fmt.Errorf("invalid cenc:default_KID %q: want a UUID", s)
	}
	return raw, nil
}

// mediaDuration converts d ticks of timescale to a duration, saturating
// instead of overflowing for hostile values.
func mediaDuration(d, timescale uint64) time.Duration {
	secs := float64(d) / float64(timescale)
	if secs >= float64(maxDuration/time.Second) {
		return maxDuration
	}
	return time.Duration(secs * float64(time.Second))
}
