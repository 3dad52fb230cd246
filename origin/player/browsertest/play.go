package browsertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Rendition is one entry of the page's rendition list.
type Rendition struct {
	Index   int `json:"index"`
	Width   int `json:"width"`
	Height  int `json:"height"`
	Bitrate int `json:"bitrate"`
}

// Status is one reading of window.lockstreamPlayer and the <video> element.
type Status struct {
	// From window.lockstreamPlayer.
	State      string      `json:"state"`     // loading, playing, paused, ended, error, idle
	Error      string      `json:"error"`     // the sentence the page shows
	ErrorCode  string      `json:"errorCode"` // key_denied, key_load, manifest_load, segment_load, drm, media_decode, ...
	KeyStatus  int         `json:"keyStatus"` // last HTTP status of a key or license request, 0 if none
	Player     string      `json:"player"`    // library and version, e.g. "hls.js 1.7.4"
	Format     string      `json:"format"`    // hls, dash or smooth
	Rendition  *Rendition  `json:"rendition"`
	Renditions []Rendition `json:"renditions"`

	// From the video element.
	CurrentTime   float64 `json:"currentTime"`
	Duration      float64 `json:"duration"`
	Ended         bool    `json:"ended"`
	Frames        int     `json:"frames"`        // getVideoPlaybackQuality().totalVideoFrames
	DroppedFrames int     `json:"droppedFrames"` // getVideoPlaybackQuality().droppedVideoFrames
	AudioBytes    int     `json:"audioBytes"`    // webkitAudioDecodedByteCount
	VideoWidth    int     `json:"videoWidth"`
	VideoHeight   int     `json:"videoHeight"`
}

// Result is the outcome of a wait: the last status, a screenshot and the
// diagnostics for a failure message.
type Result struct {
	Status

	// Played reports that currentTime passed Options.MinTime with decoded
	// video frames (and decoded audio with Options.RequireAudio).
	Played bool

	// Elapsed is the time from the start of the last page load (Open or
	// Navigate) to the end of the wait; browser start-up is not included.
	Elapsed time.Duration

	// Screenshot is a PNG of the page at the end of the wait; nil if the
	// capture failed.
	Screenshot []byte

	// Console holds the page's console messages and NetworkFailures the
	// requests that failed or returned an HTTP error, with tokens redacted.
	Console         []string
	NetworkFailures []string
}

// Summary returns a one-paragraph description for test failure messages.
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "player %q, state %q, currentTime %.2f of %.2f s, %d frames, %d audio bytes, keyStatus %d",
		r.Player, r.State, r.CurrentTime, r.Duration, r.Frames, r.AudioBytes, r.KeyStatus)
	if r.Error != "" {
		fmt.Fprintf(&b, ", error %q (%s)", r.Error, r.ErrorCode)
	}
	if len(r.NetworkFailures) > 0 {
		fmt.Fprintf(&b, "\nfailed requests:\n  %s", strings.Join(r.NetworkFailures, "\n  "))
	}
	if len(r.Console) > 0 {
		fmt.Fprintf(&b, "\nconsole:\n  %s", strings.Join(r.Console, "\n  "))
	}
	return b.String()
}

// statusScript reads the page state as one JSON-friendly object.
const statusScript = `(() => {
  const p = window.lockstreamPlayer || {};
  const v = document.getElementById('video');
  const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {
    state: p.state || '',
    error: p.error || '',
    errorCode: p.errorCode || '',
    keyStatus: p.keyStatus || 0,
    player: p.player || '',
    format: p.format || '',
    rendition: p.rendition || null,
    renditions: p.renditions || [],
    currentTime: v ? v.currentTime : 0,
    duration: v && isFinite(v.duration) ? v.duration : 0,
    ended: v ? v.ended : false,
    frames: q ? q.totalVideoFrames : 0,
    droppedFrames: q ? q.droppedVideoFrames : 0,
    audioBytes: v ? (v.webkitAudioDecodedByteCount || 0) : 0,
    videoWidth: v ? v.videoWidth : 0,
    videoHeight: v ? v.videoHeight : 0,
  };
})()`

// Play opens pageURL, waits until the stream plays or the page reports an
// error, and closes the browser. A page error is an observation, not a
// failure of Play: err is nil and Result.State is "error". err is non-nil
// when the browser or page could not be driven, or wraps ErrTimeout when
// neither happened within Options.Timeout; Result is filled in either case.
func Play(ctx context.Context, t testing.TB, pageURL string, opts Options) (Result, error) {
	t.Helper()

	s, err := Open(ctx, t, pageURL, opts)
	if err != nil {
		return Result{}, err
	}
	defer s.Close()
	return s.WaitPlaying()
}

// Status reads the page state once.
func (s *Session) Status() (Status, error) {
	st, err := chromedp.Run(s.ctx, chromedp.Evaluate[Status](statusScript))
	if err != nil {
		return Status{}, fmt.Errorf("reading player status: %w", err)
	}
	return st, nil
}

// WaitPlaying waits until the stream played (see Result.Played) or the page
// reports an error.
func (s *Session) WaitPlaying() (Result, error) {
	return s.waitFor("playback", func(st Status) bool {
		return s.played(st) || st.State == "error"
	})
}

func (s *Session) played(st Status) bool {
	if st.CurrentTime <= s.opts.minTime() || st.Frames <= 0 {
		return false
	}
	return !s.opts.RequireAudio || st.AudioBytes > 0
}

// SwitchRendition selects rendition index, an index into Status.Renditions
// (-1 restores automatic selection). It waits until the page reports that
// rendition as the current one and playback has moved on by one second, or
// until the page reports an error.
func (s *Session) SwitchRendition(index int) (Result, error) {
	before, err := s.Status()
	if err != nil {
		return Result{}, err
	}
	if index >= len(before.Renditions) {
		return Result{}, fmt.Errorf("switching to rendition %d: the page lists %d renditions", index, len(before.Renditions))
	}

	ok, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`window.lockstreamPlayer.setRendition(%d)`, index)))
	if err != nil {
		return Result{}, fmt.Errorf("switching to rendition %d: %w", index, err)
	}
	if !ok {
		return Result{}, fmt.Errorf("switching to rendition %d: the page rejected the index", index)
	}

	start := before.CurrentTime
	return s.waitFor(fmt.Sprintf("rendition %d", index), func(st Status) bool {
		if st.State == "error" {
			return true
		}
		if index >= 0 && (st.Rendition == nil || st.Rendition.Index != index) {
			return false
		}
		return st.CurrentTime > start+1 && !st.Ended
	})
}

// PlayToEnd seeks to two seconds before the end and waits for the ended
// event, or an error. It needs a known duration, so call it after
// WaitPlaying.
func (s *Session) PlayToEnd() (Result, error) {
	st, err := s.Status()
	if err != nil {
		return Result{}, err
	}
	if st.Duration <= 0 {
		return Result{}, errors.New("seeking to the end: the stream reports no duration (live or not loaded)")
	}

	target := max(st.Duration-2, 0)
	if err := chromedp.Do(s.ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.lockstreamPlayer.seek(%f)`, target))); err != nil {
		return Result{}, fmt.Errorf("seeking to %.2f s: %w", target, err)
	}
	return s.waitFor("the ended event", func(st Status) bool {
		return (st.Ended && st.State == "ended") || st.State == "error"
	})
}

// waitFor polls the page until done returns true or the timeout passes, then
// returns the last status with a screenshot and the diagnostics.
func (s *Session) waitFor(what string, done func(Status) bool) (Result, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.timeout())
	defer cancel()

	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()

	var last Status
	for {
		st, err := s.Status()
		if err == nil {
			last = st
			if done(st) {
				return s.result(last), nil
			}
		}

		select {
		case <-ctx.Done():
			res := s.result(last)
			if s.ctx.Err() != nil {
				return res, fmt.Errorf("waiting for %s: browser closed: %w", what, s.ctx.Err())
			}
			return res, fmt.Errorf("waiting for %s: %w after %s (%s)", what, ErrTimeout, s.opts.timeout(), res.Summary())
		case <-ticker.C:
		}
	}
}

func (s *Session) result(st Status) Result {
	res := Result{
		Status:  st,
		Played:  s.played(st),
		Elapsed: time.Since(s.started),
	}
	res.Console, res.NetworkFailures = s.diagnostics()

	// The screenshot gets its own short deadline so that a hung renderer
	// cannot stretch a wait that already ran out of time.
	shotCtx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(shotCtx, chromedp.CaptureScreenshot()); err == nil {
		res.Screenshot = png
	}
	return res
}
