package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

var (
	// ErrUnavailable reports a blob store that failed to answer after the
	// retries: connection failures, 5xx responses and throttling. The
	// origin maps it to 502 or 503.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrTimeout reports a blob store request that got no complete answer
	// within the request timeout, on every attempt. Errors wrapping it
	// also wrap context.DeadlineExceeded.
	ErrTimeout = errors.New("storage timed out")
	// ErrChanged reports a blob that was replaced after it was opened: its
	// ETag or size no longer matches. The caller re-opens the file and
	// re-indexes it, because offsets from the old version do not apply.
	ErrChanged = errors.New("file changed since it was opened")
	// ErrDenied reports a blob store that rejected the credentials or
	// their permissions (HTTP 401 or 403).
	ErrDenied = errors.New("storage denied access")
)

// RetryPolicy bounds the attempts of one store call. Attempt n (from 0)
// that fails with a retryable error waits a random delay between half
// and all of min(BaseDelay<<n, MaxDelay) before the next one, so the
// time one call can take is at most
// (MaxRetries+1)*RequestTimeout + MaxRetries*MaxDelay.
type RetryPolicy struct {
	// MaxRetries is the number of attempts after the first. Default 3.
	// A negative value turns retries off.
	MaxRetries int
	// BaseDelay is the backoff before the first retry. Default 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps each backoff. Default 2 s.
	MaxDelay time.Duration
}

const (
	defaultMaxRetries = 3
	defaultBaseDelay  = 100 * time.Millisecond
	defaultMaxDelay   = 2 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.MaxRetries == 0:
		p.MaxRetries = defaultMaxRetries
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = defaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = defaultMaxDelay
	}
	return p
}

// backoff returns the wait before retry number attempt+1: exponential
// growth with "equal jitter", so concurrent readers that failed together
// do not retry in lockstep, yet each waits at least half the step.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MaxDelay
	if attempt < 30 && p.BaseDelay<<attempt < p.MaxDelay {
		d = p.BaseDelay << attempt
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// call runs op with a per-attempt timeout and retries it while it fails
// with a retryable error. Every attempt counts as one store request.
// operation names the call in error messages, for example
// `reading bytes 0-65535 of "asset/video.mp4"`.
func (s *Blob) call(ctx context.Context, operation string, op func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", operation, err)
		}

		actx, cancel := context.WithTimeout(ctx, s.timeout)
		s.stats.requests.Add(1)
		err := op(actx)
		timedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// The caller gave up, and its context error tells why.
			return fmt.Errorf("%s: %w", operation, ctx.Err())
		}

		f := classifyFailure(err, timedOut, s.timeout)
		if !f.retry || attempt >= s.retry.MaxRetries {
			return f.wrap(operation, attempt+1)
		}

		s.stats.retries.Add(1)
		t := time.NewTimer(s.retry.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", operation, ctx.Err())
		case <-t.C:
		}
	}
}
