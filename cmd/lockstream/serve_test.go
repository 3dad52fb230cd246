package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunServe starts the real server on a free port, checks /healthz and
// that the catalog and master key files appear, then stops it through the
// context as SIGINT would.
func TestRunServe(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	logs, logWriter := io.Pipe()
	e := &env{
		stdout:  io.Discard,
		stderr:  logWriter,
		environ: []string{"LOCKSTREAM_ADMIN_TOKEN=" + testAdminToken},
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- e.run(ctx, []string{"serve", "--listen", "127.0.0.1:0",
			"--media", filepath.Join("..", "..", "testdata", "media"), "--data", dataDir, "--log-format", "json"})
		logWriter.Close()
	}()

	addr := waitForStart(t, logs)
	go io.Copy(io.Discard, logs)

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	for _, name := range []string{"catalog.db", "master.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Errorf("data folder lacks %s: %v", name, err)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exit code = %d, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of cancellation")
	}
}

// waitForStart reads JSON log lines until "server started" and returns
// its address.
func waitForStart(t *testing.T, logs io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "server started" {
				found <- line.Addr
				return
			}
			if strings.Contains(sc.Text(), "lockstream:") {
				found <- "failed: " + sc.Text()
				return
			}
		}
		found <- "failed: log ended"
	}()

	select {
	case addr := <-found:
		if strings.HasPrefix(addr, "failed: ") {
			t.Fatalf("serve did not start: %s", addr)
		}
		return addr
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not log \"server started\" within 30 s")
	}
	return ""
}
