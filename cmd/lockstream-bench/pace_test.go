package main

import (
	"testing"
	"time"
)

// The fake presentation's HLS segments last 4 s each; its DASH video
// timeline has three 4 s segments and one 1 s segment.

func TestRunPacedHonoursPace(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		// wantPerClient is what one client fetches in the run: the
		// buffer, then one segment per interval; 0 skips the check.
		wantPerClient float64
	}{
		// -pace 40: a 4 s segment is due every 100 ms. In 700 ms: 2
		// buffered, then 6 at 100 ms to 600 ms.
		{"HLS", "/hls/master.m3u8", 8},
		// DASH's timeline mixes 4 s and 1 s segments, so only the
		// range below is checked.
		{"DASH", "/dash/manifest.mpd", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin := newFakeOrigin(t)
			start := time.Now()
			rep, code, stderr := runJSON(t, "-url", origin.url(tt.manifest), "-c", "2", "-d", "700ms",
				"-n", "1000", "-pace", "40", "-buffer", "2", "-token", testToken)
			wall := time.Since(start)
			if code != exitOK {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
			}
			if wall > 3*time.Second {
				t.Errorf("run took %v, want about 700ms", wall)
			}
			if rep.Pace != 40 || rep.Buffer != 2 {
				t.Errorf("report pace, buffer = %v, %d, want 40, 2", rep.Pace, rep.Buffer)
			}
			perClient := float64(rep.Segments) / 2
			if tt.wantPerClient > 0 && (perClient < tt.wantPerClient-1.5 || perClient > tt.wantPerClient+1) {
				t.Errorf("segments per client = %.1f, want %.0f (-1.5/+1)", perClient, tt.wantPerClient)
			}
			// Unpaced clients fetch hundreds in the same time; paced
			// ones never more than the schedule allows, even for DASH's
			// short segment.
			if perClient < 5 || perClient > 12 {
				t.Errorf("segments per client = %.1f, want 5 to 12", perClient)
			}
		})
	}
}

func TestRunPacedSpacesRequests(t *testing.T) {
	origin := newFakeOrigin(t)
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "1", "-d", "10s",
		"-n", "8", "-pace", "20", "-buffer", "3", "-token", testToken)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	// 8 requests: manifest, media playlist, key, init, 3 buffered
	// segments, then one paced segment 200 ms (4 s / 20) after the
	// buffer filled.
	if rep.Requests != 8 || rep.Segments != 4 {
		t.Errorf("requests, segments = %d, %d, want 8, 4", rep.Requests, rep.Segments)
	}
	if rep.ElapsedSeconds < 0.19 || rep.ElapsedSeconds > 2 {
		t.Errorf("elapsed = %.3fs, want about 0.2s: the fourth segment waits for one segment of playback", rep.ElapsedSeconds)
	}
}

func TestRunPacedStopsWhileWaiting(t *testing.T) {
	origin := newFakeOrigin(t)
	start := time.Now()
	// At 0.01 x real time the next segment is due after 400 s; the -d
	// bound must end the wait.
	rep, code, stderr := runJSON(t, "-url", origin.url("/hls/master.m3u8"), "-c", "3", "-d", "300ms",
		"-pace", "0.01", "-buffer", "1", "-token", testToken)
	wall := time.Since(start)
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if wall > 3*time.Second {
		t.Errorf("run took %v, want about 300ms", wall)
	}
	if rep.Segments != 3 {
		t.Errorf("segments = %d, want 3 (one buffered per client)", rep.Segments)
	}
}

func TestPacerSchedule(t *testing.T) {
	ctx := t.Context()
	var p pacer
	const seg = 30 * time.Millisecond
	start := time.Now()
	var sent []time.Duration
	for n := range 6 {
		if !p.wait(ctx, n, 2) {
			t.Fatal("wait returned false with a live context")
		}
		sent = append(sent, time.Since(start))
		p.played(seg, 1)
	}
	// Requests 0 and 1 go at once; request k >= 2 goes (k-1) segments
	// after the buffer filled.
	for n, got := range sent {
		want := time.Duration(max(n-1, 0)) * seg
		if got < want-2*time.Millisecond || got > want+25*time.Millisecond {
			t.Errorf("request %d sent at %v, want %v", n, got.Round(time.Millisecond), want)
		}
	}
}
