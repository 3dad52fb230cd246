package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// report is the final result of a run. The JSON field names are part of
// the -json output that scripts read.
type report struct {
	Target      string `json:"target"`
	Mode        string `json:"mode"` // "manifest" or "segment"
	Concurrency int    `json:"concurrency"`
	// Pace is the -pace playback speed, 0 for unpaced clients; Buffer is
	// the -buffer segment count of paced clients.
	Pace   float64 `json:"pace"`
	Buffer int     `json:"buffer,omitempty"`
	// RampSeconds is the -ramp over which the clients started, 0 when
	// they all started at once.
	RampSeconds float64 `json:"rampSeconds,omitempty"`

	ElapsedSeconds float64          `json:"elapsedSeconds"`
	Requests       int64            `json:"requests"`
	RequestsByKind map[string]int64 `json:"requestsByKind"`
	// Canceled counts requests still in flight when the run ended; they
	// are in no other count.
	Canceled int64 `json:"canceled"`
	Segments int64 `json:"segments"`
	Bytes    int64 `json:"bytes"`

	RequestsPerSecond  float64 `json:"requestsPerSecond"`
	SegmentsPerSecond  float64 `json:"segmentsPerSecond"`
	MegabytesPerSecond float64 `json:"megabytesPerSecond"` // 10^6 bytes

	// Latencies run from sending the request to reading the last body
	// byte, over responses with a 2xx status. With -warmup they leave out
	// the requests that started during it.
	Latency        latencySummary `json:"latencyMs"`
	SegmentLatency latencySummary `json:"segmentLatencyMs"`

	// Warmup describes the requests that started during -warmup, and is
	// nil without -warmup. They are included in Requests, RequestsByKind,
	// Segments, Bytes and Errors, but not in Latency or SegmentLatency.
	Warmup *warmupReport `json:"warmup,omitempty"`

	Errors     map[string]int64 `json:"errors"`
	FirstError string           `json:"firstError,omitempty"`

	PeakRSSBytes int64 `json:"peakRssBytes,omitempty"`
	VmHWMBytes   int64 `json:"vmHwmBytes,omitempty"`
}

// latencySummary gives milliseconds.
type latencySummary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// warmupReport describes the requests that started during -warmup.
type warmupReport struct {
	Seconds        float64        `json:"seconds"`
	Requests       int64          `json:"requests"` // completed or failed, any status
	Segments       int64          `json:"segments"` // media segments with a 2xx response
	Latency        latencySummary `json:"latencyMs"`
	SegmentLatency latencySummary `json:"segmentLatencyMs"`
}

func summarize(h *histogram) latencySummary {
	return latencySummary{
		Count: h.total,
		Mean:  milliseconds(h.mean()),
		P50:   milliseconds(h.quantile(0.50)),
		P95:   milliseconds(h.quantile(0.95)),
		P99:   milliseconds(h.quantile(0.99)),
		Max:   milliseconds(time.Duration(h.max) * time.Microsecond),
	}
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l *load) buildReport(stats []*clientStats, elapsed time.Duration) *report {
	var (
		all, segments histogram
		byKind        [kindCount]int64
		segmentCount  int64
		warmup        warmupStats
	)
	for _, cs := range stats {
		all.merge(&cs.latency)
		segments.merge(&cs.segmentLatency)
		if cs.warmup != nil {
			warmup.merge(cs.warmup)
		}
		for k, n := range cs.byKind {
			byKind[k] += n
		}
		segmentCount += cs.segments
	}

	rep := &report{
		Target:         redactURL(l.cfg.target()),
		Mode:           "manifest",
		Concurrency:    l.cfg.concurrency,
		Pace:           l.cfg.pace,
		ElapsedSeconds: elapsed.Seconds(),
		Requests:       l.requests.Load(),
		RequestsByKind: make(map[string]int64),
		Canceled:       l.canceled.Load(),
		Segments:       segmentCount,
		Bytes:          l.bytes.Load(),
		Latency:        summarize(&all),
		SegmentLatency: summarize(&segments),
	}
	if l.cfg.segmentURL != nil {
		rep.Mode = "segment"
	}
	if rep.Pace > 0 {
		rep.Buffer = l.cfg.buffer
	}
	rep.RampSeconds = l.cfg.ramp.Seconds()
	if l.cfg.warmup > 0 {
		rep.Warmup = &warmupReport{
			Seconds:        l.cfg.warmup.Seconds(),
			Requests:       warmup.requests,
			Segments:       warmup.segments,
			Latency:        summarize(&warmup.latency),
			SegmentLatency: summarize(&warmup.segmentLatency),
		}
	}
	for k, n := range byKind {
		rep.RequestsByKind[kindNames[k]] = n
	}
	if secs := elapsed.Seconds(); secs > 0 {
		rep.RequestsPerSecond = float64(rep.Requests) / secs
		rep.SegmentsPerSecond = float64(rep.Segments) / secs
		rep.MegabytesPerSecond = float64(rep.Bytes) / secs / 1e6
	}

	l.mu.Lock()
	rep.Errors = maps.Clone(l.errCounts)
	if l.firstErr != nil {
		rep.FirstError = l.firstErr.Error()
	}
	l.mu.Unlock()
	return rep
}

// firstErrorSuffix returns ": first error: ..." or "".
func (r *report) firstErrorSuffix() string {
	if r.FirstError == "" {
		return ""
	}
	return "; first error: " + r.FirstError
}

func writeReport(w io.Writer, cfg *config, rep *report) error {
	if cfg.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "target       %s (%s mode)\n", rep.Target, rep.Mode)
	fmt.Fprintf(&b, "clients      %d for %.2fs (bounds: %v, %d requests)\n",
		rep.Concurrency, rep.ElapsedSeconds, cfg.duration, cfg.maxRequests)
	if rep.Pace > 0 {
		fmt.Fprintf(&b, "pacing       %g x real time after a %d-segment buffer\n", rep.Pace, rep.Buffer)
	} else {
		b.WriteString("pacing       none: each client requests the next segment at once\n")
	}
	if cfg.ramp > 0 {
		fmt.Fprintf(&b, "ramp         clients started over %v, one every %v\n",
			cfg.ramp, (cfg.ramp / time.Duration(rep.Concurrency)).Round(time.Microsecond))
	}
	fmt.Fprintf(&b, "requests     %d, %.1f/s (%s); %d in flight at the end\n",
		rep.Requests, rep.RequestsPerSecond, formatKinds(rep.RequestsByKind), rep.Canceled)
	fmt.Fprintf(&b, "segments     %d, %.1f/s\n", rep.Segments, rep.SegmentsPerSecond)
	fmt.Fprintf(&b, "throughput   %.2f MB/s (%d bytes; 1 MB = 10^6 bytes)\n", rep.MegabytesPerSecond, rep.Bytes)
	measured := ""
	if rep.Warmup != nil {
		measured = " started after the warmup"
	}
	fmt.Fprintf(&b, "latency      %s (all 2xx responses%s)\n", formatLatency(rep.Latency), measured)
	fmt.Fprintf(&b, "segments     %s (2xx media segments%s)\n", formatLatency(rep.SegmentLatency), measured)
	if w := rep.Warmup; w != nil {
		fmt.Fprintf(&b, "warmup       %d requests (%d 2xx media segments) started in the first %v: left out of the latencies above\n",
			w.Requests, w.Segments, cfg.warmup)
		fmt.Fprintf(&b, "  warmup     %s (2xx media segments that started in the warmup)\n", formatLatency(w.SegmentLatency))
	}
	fmt.Fprintf(&b, "errors       %s\n", formatErrors(rep.Errors))
	if rep.FirstError != "" {
		fmt.Fprintf(&b, "first error  %s\n", rep.FirstError)
	}
	if cfg.pid != 0 {
		fmt.Fprintf(&b, "server RSS   peak %.1f MB sampled, VmHWM %.1f MB (pid %d)\n",
			float64(rep.PeakRSSBytes)/1e6, float64(rep.VmHWMBytes)/1e6, cfg.pid)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatKinds(byKind map[string]int64) string {
	parts := make([]string, 0, len(kindNames))
	for _, name := range kindNames {
		if n := byKind[name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", name, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func formatLatency(s latencySummary) string {
	if s.Count == 0 {
		return "no responses"
	}
	return fmt.Sprintf("p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms",
		s.P50, s.P95, s.P99, s.Max, s.Mean)
}

func formatErrors(errs map[string]int64) string {
	if len(errs) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(errs))
	parts := make([]string, len(keys))
	for i, k := range keys {
		label := k
		if len(k) == 3 && k[0] >= '1' && k[0] <= '5' {
			label = "HTTP " + k
		}
		parts[i] = fmt.Sprintf("%s: %d", label, errs[k])
	}
	return strings.Join(parts, ", ")
}
