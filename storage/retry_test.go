package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

func TestRetryBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{4, 500 * time.Millisecond, time.Second},
		{60, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("attempt ", tt.attempt), func(t *testing.T) {
			for range 100 {
				if d := p.backoff(tt.attempt); d < tt.min || d > tt.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.min, tt.max)
				}
			}
		})
	}
}

func TestRetryDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   RetryPolicy
		want int
	}{
		{"zero value", RetryPolicy{}, defaultMaxRetries},
		{"negative turns retries off", RetryPolicy{MaxRetries: -1}, 0},
		{"explicit", RetryPolicy{MaxRetries: 5}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults().MaxRetries; got != tt.want {
				t.Errorf("MaxRetries = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestClassifyFailure(t *testing.T) {
	azErr := func(status int, code string) error { return &azcore.ResponseError{StatusCode: status, ErrorCode: code} }
	tests := []struct {
		name      string
		err       error
		timedOut  bool
		wantKind  error
		wantRetry bool
	}{
		{"timeout", context.DeadlineExceeded, true, ErrTimeout, true},
		{"Azure ServerBusy", azErr(503, "ServerBusy"), false, ErrUnavailable, true},
		{"429", azErr(429, ""), false, ErrUnavailable, true},
		{"500", azErr(500, "InternalError"), false, ErrUnavailable, true},
		{"412", azErr(412, "ConditionNotMet"), false, ErrChanged, false},
		{"404", azErr(404, "BlobNotFound"), false, ErrNotFound, false},
		{"403", azErr(403, "AuthorizationFailure"), false, ErrDenied, false},
		{"400", azErr(400, "InvalidHeaderValue"), false, ErrUnavailable, false},
		{"connection refused", &url.Error{Op: "Get", URL: "http://127.0.0.1:1/c/b?sig=x", Err: syscall.ECONNREFUSED}, false, ErrUnavailable, true},
		{"body cut short", io.ErrUnexpectedEOF, false, ErrUnavailable, true},
		{"ETag mismatch", fmt.Errorf("%w: ETag x", errETagMismatch), false, ErrChanged, false},
		{"bad Content-Range", fmt.Errorf("%w: no header", errBadRange), false, ErrUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classifyFailure(tt.err, tt.timedOut, time.Second)
			if f.kind != tt.wantKind || f.retry != tt.wantRetry {
				t.Errorf("classifyFailure = %v, retry %v, want %v, retry %v", f.kind, f.retry, tt.wantKind, tt.wantRetry)
			}
			err := f.wrap("reading", 1)
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("wrapped error %v does not wrap %v", err, tt.wantKind)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				t.Errorf("wrapped error %v reads as the end of the file", err)
			}
			if strings.Contains(err.Error(), "sig=x") {
				t.Errorf("wrapped error %q contains the SAS signature", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`Get "https://acct.blob.core.windows.net/c/k?sv=2022&sig=abc%3D": EOF`, `Get "https://acct.blob.core.windows.net/c/k?[redacted]": EOF`},
		{"token sig=abc&se=1 in text", "token sig=[redacted]&se=1 in text"},
		{"dial tcp 127.0.0.1:9000: connect: connection refused", "dial tcp 127.0.0.1:9000: connect: connection refused"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckContentRange(t *testing.T) {
	tests := []struct {
		name              string
		header            string
		first, last, size int64
		ok                bool
	}{
		{"match", "bytes 100-199/1000", 100, 199, 1000, true},
		{"other range", "bytes 0-99/1000", 100, 199, 1000, false},
		{"missing for a part", "", 100, 199, 1000, false},
		{"missing for the whole blob", "", 0, 999, 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkContentRange(tt.header, tt.first, tt.last, tt.size)
			if (err == nil) != tt.ok {
				t.Errorf("checkContentRange(%q) = %v, want ok %v", tt.header, err, tt.ok)
			}
		})
	}
}
