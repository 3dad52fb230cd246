package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"gocloud.dev/gcerrors"
)

// failure is one classified store error.
type failure struct {
	kind   error  // ErrNotFound, ErrChanged, ErrDenied, ErrTimeout or ErrUnavailable
	retry  bool   // whether another attempt may succeed
	detail string // what went wrong, free of URLs' query strings
	cause  error  // the driver's error, for errors.As but never printed
}

// throttleCodes are the service error codes of throttling and transient
// server faults that some S3-compatible servers and Azure send with a
// status that alone would not say so.
var throttleCodes = map[string]bool{
	"SlowDown":            true, // S3
	"ServiceUnavailable":  true, // S3
	"InternalError":       true, // S3
	"RequestTimeout":      true, // S3: the connection idled too long
	"Throttling":          true, // S3-compatible servers
	"ServerBusy":          true, // Azure
	"OperationTimedOut":   true, // Azure
	"InternalServerError": true, // Azure
}

// errETagMismatch is what a read returns when the response carries
// another ETag than the one the object was opened with, for servers that
// ignore If-Match.
var errETagMismatch = errors.New("the response is of another version of the blob")

// classifyFailure sorts a driver error into the storage sentinels and
// decides whether to retry. timedOut is set when the attempt's own
// timeout expired.
func classifyFailure(err error, timedOut bool, timeout time.Duration) failure {
	if timedOut {
		return failure{kind: ErrTimeout, retry: true, detail: fmt.Sprintf("no complete response within %s", timeout), cause: context.DeadlineExceeded}
	}
	if errors.Is(err, errETagMismatch) {
		return failure{kind: ErrChanged, detail: err.Error(), cause: err}
	}
	if errors.Is(err, errBadRange) {
		return failure{kind: ErrUnavailable, detail: err.Error(), cause: err}
	}

	status, code := responseStatus(err)
	if status != 0 {
		detail := fmt.Sprintf("HTTP status %d", status)
		if code != "" {
			detail += " (" + code + ")"
		}
		f := failure{kind: ErrUnavailable, detail: detail, cause: err}
		switch {
		case status == http.StatusPreconditionFailed || gcerrors.Code(err) == gcerrors.FailedPrecondition:
			f.kind = ErrChanged
		case status == http.StatusNotFound || gcerrors.Code(err) == gcerrors.NotFound:
			f.kind = ErrNotFound
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			f.kind = ErrDenied
		case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500, throttleCodes[code]:
			f.retry = true
		}
		return f
	}

	// No HTTP response: the connection failed or broke mid-body. A body
	// cut short must not read as a truncated file to the caller, so the
	// EOF errors are replaced rather than wrapped.
	cause := transportCause(err)
	return failure{kind: ErrUnavailable, retry: true, detail: redact(cause.Error()), cause: cause}
}

// wrap builds the error the caller sees after the given attempts.
func (f failure) wrap(operation string, attempts int) error {
	tries := "1 attempt"
	if attempts > 1 {
		tries = fmt.Sprintf("%d attempts", attempts)
	}
	return &storeError{msg: fmt.Sprintf("%s: %s after %s", operation, f.detail, tries), kind: f.kind, cause: f.cause}
}

// storeError is a classified store failure. Its message is built from
// the status, the service's error code and the redacted transport error.
// The driver's own message is left out because it may carry a response
// body.
type storeError struct {
	msg   string
	kind  error
	cause error
}

func (e *storeError) Error() string   { return e.msg + ": " + e.kind.Error() }
func (e *storeError) Unwrap() []error { return []error{e.kind, e.cause} }

// responseStatus returns the HTTP status and the service error code of a
// driver error, or 0 when no response arrived.
func responseStatus(err error) (status int, code string) {
	var azErr *azcore.ResponseError
	if errors.As(err, &azErr) {
		return azErr.StatusCode, azErr.ErrorCode
	}

	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var httpErr *smithyhttp.ResponseError
	if errors.As(err, &httpErr) {
		return httpErr.HTTPStatusCode(), code
	}
	return 0, code
}

// transportCause strips the request URL, which may carry a SAS token in
// its query, from a transport error, and turns a body cut short into a
// plain error that no caller mistakes for the end of the file.
func transportCause(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the connection closed before the response was complete")
	}
	return err
}

// secretQuery matches the query string of a URL and the SAS signature
// parameter wherever it appears.
var secretQuery = regexp.MustCompile(`(https?://[^\s"?]*)\?[^\s"]*|(?i)sig=[^&\s"]*`)

// redact removes URL query strings and SAS signatures from s.
func redact(s string) string {
	return secretQuery.ReplaceAllStringFunc(s, func(m string) string {
		if sub := secretQuery.FindStringSubmatch(m); sub[1] != "" {
			return sub[1] + "?[redacted]"
		}
		return "sig=[redacted]"
	})
}
