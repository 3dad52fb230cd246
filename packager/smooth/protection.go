package smooth

import (
	"encoding/base64"
	"encoding/binary"
	"unicode/utf16"
)

// PlayReadySystemID is the SystemID of the protection header, which holds
// a PlayReady Object.
const PlayReadySystemID = "9A04F079-9840-4286-AB92-E65BE0885F95"

// protection returns the Protection element for CENC key ID kid.
//
// The header is a PlayReady Object (PlayReady Header Specification) whose
// only record is a version 4.0.0.0 WRMHEADER with KID, KEYLEN and ALGID,
// and no LA_URL, because the server has no PlayReady license service. It
// exists so that clients can find the key ID: dash.js 5.2.1 with
// dash.mss.min.js (MssParser.getKIDFromProtectionHeader) ignores the
// SystemID attribute, base64-decodes the header as a PlayReady Object,
// takes the first record of type 1, parses it as UTF-16LE XML and reads
// the text of its first KID element. It then turns the KID into the
// default_KID of the tenc box of the init segment it builds itself, and
// offers only PlayReady and Widevine ContentProtection, never ClearKey.
// The version 4.2 form (<KIDS><KID VALUE="..."/>) has no KID text, so
// that client would read no key ID.
//
// NOTE: with only PlayReady and Widevine offered, dash.js selects the
// ClearKey system only from an EME "encrypted" event for a pssh of the W3C
// common system, so the fragments have to carry that pssh.
func protection(kid [16]byte) *Protection {
	return &Protection{Header: ProtectionHeader{
		SystemID: PlayReadySystemID,
		Data:     base64.StdEncoding.EncodeToString(playReadyObject(kid)),
	}}
}

// playReadyObject returns a PlayReady Object with one rights management
// header record. All its integers are little-endian.
func playReadyObject(kid [16]byte) []byte {
	header := wrmHeader(kid)
	record := make([]byte, 0, 2*len(header))
	for _, u := range utf16.Encode([]rune(header)) {
		record = binary.LittleEndian.AppendUint16(record, u)
	}

	const recordTypeRightsManagement = 1
	size := 4 + 2 + 2 + 2 + len(record)
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint16(b, 1) // record count
	b = binary.LittleEndian.AppendUint16(b, recordTypeRightsManagement)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(record)))
	return append(b, record...)
}

// wrmHeader returns the WRMHEADER XML. PlayReady writes the key ID as a
// GUID, whose first three fields are little-endian, so the UUID bytes
// are swapped before base64.
func wrmHeader(kid [16]byte) string {
	guid := kid
	guid[0], guid[1], guid[2], guid[3] = kid[3], kid[2], kid[1], kid[0]
	guid[4], guid[5] = kid[5], kid[4]
	guid[6], guid[7] = kid[7], kid[6]
	return `<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.0.0.0">` +
		`<DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO>` +
		`<KID>` + base64.StdEncoding.EncodeToString(guid[:]) + `</KID></DATA></WRMHEADER>`
}
