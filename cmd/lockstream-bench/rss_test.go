package main

import (
	"strings"
	"testing"
)

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name     string
		status   string
		wantRSS  int64
		wantHWM  int64
		wantFail string
	}{
		{"both", "Name:\tlockstream\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t8\n", 10240 * 1024, 20480 * 1024, ""},
		{"no HWM", "VmRSS:\t1 kB\n", 1024, 0, ""},
		{"zombie", "Name:\tx\nState:\tZ (zombie)\n", 0, 0, "no VmRSS line"},
		{"bad unit", "VmRSS:\t10 MB\n", 0, 0, "invalid VmRSS line"},
		{"bad number", "VmRSS:\tten kB\n", 0, 0, "invalid VmRSS line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseProcStatus([]byte(tt.status))
			if tt.wantFail != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantFail) {
					t.Errorf("error = %v, want %q", err, tt.wantFail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.rss != tt.wantRSS || st.hwm != tt.wantHWM {
				t.Errorf("rss, hwm = %d, %d; want %d, %d", st.rss, st.hwm, tt.wantRSS, tt.wantHWM)
			}
		})
	}
}
