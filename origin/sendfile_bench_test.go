package origin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServeSegmentLoopback measures one segment request at a time
// over a loopback TCP connection with keep-alive, client included. Only
// a TCP connection lets net/http send a file-backed body with
// sendfile(2), which BenchmarkServeSegment's in-memory writer cannot
// show.
func BenchmarkServeSegmentLoopback(b *testing.B) {
	o := newBenchOrigin(b)
	ts := httptest.NewServer(o.handler)
	b.Cleanup(ts.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	b.Cleanup(client.CloseIdleConnections)

	for _, c := range segmentCases {
		b.Run(c.name, func(b *testing.B) {
			url := ts.URL + o.segmentURL(c.encrypted, c.path)[len("http://127.0.0.1"):]
			size := fetchDiscard(b, client, url) // warms the caches
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				fetchDiscard(b, client, url)
			}
		})
	}
}

// fetchDiscard GETs url, discards the body and returns its length. It
// fails the benchmark unless the status is 200.
func fetchDiscard(b *testing.B, client *http.Client, url string) int64 {
	resp, err := client.Get(url)
	if err != nil {
		b.Fatalf("GET %s: %v", url, err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	return n
}
