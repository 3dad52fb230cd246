package dash

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"

	"github.com/zencoder/go-dash/v3/mpd"

	"github.com/lockstream/lockstream/packager/fmp4"
)

// Scheme URIs and namespaces of the ContentProtection descriptors.
const (
	ClearKeySchemeID     = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"
	CommonSystemSchemeID = "urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
	// DashIFNamespace is the DASH-IF content protection namespace of
	// dashif:laurl, which dash.js reads.
	DashIFNamespace = "https://dashif.org/CPS"
	// ClearKeyNamespace is the namespace of clearkey:Laurl, the only
	// license URL form Shaka Player reads.
	ClearKeyNamespace = "http://dashif.org/guidelines/clearKey"
)

// ClearKeyContentProtection is the ContentProtection descriptor of the
// ClearKey system with its license URL in both forms players read: the
// DASH-IF dashif:laurl and the clearkey:Laurl that Shaka Player reads.
// It implements go-dash's mpd.ContentProtectioner, and declares its
// namespaces on itself because go-dash's MPD element has no place for
// them.
type ClearKeyContentProtection struct {
	XMLName       xml.Name      `xml:"ContentProtection"`
	SchemeIDURI   string        `xml:"schemeIdUri,attr"`
	Value         string        `xml:"value,attr"`
	DashIFXMLNS   string        `xml:"xmlns:dashif,attr"`
	ClearKeyXMLNS string        `xml:"xmlns:clearkey,attr"`
	DashIFLaurl   string        `xml:"dashif:laurl"`
	ClearKeyLaurl clearKeyLaurl `xml:"clearkey:Laurl"`
}

type clearKeyLaurl struct {
	LicenseType string `xml:"Lic_type,attr"`
	URL         string `xml:",chardata"`
}

// ContentProtected marks the type as an mpd.ContentProtectioner.
func (ClearKeyContentProtection) ContentProtected() {}

// NewClearKeyContentProtection returns the ClearKey descriptor for the
// license endpoint licenseURL.
func NewClearKeyContentProtection(licenseURL string) *ClearKeyContentProtection {
	return &ClearKeyContentProtection{
		SchemeIDURI:   ClearKeySchemeID,
		Value:         "ClearKey1.0",
		DashIFXMLNS:   DashIFNamespace,
		ClearKeyXMLNS: ClearKeyNamespace,
		DashIFLaurl:   licenseURL,
		ClearKeyLaurl: clearKeyLaurl{LicenseType: "EME-1.0", URL: licenseURL},
	}
}

// CommonSystemContentProtection is the ContentProtection descriptor of
// the W3C common system, with the version 1 pssh box of fmp4.PSSH that
// lists the key ID, the same box the init segments carry.
type CommonSystemContentProtection struct {
	XMLName     xml.Name `xml:"ContentProtection"`
	SchemeIDURI string   `xml:"schemeIdUri,attr"`
	CencXMLNS   string   `xml:"xmlns:cenc,attr"`
	PSSH        string   `xml:"cenc:pssh"`
}

// ContentProtected marks the type as an mpd.ContentProtectioner.
func (CommonSystemContentProtection) ContentProtected() {}

// NewCommonSystemContentProtection returns the W3C common system
// descriptor for key ID kid.
func NewCommonSystemContentProtection(kid [16]byte) *CommonSystemContentProtection {
	return &CommonSystemContentProtection{
		SchemeIDURI: CommonSystemSchemeID,
		CencXMLNS:   mpd.CENC_XMLNS,
		PSSH:        base64.StdEncoding.EncodeToString(fmp4.PSSH(kid)),
	}
}

// addProtection adds the CENC descriptors of prot to as: the
// mp4protection descriptor with cenc:default_KID, ClearKey with the
// license URL, and the common system when prot.PSSH is set.
func addProtection(as *mpd.AdaptationSet, prot *Protection) error {
	if _, err := as.AddNewContentProtectionRoot(hex.EncodeToString(prot.KeyID[:])); err != nil {
		return err
	}
	if err := as.AddContentProtection(NewClearKeyContentProtection(prot.LicenseURL)); err != nil {
		return err
	}
	if prot.PSSH {
		return as.AddContentProtection(NewCommonSystemContentProtection(prot.KeyID))
	}
	return nil
}
