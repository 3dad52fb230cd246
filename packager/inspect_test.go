package packager

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestInspectSampleAsset(t *testing.T) {
	r, err := Inspect(context.Background(), newDirOpener(sampleDir), "sample", 6*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan == nil || r.Plan.SegmentCount() != 2 {
		t.Fatalf("got plan %v (%s), want 2 segments", r.Plan, r.PlanError)
	}
	v := r.Tracks[0]
	if !v.GOP.Fixed || v.GOP.MinFrames != 48 || !v.BFrames || !v.Edit.Present {
		t.Errorf("video report %+v: want a fixed 48-frame GOP, B-frames and an edit list", v.GOP)
	}
	// B-frames and an edit list are normal encoder output, so they are
	// notes; the sample has fixed, aligned GOPs and nothing to warn about.
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q, want none for the sample", r.Warnings)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"has B-frames", "edit list applied"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}

	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "inspect_sample.txt")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	// x264 output changes between runs of the sample script, so only the
	// lines that do not depend on exact sizes are compared.
	for _, line := range strings.Split(string(want), "\n") {
		if strings.Contains(line, "k ") || strings.Contains(line, "_") && strings.Contains(line, "avc1") {
			continue
		}
		if !strings.Contains(buf.String(), line) {
			t.Errorf("report lacks line %q; got:\n%s", line, buf.String())
		}
	}
}

func TestInspectMisaligned(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-sc_threshold", "0"}
	ffmpeg(t, append(append([]string{}, src...), "-g", "50", "-keyint_min", "50", filepath.Join(dir, "a.mp4"))...)
	ffmpeg(t, append(append([]string{}, src...), "-g", "40", "-keyint_min", "40", filepath.Join(dir, "b.mp4"))...)

	r, err := Inspect(context.Background(), newDirOpener(dir), "mis", 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan != nil {
		t.Fatal("got a plan for misaligned renditions")
	}
	text := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"not aligned", "a.mp4", "b.mp4", "1.600 s"} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings %q lack %q", text, want)
		}
	}
}
