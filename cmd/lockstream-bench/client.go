package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// maxDocumentBytes bounds a manifest, playlist or key response kept in
// memory for parsing. Segment bodies are read and dropped, so they have
// no bound.
const maxDocumentBytes = 16 << 20

// readBufferSize is the size of the pooled buffers that segment bodies
// are read into and dropped.
const readBufferSize = 64 << 10

// errStop reports that the run's time or request bound was reached or
// the run was cancelled. It is not an error of the server under test.
var errStop = errors.New("run bound reached")

// requestKind is the kind of resource a request fetches. The report
// counts each kind.
type requestKind int

const (
	kindManifest requestKind = iota
	kindPlaylist
	kindKey
	kindInit
	kindSegment
	kindCount
)

var kindNames = [kindCount]string{"manifest", "playlist", "key", "init", "segment"}

// request is one HTTP request of a virtual client.
type request struct {
	kind      requestKind
	method    string
	url       string
	byteRange string // Range header value, or ""
	token     string // sent as "Authorization: Bearer", or ""
	body      []byte // POST body, sent as application/json
}

// statusError is a response with a status outside 2xx.
type statusError struct {
	method string
	url    string // redacted
	code   int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.method, e.url, e.code, http.StatusText(e.code))
}

// newHTTPClient returns a client with one idle keep-alive connection per
// virtual client, bounded timeouts, no proxy, and redirects checked
// against hosts.
func newHTTPClient(cfg *config, hosts hostPolicy) *http.Client {
	transport := &http.Transport{
		// No proxy: the load goes straight to the server under test.
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          cfg.concurrency,
		MaxIdleConnsPerHost:   cfg.concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.timeout,
		// Segments are not compressible, and asking for gzip would make
		// manifests cost the server CPU that players may not spend.
		DisableCompression: true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   cfg.timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return hosts.check(req.URL)
		},
	}
}

// send sends one request, counted against the run's request bound, reads
// the body fully and counts its bytes. With keep set it returns the body
// (at most maxDocumentBytes); otherwise the body is dropped. It returns
// errStop when the run is over, a *statusError for a status outside 2xx,
// and other errors for transport failures.
func (l *load) send(ctx context.Context, cs *clientStats, req request, keep bool) ([]byte, error) {
	if ctx.Err() != nil || l.budget.Add(-1) < 0 {
		return nil, errStop
	}

	httpReq, err := l.newHTTPRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	warmup := l.warmupFor(cs, start)
	resp, err := l.client.Do(httpReq)
	if err != nil {
		err = l.transportFailure(ctx, req, err)
		warmup.countFailure(err)
		return nil, err
	}
	n, body, err := readBody(resp.Body, keep, &l.buffers)
	resp.Body.Close()
	if err != nil {
		l.bytes.Add(n)
		err = l.transportFailure(ctx, req, err)
		warmup.countFailure(err)
		return nil, err
	}
	elapsed := time.Since(start)

	l.requests.Add(1)
	l.bytes.Add(n)
	cs.byKind[req.kind]++
	if warmup != nil {
		warmup.requests++
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := &statusError{method: req.method, url: redactString(req.url), code: resp.StatusCode}
		l.countError(strconv.Itoa(resp.StatusCode), err)
		return nil, err
	}

	if req.kind == kindSegment {
		cs.segments++
	}
	if warmup != nil {
		warmup.record(req.kind, elapsed)
		return body, nil
	}
	cs.latency.record(elapsed)
	if req.kind == kindSegment {
		cs.segmentLatency.record(elapsed)
	}
	return body, nil
}

func (l *load) newHTTPRequest(ctx context.Context, req request) (*http.Request, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", redactString(req.url), err)
	}
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if req.byteRange != "" {
		httpReq.Header.Set("Range", req.byteRange)
	}
	if req.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.token)
	}
	return httpReq, nil
}

// transportFailure counts a failed request, unless it failed because the
// run ended while it was in flight: then it returns errStop.
func (l *load) transportFailure(ctx context.Context, req request, err error) error {
	if ctx.Err() != nil {
		l.canceled.Add(1)
		return errStop
	}
	l.requests.Add(1)
	err = fmt.Errorf("%s %s: %w", req.method, redactString(req.url), stripURLError(err))
	l.countError("transport", err)
	return err
}

// stripURLError drops the *url.Error wrapper, whose message repeats the
// URL with its query.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readBody reads r to the end and returns the byte count, and the bytes
// when keep is set. Dropped bodies go through a pooled buffer, so a
// segment costs no allocation here.
func readBody(r io.Reader, keep bool, pool *sync.Pool) (int64, []byte, error) {
	if keep {
		body, err := io.ReadAll(io.LimitReader(r, maxDocumentBytes+1))
		if err != nil {
			return int64(len(body)), nil, err
		}
		if len(body) > maxDocumentBytes {
			return int64(len(body)), nil, fmt.Errorf("response is larger than %d bytes", maxDocumentBytes)
		}
		return int64(len(body)), body, nil
	}

	bufp := pool.Get().(*[]byte)
	defer pool.Put(bufp)
	buf := *bufp
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil, nil
		}
		if err != nil {
			return total, nil, err
		}
	}
}

func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return redactURL(u)
}
