package main

import (
	"context"
	"errors"
	"time"
)

// A run can begin with two phases that keep its startup out of the
// latency figures. During the ramp the clients join one after another,
// as players do, instead of all sending their first requests at once.
// Requests that start during the warmup are counted, but their latencies
// go into separate histograms, so the report's latency summaries describe
// the steady state.

// rampDelay returns when client i of count starts, relative to the start
// of the run: i*ramp/count, so the last client starts one step before
// the ramp ends.
func rampDelay(i, count int, ramp time.Duration) time.Duration {
	if ramp <= 0 || count <= 0 {
		return 0
	}
	// ramp is at most maxDuration (3.6e12 ns) and i below maxConcurrency
	// (10^4), so the product fits in an int64.
	return time.Duration(int64(ramp) * int64(i) / int64(count))
}

// sleepUntil blocks until t. It returns false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// warmupStats is one client's record of the requests that started before
// the warmup ended. Their latencies are in no other histogram.
type warmupStats struct {
	requests       int64 // completed with any status, or failed in transport
	segments       int64 // media segments with a 2xx response
	latency        histogram
	segmentLatency histogram
}

func (w *warmupStats) merge(o *warmupStats) {
	w.requests += o.requests
	w.segments += o.segments
	w.latency.merge(&o.latency)
	w.segmentLatency.merge(&o.segmentLatency)
}

// record adds the latency of a 2xx response of the given kind.
func (w *warmupStats) record(kind requestKind, elapsed time.Duration) {
	w.latency.record(elapsed)
	if kind == kindSegment {
		w.segments++
		w.segmentLatency.record(elapsed)
	}
}

// warmupFor returns the record for a request that started at start: the
// client's warmup record while the warmup lasts, or nil after it and in
// runs without -warmup.
func (l *load) warmupFor(cs *clientStats, start time.Time) *warmupStats {
	if l.cfg.warmup <= 0 || !start.Before(l.warmupEnd) {
		return nil
	}
	if cs.warmup == nil {
		cs.warmup = new(warmupStats)
	}
	return cs.warmup
}

// countFailure counts a request whose transport failed, unless the run
// ended while it was in flight (err is errStop). w may be nil.
func (w *warmupStats) countFailure(err error) {
	if w != nil && !errors.Is(err, errStop) {
		w.requests++
	}
}
