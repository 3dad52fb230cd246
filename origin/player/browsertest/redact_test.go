package browsertest

import "testing"

func TestRedact(t *testing.T) {
	r := redactor{secrets: []string{"s3cret-value"}}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"listed secret", "key request with s3cret-value failed", "key request with [REDACTED] failed"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc-_ end", "token [REDACTED] end"},
		{"bearer header", "Authorization: Bearer abc.def", "Authorization: Bearer [REDACTED]"},
		{"hosted service form", "aestoken=Bearer%3Dabc.def&x=1", "aestoken=[REDACTED]&x=1"},
		{"token query", "GET http://h/p/?url=x&token=abc&player=shaka", "GET http://h/p/?url=x&token=[REDACTED]&player=shaka"},
		{"nothing secret", "GET http://h/media/seg_001.ts: HTTP 404", "GET http://h/media/seg_001.ts: HTTP 404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.redact(tc.in); got != tc.want {
				t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
