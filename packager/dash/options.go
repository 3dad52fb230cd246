package dash

import (
	"fmt"
	"strings"
)

// Profile is the MPD@profiles value of one output format.
type Profile string

const (
	// ProfileCSF is the ISO live profile, for format mpd-time-csf.
	ProfileCSF Profile = "urn:mpeg:dash:profile:isoff-live:2011"
	// ProfileCMAF adds the DASH-CMAF profile (ISO/IEC 23009-1 clause
	// 8.12), for format mpd-time-cmaf.
	ProfileCMAF Profile = "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"
)

// Options configures the MPD of one request.
type Options struct {
	Profile Profile
	// InitTemplate and MediaTemplate are SegmentTemplate@initialization and
	// @media, relative to the MPD, such as
	// "dash/cenc/$RepresentationID$/init.mp4" and
	// "dash/cenc/$RepresentationID$/$Number$.m4s". $RepresentationID$ is
	// the track name and $Number$ the segment index + 1.
	InitTemplate  string
	MediaTemplate string
	// Protection is nil for clear output.
	Protection *Protection
}

// Protection is the CENC signalling of an encrypted MPD. It holds the key
// ID only; the key itself never reaches a manifest.
type Protection struct {
	KeyID [16]byte
	// LicenseURL is the absolute URL of the ClearKey license endpoint.
	LicenseURL string
	// PSSH adds a ContentProtection for the W3C common system with a
	// cenc:pssh box. Shaka Player and dash.js use cenc:default_KID and
	// need none. dash.js 5.2.1 pages that set protection data fail with
	// it, so the origin leaves it off. The init segments still carry the
	// pssh box for plain EME pages.
	PSSH bool
}

func (o *Options) check() error {
	if o == nil {
		return fmt.Errorf("writing MPD: no options")
	}
	if o.Profile != ProfileCSF && o.Profile != ProfileCMAF {
		return fmt.Errorf("writing MPD: profile %q is invalid; use ProfileCSF or ProfileCMAF", o.Profile)
	}
	if !strings.Contains(o.MediaTemplate, "$Number$") {
		return fmt.Errorf("writing MPD: media template %q lacks $Number$", o.MediaTemplate)
	}
	if o.InitTemplate == "" {
		return fmt.Errorf("writing MPD: initialization template is empty")
	}
	if o.Protection != nil && o.Protection.LicenseURL == "" {
		return fmt.Errorf("writing MPD: encrypted output needs a license URL")
	}
	return nil
}
