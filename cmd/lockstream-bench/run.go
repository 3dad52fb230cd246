package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exit codes of run.
const (
	exitOK      = 0
	exitFailure = 1 // the run could not start, or no segment was fetched
	exitUsage   = 2 // invalid flags
)

// Bounds on the flags. They catch typing mistakes; a larger test needs
// several runs or machines anyway.
const (
	maxConcurrency = 10000
	maxDuration    = time.Hour
	maxPace        = 1000
)

// tokenEnv names the environment variable that supplies the key token
// when -token is not given, so the token need not appear in the process
// list.
const tokenEnv = "LOCKSTREAM_BENCH_TOKEN"

// config is the validated configuration of one run.
type config struct {
	manifestURL *url.URL // the manifest to play, or nil with segmentURL
	segmentURL  *url.URL // the one URL to request over and over, or nil
	concurrency int
	duration    time.Duration
	maxRequests int64
	timeout     time.Duration // per request
	token       string
	rendition   rendition
	pid         int // server process to sample RSS from, or 0
	json        bool
	list        bool // print the plan's URLs instead of running

	// pace is the playback speed of paced clients as a multiple of real
	// time, or 0 for clients that fetch the next segment at once. buffer
	// is the number of segments a paced client fetches back to back
	// before pacing starts.
	pace   float64
	buffer int

	// ramp is the time over which the clients start: client i starts at
	// i*ramp/concurrency after the run began. warmup is the first part of
	// the run, whose requests stay out of the report's latency summaries.
	ramp   time.Duration
	warmup time.Duration

	// progressInterval is how often a progress line goes to stderr.
	progressInterval time.Duration
}

// target returns the URL the run starts from.
func (c *config) target() *url.URL {
	if c.segmentURL != nil {
		return c.segmentURL
	}
	return c.manifestURL
}

const usageText = `Usage: lockstream-bench -url MANIFEST_URL [flags]
       lockstream-bench -segment-url SEGMENT_URL [flags]

Behaves like -c streaming players. Each fetches the manifest (an HLS
multivariant or media playlist, or a DASH MPD), picks a rendition, fetches
the content key once with -token when the stream is encrypted, fetches the
init segment once and then walks the media segments in a loop. With
-segment-url, each client requests that one URL over and over instead.
The run stops after -d or after -n requests, whichever comes first.
With -ramp the clients join one after another instead of all at once,
and with -warmup the requests of the run's first part are reported
separately, so the latency figures show the steady state.

Requests go only to the host of the given URL and to loopback addresses;
a manifest that points anywhere else stops the run.

Flags:
`

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stdout, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lockstream-bench: %v\n", err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.list {
		if err := listPlan(ctx, cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "lockstream-bench: %v\n", err)
			return exitFailure
		}
		return exitOK
	}

	rep, err := runLoad(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lockstream-bench: %v\n", err)
		return exitFailure
	}
	if err := writeReport(stdout, cfg, rep); err != nil {
		fmt.Fprintf(stderr, "lockstream-bench: writing the report: %v\n", err)
		return exitFailure
	}
	if rep.Segments == 0 {
		fmt.Fprintf(stderr, "lockstream-bench: no segment was fetched%s\n", rep.firstErrorSuffix())
		return exitFailure
	}
	return exitOK
}

// parseArgs parses and validates the flags. -h prints the usage to stdout
// and returns flag.ErrHelp.
func parseArgs(args []string, stdout io.Writer, getenv func(string) string) (*config, error) {
	var (
		manifestURL, segmentURL, rend string
		cfg                           = config{progressInterval: time.Second}
	)
	fs := flag.NewFlagSet("lockstream-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&manifestURL, "url", "", "manifest `URL`: HLS multivariant or media playlist, or DASH MPD")
	fs.StringVar(&segmentURL, "segment-url", "", "request this one `URL` over and over, as wrk does, instead of playing a manifest")
	fs.IntVar(&cfg.concurrency, "c", 10, "number of virtual clients, each with one request in flight")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "run `duration`, at most 1h")
	fs.Int64Var(&cfg.maxRequests, "n", 1_000_000, "maximum `number` of requests, counting manifests, playlists and keys")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "`duration` allowed for one request, body included")
	fs.StringVar(&cfg.token, "token", "", "JWT sent as 'Authorization: Bearer' on key requests; default: environment "+tokenEnv)
	fs.StringVar(&rend, "rendition", "highest", "video rendition to play: highest or lowest bandwidth, or a 0-based `index` in manifest order")
	fs.IntVar(&cfg.pid, "pid", 0, "`PID` of a local server whose resident memory (VmRSS) is sampled during the run")
	fs.BoolVar(&cfg.json, "json", false, "print the final report as JSON")
	fs.Float64Var(&cfg.pace, "pace", 0, "play at this `speed` as a multiple of real time: after -buffer segments, each client requests a segment every segment duration divided by the speed, as a player with a full buffer does; 0 requests the next segment at once")
	fs.IntVar(&cfg.buffer, "buffer", 3, "`number` of segments a paced client fetches back to back first, to fill its buffer")
	fs.DurationVar(&cfg.ramp, "ramp", 0, "start the clients spread evenly over this `duration` (client i starts at i*ramp/c), as players joining over time; 0 starts all at once")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "report requests that start within this `duration` from the run's start separately and keep them out of the latency figures; 0 measures the whole run")
	fs.BoolVar(&cfg.list, "list", false, "fetch the manifest once, print the key, init and segment URLs of the rendition, one per line, and exit")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, fmt.Errorf("%v (run 'lockstream-bench -h' for the flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: give the URL with -url", fs.Arg(0))
	}
	if cfg.token == "" {
		cfg.token = getenv(tokenEnv)
	}

	var err error
	switch {
	case manifestURL == "" && segmentURL == "":
		return nil, errors.New("missing -url: give a manifest URL, or -segment-url")
	case manifestURL != "" && segmentURL != "":
		return nil, errors.New("-url and -segment-url exclude each other: give one")
	case manifestURL != "":
		cfg.manifestURL, err = parseTargetURL("-url", manifestURL)
	default:
		cfg.segmentURL, err = parseTargetURL("-segment-url", segmentURL)
	}
	if err != nil {
		return nil, err
	}
	if cfg.rendition, err = parseRendition(rend); err != nil {
		return nil, err
	}
	if cfg.pace > 0 && cfg.segmentURL != nil {
		return nil, errors.New("-pace needs a manifest -url, whose segment durations set the pace, not -segment-url")
	}
	if cfg.list && cfg.segmentURL != nil {
		return nil, errors.New("-list needs a manifest -url, not -segment-url")
	}
	if err := cfg.validateBounds(); err != nil {
		return nil, err
	}
	if cfg.pid != 0 {
		if _, err := readRSS(cfg.pid); err != nil {
			return nil, fmt.Errorf("invalid -pid %d: %w", cfg.pid, err)
		}
	}
	return &cfg, nil
}

func (c *config) validateBounds() error {
	switch {
	case c.concurrency < 1 || c.concurrency > maxConcurrency:
		return fmt.Errorf("invalid -c %d: want 1 to %d clients", c.concurrency, maxConcurrency)
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("invalid -d %v: want a duration above 0 and at most %v", c.duration, maxDuration)
	case c.maxRequests < 1:
		return fmt.Errorf("invalid -n %d: want at least 1 request", c.maxRequests)
	case c.timeout <= 0:
		return fmt.Errorf("invalid -timeout %v: want a duration above 0", c.timeout)
	case c.pace < 0 || c.pace > maxPace || c.pace != c.pace:
		return fmt.Errorf("invalid -pace %v: want 0 (unpaced) or a speed above 0 and at most %d", c.pace, maxPace)
	case c.buffer < 0 || c.buffer > maxSegments:
		return fmt.Errorf("invalid -buffer %d: want 0 to %d segments", c.buffer, maxSegments)
	case c.ramp < 0 || (c.ramp > 0 && c.ramp >= c.duration):
		return fmt.Errorf("invalid -ramp %v: want 0 or a duration below -d %v, so that every client starts", c.ramp, c.duration)
	case c.warmup < 0 || (c.warmup > 0 && c.warmup >= c.duration):
		return fmt.Errorf("invalid -warmup %v: want 0 or a duration below -d %v, so that some requests are measured", c.warmup, c.duration)
	case c.pid < 0:
		return fmt.Errorf("invalid -pid %d: want a process ID", c.pid)
	}
	return nil
}

func parseTargetURL(flagName, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid %s %q: %w", flagName, s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid %s %q: want an absolute http:// or https:// URL", flagName, s)
	}
	return u, nil
}

// rendition selects one video rendition of a manifest.
type rendition struct {
	mode  renditionMode
	index int // with renditionIndex
}

type renditionMode int

const (
	renditionHighest renditionMode = iota
	renditionLowest
	renditionIndex
)

func parseRendition(s string) (rendition, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "highest":
		return rendition{mode: renditionHighest}, nil
	case "lowest":
		return rendition{mode: renditionLowest}, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return rendition{}, fmt.Errorf("invalid -rendition %q: want highest, lowest or an index from 0", s)
	}
	return rendition{mode: renditionIndex, index: i}, nil
}

// pick returns the position in bandwidths of the selected rendition.
func (r rendition) pick(bandwidths []int64) (int, error) {
	if len(bandwidths) == 0 {
		return 0, errors.New("the manifest lists no rendition")
	}
	switch r.mode {
	case renditionIndex:
		if r.index >= len(bandwidths) {
			return 0, fmt.Errorf("-rendition %d is out of range: the manifest lists %d renditions (0 to %d)",
				r.index, len(bandwidths), len(bandwidths)-1)
		}
		return r.index, nil
	case renditionLowest:
		best := 0
		for i, b := range bandwidths {
			if b < bandwidths[best] {
				best = i
			}
		}
		return best, nil
	}
	best := 0
	for i, b := range bandwidths {
		if b > bandwidths[best] {
			best = i
		}
	}
	return best, nil
}
