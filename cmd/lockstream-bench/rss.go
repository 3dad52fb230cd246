package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// rssSampler samples a local process's resident set size from
// /proc/PID/status while the run lasts and keeps the peak.
type rssSampler struct {
	pid    int
	cancel context.CancelFunc
	wg     sync.WaitGroup
	peak   int64 // bytes; written by the sampling goroutine only
}

func startRSSSampler(ctx context.Context, pid int, interval time.Duration) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{pid: pid, cancel: cancel}
	s.wg.Go(func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	if st, err := readRSS(s.pid); err == nil {
		s.peak = max(s.peak, st.rss)
	}
}

// stop ends the sampling and returns the peak sampled VmRSS and the
// process's VmHWM (its lifetime peak as the kernel counts it), in bytes.
// Either is 0 when the process could not be read.
func (s *rssSampler) stop() (peak, hwm int64) {
	s.cancel()
	s.wg.Wait()
	s.sample()
	st, _ := readRSS(s.pid)
	return s.peak, st.hwm
}

type memoryStatus struct {
	rss int64 // VmRSS in bytes
	hwm int64 // VmHWM in bytes
}

// readRSS reads VmRSS and VmHWM of process pid from /proc/PID/status.
func readRSS(pid int) (memoryStatus, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memoryStatus{}, fmt.Errorf("reading memory status: %w", err)
	}
	return parseProcStatus(data)
}

// parseProcStatus reads the "VmRSS:  1234 kB" and "VmHWM:" lines of a
// /proc/PID/status file (proc(5)).
func parseProcStatus(data []byte) (memoryStatus, error) {
	var (
		st       memoryStatus
		foundRSS bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst, foundRSS = &st.rss, true
		case "VmHWM":
			dst = &st.hwm
		default:
			continue
		}
		fields := bytes.Fields(value)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return memoryStatus{}, fmt.Errorf("invalid %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return memoryStatus{}, fmt.Errorf("invalid %s line %q", name, sc.Text())
		}
		*dst = kb * 1024
	}
	if !foundRSS {
		return memoryStatus{}, fmt.Errorf("no VmRSS line: the process may be a zombie or a kernel thread")
	}
	return st, nil
}
