package hls

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lockstream/lockstream/packager"
)

// attrList appends an attribute list (RFC 8216 section 4.2) to a tag line,
// writing the commas between attributes. err records the first value that
// could not be written; the caller checks it before using buf.
type attrList struct {
	buf []byte
	n   int
	err error
}

func (a *attrList) name(name string) {
	if a.n > 0 {
		a.buf = append(a.buf, ',')
	}
	a.n++
	a.buf = append(a.buf, name...)
	a.buf = append(a.buf, '=')
}

// enum appends an enumerated string or other unquoted value.
func (a *attrList) enum(name, value string) {
	a.name(name)
	a.buf = append(a.buf, value...)
}

// quoted appends a quoted string. RFC 8216 section 4.2: a quoted-string
// "MUST NOT include a double quote, carriage return or line feed", and
// one that did could end the attribute or the tag and inject another, so
// such a value is rejected.
func (a *attrList) quoted(name, value string) {
	if strings.ContainsAny(value, "\"\r\n") {
		if a.err == nil {
			a.err = fmt.Errorf("attribute %s value %q contains a double quote or line break, which a quoted-string cannot hold: %w",
				name, value, packager.ErrInvalidMedia)
		}
		return
	}
	a.name(name)
	a.buf = append(a.buf, '"')
	a.buf = append(a.buf, value...)
	a.buf = append(a.buf, '"')
}

func (a *attrList) integer(name string, value uint64) {
	a.name(name)
	a.buf = strconv.AppendUint(a.buf, value, 10)
}

func (a *attrList) float(name string, value float64) {
	a.name(name)
	a.buf = strconv.AppendFloat(a.buf, value, 'f', 3, 64)
}

// resolution appends a decimal-resolution such as 640x360.
func (a *attrList) resolution(name string, width, height uint16) {
	a.name(name)
	a.buf = strconv.AppendUint(a.buf, uint64(width), 10)
	a.buf = append(a.buf, 'x')
	a.buf = strconv.AppendUint(a.buf, uint64(height), 10)
}
