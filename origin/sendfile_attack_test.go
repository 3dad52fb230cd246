package origin

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSendfileRangeEdges sends Range headers that http.ServeContent
// treats specially to segments sent from the file, and compares each
// response with http.ServeContent over the whole segment in memory.
func TestSendfileRangeEdges(t *testing.T) {
	media := copySample(t)
	all := buildExpected(t, media)
	o := startSendfileOrigin(t, media)
	segs := []expectedSegment{all[0], all[len(all)-1]}

	for _, seg := range segs {
		size := len(seg.body)
		head := 8 // inside the styp or moof box, which is in memory
		ranges := []string{
			"bytes=0-0", "bytes=-0", "bytes=-1", "bytes=0-", fmt.Sprintf("bytes=%d-", size-1),
			fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size-10, size+1000),
			"bytes=5-2", "bytes=-" + fmt.Sprint(size+5), fmt.Sprintf("bytes=%d-%d", head, size/2),
			"bytes=0-3,-4", fmt.Sprintf("bytes=0-%d,%d-", head, size/2), "bytes=1-1,1-1,1-1",
			"bytes=abc", "items=0-1", "bytes=0-1,abc",
		}
		for _, rangeHeader := range ranges {
			t.Run(seg.path+"/"+rangeHeader, func(t *testing.T) {
				resp, got := o.fetch(t, http.MethodGet, seg.path, http.Header{"Range": {rangeHeader}})

				want := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Range", rangeHeader)
				http.ServeContent(want, req, "", time.Time{}, bytes.NewReader(seg.body))

				if resp.StatusCode != want.Code {
					t.Fatalf("status %d, want %d", resp.StatusCode, want.Code)
				}
				gotRange, wantRange := resp.Header.Get("Content-Range"), want.Header().Get("Content-Range")
				if gotRange != wantRange {
					t.Errorf("Content-Range %q, want %q", gotRange, wantRange)
				}
				mediaType, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
				if mediaType != "multipart/byteranges" {
					if !bytes.Equal(got, want.Body.Bytes()) && resp.StatusCode < 300 {
						t.Errorf("%d bytes differ from the %d expected at %d", len(got), want.Body.Len(), firstDiff(got, want.Body.Bytes()))
					}
					return
				}
				_, wantParams, _ := mime.ParseMediaType(want.Header().Get("Content-Type"))
				gotParts := readParts(t, got, params["boundary"])
				wantParts := readParts(t, want.Body.Bytes(), wantParams["boundary"])
				if len(gotParts) != len(wantParts) {
					t.Fatalf("%d parts, want %d", len(gotParts), len(wantParts))
				}
				for i := range gotParts {
					if !bytes.Equal(gotParts[i], wantParts[i]) {
						t.Errorf("part %d: %d bytes differ from the %d expected", i, len(gotParts[i]), len(wantParts[i]))
					}
				}
			})
		}
	}
}

func readParts(t *testing.T, body []byte, boundary string) [][]byte {
	t.Helper()
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var parts [][]byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("reading multipart body: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		parts = append(parts, b)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// rawGet opens a connection with a small receive buffer, sends a GET for
// path and reads the status line. The caller reads the rest or closes.
func rawGet(t *testing.T, o *sendfileOrigin, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	addr := strings.TrimPrefix(o.http.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A small receive buffer makes the server block in sendfile after a
	// few kilobytes when the client does not read.
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	requestPath := strings.TrimPrefix(o.base, o.http.URL) + path
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", requestPath)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(conn, 512)
	line, err := r.ReadString('\n')
	if err != nil {
		conn.Close()
		t.Fatalf("GET %s: reading status line: %v", path, err)
	}
	if !strings.Contains(line, " 200 ") {
		conn.Close()
		t.Fatalf("GET %s: status line %q", path, line)
	}
	return conn, r
}

// smallBufferListener gives every accepted connection a small send
// buffer, so a response to a client that does not read blocks in
// sendfile after a few kilobytes, as it does on a real network once the
// client's window closes.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(8 << 10)
	}
	return c, err
}

// withSmallSendBuffers returns o served again by a second test server
// whose connections have small send buffers.
func withSmallSendBuffers(t *testing.T, o *sendfileOrigin) *sendfileOrigin {
	t.Helper()
	ts := httptest.NewUnstartedServer(o.server.Handler())
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	t.Cleanup(ts.Close)
	small := *o
	small.base = ts.URL + strings.TrimPrefix(o.base, o.http.URL)
	small.http = ts
	return &small
}

// waitIdleSendFiles waits until no response holds a sendfile descriptor.
func waitIdleSendFiles(t *testing.T, c *fileCache) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.busySendFiles() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sendfile descriptors still checked out 10 s after the clients went away", c.busySendFiles())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// largestSegment returns the biggest expected segment, which needs the
// most socket buffer.
func largestSegment(segs []expectedSegment) expectedSegment {
	best := segs[0]
	for _, s := range segs {
		if len(s.body) > len(best.body) {
			best = s
		}
	}
	return best
}

// TestSendfileClientsDisconnectMidBody closes connections after a few
// bytes of the body, many at once, and checks that every descriptor
// comes back and no descriptor stays open beyond the cache's bounds.
func TestSendfileClientsDisconnectMidBody(t *testing.T) {
	media := copySample(t)
	seg := largestSegment(buildExpected(t, media))
	o := withSmallSendBuffers(t, startSendfileOrigin(t, media))
	o.fetch(t, http.MethodGet, seg.path, nil) // warm the index

	const clients, rounds = 24, 4
	for range rounds {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				conn, r := rawGet(t, o, seg.path)
				defer conn.Close()
				io.CopyN(io.Discard, r, 2000)
			})
		}
		wg.Wait()
	}
	waitIdleSendFiles(t, o.producer.files)

	if n, max := o.sendFileCount(), maxSendFilesPerFile*o.producer.files.lru.Len(); n > max {
		t.Errorf("%d sendfile descriptors after the disconnects, want at most %d", n, max)
	}
	if got := countOpenFDs(t); got > maxOpenFiles+maxSendFiles {
		t.Errorf("%d descriptors open on test files, want at most %d", got, maxOpenFiles+maxSendFiles)
	}

	// The pooled descriptors still send whole, correct segments.
	for range 2 * maxSendFilesPerFile {
		resp, body := o.fetch(t, http.MethodGet, seg.path, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, seg.body) {
			t.Fatalf("GET %s after the disconnects: status %d, %d bytes, want 200 with %d bytes", seg.path, resp.StatusCode, len(body), len(seg.body))
		}
	}
}

// TestSendfileStalledReaders holds more stalled responses of one file
// than it has sendfile descriptors, and checks that other clients still
// get whole segments meanwhile and that the descriptors come back when
// the stalled clients go.
func TestSendfileStalledReaders(t *testing.T) {
	media := copySample(t)
	all := buildExpected(t, media)
	seg := largestSegment(all)
	var sameFile []expectedSegment
	for _, s := range all {
		if s.file == seg.file {
			sameFile = append(sameFile, s)
		}
	}
	o := withSmallSendBuffers(t, startSendfileOrigin(t, media))
	o.fetch(t, http.MethodGet, seg.path, nil)

	stalled := make([]net.Conn, 0, 3*maxSendFilesPerFile)
	for range cap(stalled) {
		conn, _ := rawGet(t, o, seg.path)
		stalled = append(stalled, conn)
	}
	t.Cleanup(func() {
		for _, c := range stalled {
			c.Close()
		}
	})

	// Give the stalled responses time to fill the socket buffers.
	time.Sleep(200 * time.Millisecond)
	if busy := o.producer.files.busySendFiles(); busy == 0 {
		t.Fatal("no stalled response holds a sendfile descriptor; the test does not stall the server")
	}

	for _, s := range sameFile {
		resp, body := o.fetch(t, http.MethodGet, s.path, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, s.body) {
			t.Errorf("GET %s beside stalled readers: status %d, %d bytes, want 200 with %d bytes", s.path, resp.StatusCode, len(body), len(s.body))
		}
	}
	if n := o.sendFileCount(); n > maxSendFilesPerFile*o.producer.files.lru.Len() {
		t.Errorf("%d sendfile descriptors with stalled readers, want at most %d per file", n, maxSendFilesPerFile)
	}

	for _, c := range stalled {
		c.Close()
	}
	waitIdleSendFiles(t, o.producer.files)
}
