package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// retryDelay is how long a client waits before it fetches the manifest
// again after an HTTP or network failure, as a player would.
const retryDelay = 100 * time.Millisecond

// load is the state that the virtual clients of one run share.
type load struct {
	cfg     *config
	client  *http.Client
	hosts   hostPolicy
	buffers sync.Pool // *[]byte of readBufferSize
	plans   planCache

	// start is when the run began, and warmupEnd is start plus -warmup.
	// Both are set before the clients start and only read after that.
	start     time.Time
	warmupEnd time.Time

	// budget is the number of requests still allowed; send takes one
	// before each request, so exactly -n requests go out at most.
	budget atomic.Int64

	// Counters read by the progress line while clients run.
	requests atomic.Int64 // completed, including failed ones
	bytes    atomic.Int64
	errors   atomic.Int64
	canceled atomic.Int64 // in flight when the run ended
	started  atomic.Int64 // clients past their ramp delay

	mu        sync.Mutex
	errCounts map[string]int64 // by status code, or "transport" or "invalid key response"
	firstErr  error
}

// clientStats is the record of one virtual client. The run merges them
// at the end, so recording takes no lock.
type clientStats struct {
	byKind         [kindCount]int64
	segments       int64 // media segments with a 2xx response
	latency        histogram
	segmentLatency histogram

	// warmup records the requests that started during -warmup. It is nil
	// until the client sends the first of them.
	warmup *warmupStats
}

// fatalError is a failure that no retry can fix, such as a manifest that
// does not parse or points at a rejected host. It ends the run.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatalf(format string, args ...any) error {
	return &fatalError{err: fmt.Errorf(format, args...)}
}

// runLoad runs the virtual clients until a bound is reached and returns
// the report.
func runLoad(ctx context.Context, cfg *config, progress io.Writer) (*report, error) {
	l := newLoad(cfg)
	defer l.client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	var rss *rssSampler
	if cfg.pid != 0 {
		rss = startRSSSampler(ctx, cfg.pid, 100*time.Millisecond)
	}

	start := time.Now()
	l.start, l.warmupEnd = start, start.Add(cfg.warmup)
	stopProgress := l.startProgress(progress, start)
	stats, fatal := l.runClients(ctx, cancel)
	elapsed := time.Since(start)
	stopProgress()

	if fatal != nil {
		return nil, fatal
	}
	rep := l.buildReport(stats, elapsed)
	if rss != nil {
		rep.PeakRSSBytes, rep.VmHWMBytes = rss.stop()
	}
	return rep, nil
}

func newLoad(cfg *config) *load {
	hosts := newHostPolicy(cfg.target())
	l := &load{
		cfg:       cfg,
		client:    newHTTPClient(cfg, hosts),
		hosts:     hosts,
		errCounts: make(map[string]int64),
	}
	l.buffers.New = func() any {
		b := make([]byte, readBufferSize)
		return &b
	}
	l.budget.Store(cfg.maxRequests)
	return l
}

// listPlan fetches the manifest once and writes the URLs that a client
// would fetch after it, one per line: "key METHOD URL", "init URL" and
// "segment URL". Scripts use it to pick a segment for single-URL tests.
func listPlan(ctx context.Context, cfg *config, w io.Writer) error {
	l := newLoad(cfg)
	defer l.client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	p, err := l.loadPlan(ctx, new(clientStats))
	if errors.Is(err, errStop) {
		return fmt.Errorf("fetching the manifest: the -d or -n bound was reached first")
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, k := range p.keys {
		fmt.Fprintf(&b, "key %s %s\n", k.method, k.url)
	}
	if p.init.url != "" {
		fmt.Fprintf(&b, "init %s\n", p.init.url)
	}
	for _, s := range p.segments {
		fmt.Fprintf(&b, "segment %s\n", s.url)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// runClients starts cfg.concurrency clients and waits for all of them. The
// first fatal error cancels the others and is returned.
func (l *load) runClients(ctx context.Context, cancel context.CancelFunc) ([]*clientStats, error) {
	stats := make([]*clientStats, l.cfg.concurrency)
	var (
		wg       sync.WaitGroup
		fatalMu  sync.Mutex
		fatalErr error
	)
	for i := range stats {
		stats[i] = new(clientStats)
		wg.Go(func() {
			err := l.runClient(ctx, i, stats[i])
			var fe *fatalError
			if errors.As(err, &fe) {
				fatalMu.Lock()
				if fatalErr == nil {
					fatalErr = err
				}
				fatalMu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return stats, fatalErr
}

// runClient is one virtual client. It returns nil when the run ends, or a
// *fatalError.
func (l *load) runClient(ctx context.Context, id int, cs *clientStats) error {
	if !sleepUntil(ctx, l.start.Add(rampDelay(id, l.cfg.concurrency, l.cfg.ramp))) {
		return nil
	}
	l.started.Add(1)

	if l.cfg.segmentURL != nil {
		req := request{kind: kindSegment, method: http.MethodGet, url: l.cfg.segmentURL.String()}
		for {
			if _, err := l.send(ctx, cs, req, false); errors.Is(err, errStop) {
				return nil
			}
		}
	}

	p, err := l.setup(ctx, cs)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	l.fetchKeys(ctx, cs, p)
	if p.init.url != "" {
		req := request{kind: kindInit, method: http.MethodGet, url: p.init.url, byteRange: p.init.byteRange}
		if _, err := l.send(ctx, cs, req, false); errors.Is(err, errStop) {
			return nil
		}
	}

	// Clients start at different segments, as players that joined at
	// different times would, so not all of them ask for the same one.
	var pacer pacer
	for n, i := 0, id%len(p.segments); ; n, i = n+1, (i+1)%len(p.segments) {
		seg := p.segments[i]
		if l.cfg.pace > 0 && !pacer.wait(ctx, n, l.cfg.buffer) {
			return nil
		}
		req := request{kind: kindSegment, method: http.MethodGet, url: seg.url, byteRange: seg.byteRange}
		if _, err := l.send(ctx, cs, req, false); errors.Is(err, errStop) {
			return nil
		}
		pacer.played(seg.duration, l.cfg.pace)
	}
}

// pacer spaces one paced client's segment requests as a player with a
// full buffer does. The client fetches the first buffer segments back to
// back and starts playback. From then on it requests the next segment
// each time playback has used up one more segment duration divided by
// the playback speed, so the buffer stays at about buffer segments. A request that
// comes back late does not shift the schedule, so the client catches up
// as a player refilling its buffer would.
type pacer struct {
	due     time.Time     // when the next request may go, once pacing started
	pending time.Duration // played media not yet added to due
	last    time.Duration // the last requested segment's share of pending
}

// wait blocks until segment request n (0-based) may go. It returns false
// when ctx ends first.
func (p *pacer) wait(ctx context.Context, n, buffer int) bool {
	if n < buffer {
		return true
	}
	if p.due.IsZero() {
		// The buffer is full and playback starts now; the next segment
		// is due when the first buffered one has played.
		p.due, p.pending = time.Now(), p.last
	}
	p.due = p.due.Add(p.pending)
	p.pending = 0
	return sleepUntil(ctx, p.due)
}

// played records that a segment of duration d was requested; the next
// request waits d/pace after this one's due time.
func (p *pacer) played(d time.Duration, pace float64) {
	if pace > 0 {
		p.last = time.Duration(float64(d) / pace)
		p.pending += p.last
	}
}

// setup fetches the manifest, and the media playlist for HLS, until it
// has a segment plan. Server errors (5xx, 408, 429) and network failures
// are retried after retryDelay, as a player would. Other 4xx statuses and
// a manifest that does not parse are a *fatalError: no retry can fix them.
func (l *load) setup(ctx context.Context, cs *clientStats) (*plan, error) {
	for {
		p, err := l.loadPlan(ctx, cs)
		var (
			fe *fatalError
			se *statusError
		)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, errStop), errors.As(err, &fe):
			return nil, err
		case errors.As(err, &se) && se.code >= 400 && se.code < 500 &&
			se.code != http.StatusRequestTimeout && se.code != http.StatusTooManyRequests:
			return nil, &fatalError{err: err}
		}

		timer := time.NewTimer(retryDelay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, errStop
		case <-timer.C:
		}
	}
}

// countError counts a failure under key and keeps the first one for the
// report.
func (l *load) countError(key string, err error) {
	l.errors.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errCounts[key]++
	if l.firstErr == nil {
		l.firstErr = err
	}
}

// startProgress prints a progress line to w every cfg.progressInterval
// until the returned function is called.
func (l *load) startProgress(w io.Writer, start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(l.cfg.progressInterval)
		defer ticker.Stop()
		var lastBytes int64
		last := start
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				total := l.bytes.Load()
				rate := float64(total-lastBytes) / now.Sub(last).Seconds() / 1e6
				fmt.Fprintf(w, "lockstream-bench: %6.1fs  requests %d  %.1f MB/s  errors %d%s\n",
					now.Sub(start).Seconds(), l.requests.Load(), rate, l.errors.Load(), l.phaseNote(now))
				lastBytes, last = total, now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// phaseNote returns the progress line's note on the startup phases at
// now: how many clients have started while the ramp lasts, and whether
// the warmup is still on.
func (l *load) phaseNote(now time.Time) string {
	var note string
	if started := l.started.Load(); l.cfg.ramp > 0 && started < int64(l.cfg.concurrency) {
		note += fmt.Sprintf("  clients %d/%d", started, l.cfg.concurrency)
	}
	if l.cfg.warmup > 0 && now.Before(l.warmupEnd) {
		note += "  (warmup)"
	}
	return note
}
