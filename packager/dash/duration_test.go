package dash

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/packager/internal/fixture"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "PT0S"},
		{-time.Second, "PT0S"},
		{time.Nanosecond, "PT0.000000001S"},
		{213 * time.Millisecond, "PT0.213S"},
		{213333333 * time.Nanosecond, "PT0.213333333S"},
		{12 * time.Second, "PT12S"},
		{4011 * time.Millisecond, "PT4.011S"},
		{time.Minute, "PT1M"},
		{time.Hour, "PT1H"},
		{time.Hour + 5*time.Second, "PT1H5S"},
		{time.Hour + 2*time.Minute + 3500*time.Millisecond, "PT1H2M3.5S"},
		{50 * time.Hour, "PT50H"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := formatDuration(tc.d); got != tc.want {
				t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

// xsDuration matches the hour, minute and second forms of xs:duration
// (XML Schema Part 2 section 3.2.6) that an MPD uses.
var xsDuration = regexp.MustCompile(`^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$`)

// TestMPDSubsecondDuration guards the MPD's duration attributes for
// presentations shorter than one second, which go-dash v3.0.3 writes as
// PT213333333\uFFFDS.
func TestMPDSubsecondDuration(t *testing.T) {
	p, plan := fixture.Build(fixture.Options{})
	p.Duration = 213 * time.Millisecond
	text, err := Write(nil, p, plan, testOptions(ProfileCMAF, false))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), `mediaPresentationDuration="PT0.213S"`) {
		t.Errorf("MPD lacks mediaPresentationDuration=\"PT0.213S\":\n%s", text)
	}
	for _, m := range regexp.MustCompile(`(mediaPresentationDuration|minBufferTime)="([^"]*)"`).FindAllStringSubmatch(string(text), -1) {
		if !xsDuration.MatchString(m[2]) {
			t.Errorf("%s=%q is not an xs:duration", m[1], m[2])
		}
	}
}
