package browsertest

import (
	"regexp"
	"strings"
)

// Patterns of credentials that may show up in console messages and request
// URLs: compact JWTs, bearer values and token query parameters.
var (
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	bearerPattern = regexp.MustCompile(`(?i)(bearer[=\s:]+|bearer%3d)[^\s&"',;]+`)
	tokenQuery    = regexp.MustCompile(`(?i)((?:^|[?&])(?:token|aestoken|access_token)=)[^&#\s"']*`)
)

const redacted = "[REDACTED]"

// redactor removes the given secrets and anything shaped like a token.
type redactor struct {
	secrets []string
}

func (r redactor) redact(s string) string {
	for _, secret := range r.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	s = jwtPattern.ReplaceAllString(s, redacted)
	s = bearerPattern.ReplaceAllString(s, "${1}"+redacted)
	return tokenQuery.ReplaceAllString(s, "${1}"+redacted)
}
