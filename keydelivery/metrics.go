package keydelivery

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Endpoint label values.
const (
	endpointHLS      = "hls"
	endpointClearKey = "clearkey"
)

// Outcome label values.
const (
	outcomeGranted      = "granted"
	outcomeBadRequest   = "bad_request"
	outcomeUnauthorized = "unauthorized"
	outcomeForbidden    = "forbidden"
	outcomeNotFound     = "not_found"
	outcomeRateLimited  = "rate_limited"
	outcomeError        = "error"
)

type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics creates the counters and registers them on reg when it is
// not nil. A second Handler on the same registry shares the first one's
// counters.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lockstream_key_requests_total",
		Help: "Key delivery requests by endpoint (hls, clearkey), outcome and reason.",
	}, []string{"endpoint", "outcome", "reason"})

	if reg != nil {
		if err := reg.Register(requests); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("registering key delivery metrics: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("registering key delivery metrics: %w", err)
			}
			requests = existing
		}
	}
	return &metrics{requests: requests}, nil
}

func (m *metrics) count(endpoint, outcome, reason string) {
	m.requests.WithLabelValues(endpoint, outcome, reason).Inc()
}
