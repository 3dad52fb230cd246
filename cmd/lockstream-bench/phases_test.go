package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRampDelay(t *testing.T) {
	tests := []struct {
		name  string
		i     int
		count int
		ramp  time.Duration
		want  time.Duration
	}{
		{"no ramp", 5, 10, 0, 0},
		{"first client", 0, 200, 10 * time.Second, 0},
		{"second client", 1, 200, 10 * time.Second, 50 * time.Millisecond},
		{"last client", 199, 200, 10 * time.Second, 9950 * time.Millisecond},
		{"uneven step", 2, 3, time.Second, 666666666 * time.Nanosecond},
		{"largest bounds", maxConcurrency - 1, maxConcurrency, maxDuration, maxDuration - maxDuration/maxConcurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rampDelay(tt.i, tt.count, tt.ramp); got != tt.want {
				t.Errorf("rampDelay(%d, %d, %v) = %v, want %v", tt.i, tt.count, tt.ramp, got, tt.want)
			}
		})
	}
}

func TestRunRampSpreadsClientStarts(t *testing.T) {
	origin := newFakeOrigin(t)
	begin := time.Now()
	// Paced at 40 x real time, each client requests a 4 s segment every
	// 100 ms, so the request bound cannot end the run before the last
	// client starts.
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "4", "-ramp", "800ms", "-d", "1500ms",
		"-n", "10000", "-pace", "40", "-buffer", "1", "-token", testToken)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if rep.RampSeconds != 0.8 {
		t.Errorf("rampSeconds = %v, want 0.8", rep.RampSeconds)
	}

	// Each client fetches the manifest once, first thing after it starts.
	starts := origin.requestTimes("/hls/master.m3u8")
	if len(starts) != 4 {
		t.Fatalf("manifest requests = %d, want 4 (one per client)", len(starts))
	}
	const step = 200 * time.Millisecond // 800ms / 4 clients
	for i, at := range starts {
		got := at.Sub(begin)
		want := time.Duration(i) * step
		// The run starts after begin, so a client can start late but
		// not early; 150 ms covers a busy machine's scheduling delay.
		if got < want || got > want+150*time.Millisecond {
			t.Errorf("client %d fetched the manifest at %v, want %v (up to 150ms later)",
				i, got.Round(time.Millisecond), want)
		}
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < step/2 {
			t.Errorf("clients %d and %d started %v apart, want about %v", i-1, i, gap.Round(time.Millisecond), step)
		}
	}
}

func TestRunWarmupExcludesEarlyRequests(t *testing.T) {
	const slowDelay = 300 * time.Millisecond
	tests := []struct {
		name   string
		warmup string
	}{
		{"without warmup", "0s"},
		{"with warmup", "700ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := newFakeOrigin(t)
			// Segments are slow for the first 700 ms. The run starts a
			// little after this, so every request that reaches the
			// server while it is slow started before the warmup ended.
			origin.slowUntil = time.Now().Add(700 * time.Millisecond)
			origin.slowDelay = slowDelay
			rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "2", "-d", "1500ms",
				"-n", "3000", "-warmup", tt.warmup, "-token", testToken)
			if code != exitOK {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
			}
			if len(rep.Errors) != 0 {
				t.Fatalf("errors = %v, want none", rep.Errors)
			}
			slowMs := milliseconds(slowDelay)

			if tt.warmup == "0s" {
				if rep.Warmup != nil {
					t.Errorf("warmup = %+v, want none without -warmup", rep.Warmup)
				}
				if rep.SegmentLatency.Max < slowMs {
					t.Errorf("segment latency max = %.1f ms, want at least %.0f ms: the slow segments belong in it",
						rep.SegmentLatency.Max, slowMs)
				}
				if rep.Latency.Count != uint64(rep.Requests) {
					t.Errorf("latency count = %d, want all %d requests", rep.Latency.Count, rep.Requests)
				}
				return
			}

			w := rep.Warmup
			if w == nil {
				t.Fatal("warmup is missing from the report")
			}
			if w.Seconds != 0.7 {
				t.Errorf("warmup seconds = %v, want 0.7", w.Seconds)
			}
			// Per client: manifest, media playlist, key and init, then
			// at least one slow segment.
			if w.Requests < 10 {
				t.Errorf("warmup requests = %d, want at least 10", w.Requests)
			}
			if w.Segments < 2 {
				t.Errorf("warmup segments = %d, want at least 2", w.Segments)
			}
			if w.SegmentLatency.Count != uint64(w.Segments) {
				t.Errorf("warmup segment latencies = %d, want one per warmup segment (%d)", w.SegmentLatency.Count, w.Segments)
			}
			if w.SegmentLatency.P50 < slowMs {
				t.Errorf("warmup segment p50 = %.1f ms, want at least %.0f ms", w.SegmentLatency.P50, slowMs)
			}
			if rep.SegmentLatency.Count == 0 {
				t.Error("segment latency count = 0, want the segments after the warmup")
			}
			if rep.SegmentLatency.Max >= slowMs {
				t.Errorf("segment latency max = %.1f ms, want below %.0f ms: a slow warmup segment was measured",
					rep.SegmentLatency.Max, slowMs)
			}
			if got := uint64(w.Requests) + rep.Latency.Count; got != uint64(rep.Requests) {
				t.Errorf("warmup requests + measured latencies = %d, want the %d requests", got, rep.Requests)
			}
			if got := w.Segments + int64(rep.SegmentLatency.Count); got != rep.Segments {
				t.Errorf("warmup segments + measured segment latencies = %d, want the %d segments", got, rep.Segments)
			}
		})
	}
}

func TestRunTextReportRampAndWarmup(t *testing.T) {
	origin := newFakeOrigin(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-url", origin.url("/hls/master.m3u8"), "-c", "2", "-ramp", "100ms", "-warmup", "200ms",
		"-d", "500ms", "-pace", "40", "-buffer", "1", "-token", testToken}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, want := range []string{
		"ramp         clients started over 100ms, one every 50ms\n",
		"(2xx media segments started after the warmup)\n",
		"started in the first 200ms: left out of the latencies above\n",
		"(2xx media segments that started in the warmup)\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestRunLoadProgressShowsPhases(t *testing.T) {
	origin := newFakeOrigin(t)
	origin.segmentDelay = time.Millisecond
	cfg, err := parseArgs([]string{"-segment-url", origin.url("/dash/high/1.m4s"), "-c", "2",
		"-ramp", "400ms", "-warmup", "300ms", "-d", "600ms"}, &bytes.Buffer{}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.progressInterval = 50 * time.Millisecond
	var progress bytes.Buffer
	if _, err := runLoad(context.Background(), cfg, &progress); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	// The second client starts at 200 ms and the warmup ends at 300 ms.
	if !strings.Contains(lines[0], "clients 1/2") {
		t.Errorf("first progress line = %q, want 'clients 1/2' while the ramp lasts", lines[0])
	}
	if !strings.Contains(lines[0], "(warmup)") {
		t.Errorf("first progress line = %q, want '(warmup)' while the warmup lasts", lines[0])
	}
	last := lines[len(lines)-1]
	if strings.Contains(last, "clients") {
		t.Errorf("last progress line = %q, want no client count after the ramp", last)
	}
	if strings.Contains(last, "(warmup)") {
		t.Errorf("last progress line = %q, want no '(warmup)' after the warmup", last)
	}
}
