package packager

// LanguageTag returns the RFC 5646 tag for an ISO 639-2/T code, as the
// HLS LANGUAGE attribute (RFC 8216 section 4.3.4.1) and the DASH lang
// attribute require. The tag is the two-letter ISO 639-1 code where one
// exists, because BCP 47 forbids the three-letter form then. Codes
// outside the table pass through unchanged, and "und" and "" return "".
func LanguageTag(code string) string {
	if code == "" || code == "und" {
		return ""
	}
	if tag, ok := iso6391[code]; ok {
		return tag
	}
	return code
}

// iso6391 maps ISO 639-2/T codes of widely used languages to ISO 639-1.
var iso6391 = map[string]string{
	"ara": "ar", "bul": "bg", "ces": "cs", "cat": "ca", "dan": "da",
	"deu": "de", "ell": "el", "eng": "en", "est": "et", "fas": "fa",
	"fin": "fi", "fra": "fr", "heb": "he", "hin": "hi", "hrv": "hr",
	"hun": "hu", "ind": "id", "isl": "is", "ita": "it", "jpn": "ja",
	"kor": "ko", "lav": "lv", "lit": "lt", "msa": "ms", "nld": "nl",
	"nor": "no", "pol": "pl", "por": "pt", "ron": "ro", "rus": "ru",
	"slk": "sk", "slv": "sl", "spa": "es", "srp": "sr", "swe": "sv",
	"tam": "ta", "tha": "th", "tur": "tr", "ukr": "uk", "vie": "vi",
	"zho": "zh",
}
