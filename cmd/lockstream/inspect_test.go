package main

import (
	"path/filepath"
	"strings"
	"testing"
)

var sampleDir = filepath.Join("..", "..", "testdata", "media", "sample")

func TestRunInspect(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"asset folder", []string{"inspect", sampleDir}, []string{"video_416x234_200k.mp4", "video_854x480_700k.mp4", "audio_eng_96k.mp4"}},
		{"single file", []string{"inspect", filepath.Join(sampleDir, "audio_eng_96k.mp4")}, []string{"audio_eng_96k.mp4"}},
		{"flag after path", []string{"inspect", sampleDir, "--target", "2s"}, []string{"video_640x360_400k.mp4", "target 2s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, nil, tc.args...)
			if code != exitOK {
				t.Fatalf("exit code = %d, want 0 (stderr %q)", code, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestRunInspectSingleFileHidesOthers(t *testing.T) {
	code, stdout, stderr := runArgs(t, nil, "inspect", filepath.Join(sampleDir, "video_416x234_200k.mp4"))
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0 (stderr %q)", code, stderr)
	}
	if strings.Contains(stdout, "audio_eng_96k.mp4") {
		t.Errorf("inspecting one file reported another file of its folder:\n%s", stdout)
	}
}

func TestRunInspectFailures(t *testing.T) {
	notMP4 := filepath.Join(t.TempDir(), "notes.mp4")
	writeFile(t, notMP4, "this is not an MP4 file")

	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing path", filepath.Join(t.TempDir(), "absent.mp4"), "no such file or directory"},
		{"not mp4", notMP4, "notes.mp4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, nil, "inspect", tc.path)
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitFailure, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", strings.Count(stderr, "\n"), stderr)
			}
		})
	}
}
