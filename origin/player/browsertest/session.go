package browsertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds each wait of a session. A 12 s stream needs about
	// 6 s of real time to pass MinTime, plus browser start and buffering, which
	// took 6 to 13 s in total on a 2-core machine. A refused key ends in an
	// error state sooner.
	DefaultTimeout = 60 * time.Second

	// DefaultMinTime is the playback position that counts as "it played":
	// past the first segments, so at least one segment boundary and the key
	// or license exchange are behind the player.
	DefaultMinTime = 5.5

	pollInterval = 250 * time.Millisecond

	// maxDiagnostics bounds the console and network lines kept per session.
	maxDiagnostics = 200
)

// ErrTimeout is wrapped by the error of a wait that ran out of time before
// the page reached the state waited for.
var ErrTimeout = errors.New("timed out")

// Options configures a browser session. The zero value works.
type Options struct {
	// ExecPath is the Chromium executable; empty means Find(t).
	ExecPath string

	// Timeout bounds each wait (playing, a rendition switch, the end);
	// zero means DefaultTimeout.
	Timeout time.Duration

	// MinTime is the currentTime in seconds that counts as played; zero
	// means DefaultMinTime.
	MinTime float64

	// RequireAudio also requires webkitAudioDecodedByteCount > 0, which shows
	// that audio, encrypted or not, was decoded.
	RequireAudio bool

	// Secrets are removed from the captured console and network lines, in
	// addition to anything shaped like a JWT, a bearer value or a token
	// query parameter.
	Secrets []string
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o Options) minTime() float64 {
	if o.MinTime > 0 {
		return o.MinTime
	}
	return DefaultMinTime
}

// Session is one headless Chromium with the player page open in one tab.
// Its methods must not be called concurrently.
type Session struct {
	opts    Options
	started time.Time // start of the last page load

	// ctx is the chromedp context of the tab; chromedp keeps the browser
	// handle in it, so the session has to carry it between calls.
	ctx    context.Context
	cancel context.CancelFunc

	redactor redactor

	mu       sync.Mutex
	console  []string
	failures []string
	urls     map[network.RequestID]string
}

// Open starts Chromium with the flags this project tests with, opens pageURL
// and starts collecting console messages and failed requests. The browser
// stops when Close is called, when ctx ends, or at the end of the test.
func Open(ctx context.Context, t testing.TB, pageURL string, opts Options) (*Session, error) {
	t.Helper()

	execPath := opts.ExecPath
	if execPath == "" {
		execPath = Find(t)
	}

	// Exactly the flags the project's client notes were measured with; a
	// fresh profile per session so no cache or license state carries over.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)

	s := &Session{
		opts:     opts,
		started:  time.Now(),
		ctx:      tabCtx,
		redactor: redactor{secrets: opts.Secrets},
		urls:     make(map[network.RequestID]string),
		cancel: func() {
			cancelTab()
			cancelAlloc()
		},
	}
	t.Cleanup(s.Close)

	// The first action starts the browser with the lifetime of tabCtx; later
	// waits derive their timeouts from it without ending the browser.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1000, 900)); err != nil {
		s.Close()
		return nil, fmt.Errorf("starting Chromium %q: %w", execPath, err)
	}
	if err := s.listen(); err != nil {
		s.Close()
		return nil, err
	}

	if err := s.Navigate(pageURL); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Navigate opens another page in the same tab, for example the next stream
// of a table test, without starting a new browser. The console and network
// lines of earlier pages stay in later Results.
func (s *Session) Navigate(pageURL string) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.timeout())
	defer cancel()

	s.started = time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		return fmt.Errorf("opening player page %s: %w", s.redactor.redact(pageURL), err)
	}
	return nil
}

// Context returns the chromedp context of the session's tab, for checks this
// package has no helper for:
//
//	text, err := chromedp.Run(s.Context(), chromedp.Evaluate[string](`document.body.innerText`))
func (s *Session) Context() context.Context {
	return s.ctx
}

// Close stops the browser. It is safe to call more than once.
func (s *Session) Close() {
	s.cancel()
}

// listen records console messages, responses with an error status and
// failed requests, redacted, for Result.
func (s *Session) listen() error {
	messages := chromedp.Console(s.ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			s.addLine(&s.console, fmt.Sprintf("%s: %s", m.Type, m.Text))
		}
	}()

	err := chromedp.Listen(s.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			s.mu.Lock()
			s.urls[ev.RequestID] = ev.Request.Method + " " + ev.Request.URL
			s.mu.Unlock()
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				s.addLine(&s.failures, fmt.Sprintf("%s: HTTP %d", s.requestName(ev.RequestID, ev.Response.URL), ev.Response.Status))
			}
		case *network.EventLoadingFailed:
			line := fmt.Sprintf("%s: %s", s.requestName(ev.RequestID, ""), ev.ErrorText)
			if ev.Canceled {
				line += " (canceled by the page)"
			}
			if ev.BlockedReason != "" {
				line += fmt.Sprintf(" (blocked: %s)", ev.BlockedReason)
			}
			if ev.CorsErrorStatus != nil {
				line += fmt.Sprintf(" (CORS: %s)", ev.CorsErrorStatus.CorsError)
			}
			s.addLine(&s.failures, line)
		}
	})
	if err != nil {
		return fmt.Errorf("listening to browser events: %w", err)
	}
	return nil
}

func (s *Session) requestName(id network.RequestID, fallback string) string {
	s.mu.Lock()
	defer s.mu.Unlock()

	if name, ok := s.urls[id]; ok {
		return name
	}
	return fallback
}

func (s *Session) addLine(dst *[]string, line string) {
	line = s.redactor.redact(line)

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*dst) < maxDiagnostics {
		*dst = append(*dst, line)
	}
}

func (s *Session) diagnostics() (console, failures []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.console...), append([]string(nil), s.failures...)
}
