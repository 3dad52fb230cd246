package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// maxSegments bounds the segments of one plan, so a hostile manifest
// (a SegmentTimeline with a huge repeat count, say) cannot exhaust memory.
// It is 55 hours of 2-second segments.
const maxSegments = 100_000

// plan is the list of URLs a virtual client fetches after the manifest:
// the keys, the init segment once, then the media segments in a loop.
type plan struct {
	keys     []keyRequest
	init     segmentRef // url is "" when the rendition has no init segment
	segments []segmentRef
}

type segmentRef struct {
	url       string
	byteRange string        // Range header value, or ""
	duration  time.Duration // media duration, which paced clients wait for; 0 for init segments
}

// keyFormat is the kind of key response, which decides how it is checked.
type keyFormat int

const (
	keyHLS      keyFormat = iota // HLS AES-128 key: 16 bytes
	keyClearKey                  // W3C ClearKey license: a JWK set
)

type keyRequest struct {
	format keyFormat
	method string
	url    string
	body   []byte
}

// planCache keeps the plans built from manifests already parsed, keyed by
// the manifest URL and bytes, so that hundreds of clients fetching the
// same manifest parse it once. Every client still fetches it.
type planCache struct {
	mu    sync.Mutex
	plans map[[sha256.Size]byte]*plan
}

func planKey(parts ...[]byte) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

func (c *planCache) get(key [sha256.Size]byte) *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plans[key]
}

func (c *planCache) put(key [sha256.Size]byte, p *plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plans == nil {
		c.plans = make(map[[sha256.Size]byte]*plan)
	}
	c.plans[key] = p
}

// loadPlan fetches the manifest and, for an HLS multivariant playlist, the
// selected media playlist, and returns the segment plan.
func (l *load) loadPlan(ctx context.Context, cs *clientStats) (*plan, error) {
	manifestURL := l.cfg.manifestURL
	body, err := l.send(ctx, cs, request{kind: kindManifest, method: http.MethodGet, url: manifestURL.String()}, true)
	if err != nil {
		return nil, err
	}

	switch manifestKind(body) {
	case "hls":
		return l.loadHLSPlan(ctx, cs, manifestURL, body, true)
	case "dash":
		return l.cachedPlan(manifestURL, body, func() (*plan, error) {
			p, err := buildDASHPlan(body, manifestURL, l.cfg.rendition)
			if err != nil {
				return nil, &fatalError{err: fmt.Errorf("reading DASH MPD %s: %w", redactURL(manifestURL), err)}
			}
			return p, nil
		})
	}
	return nil, fatalf("reading manifest %s: neither an HLS playlist (#EXTM3U) nor a DASH MPD", redactURL(manifestURL))
}

// loadHLSPlan builds the plan of an HLS playlist. When body is a
// multivariant playlist and multivariant is set, it fetches the selected
// media playlist and builds the plan from that.
func (l *load) loadHLSPlan(ctx context.Context, cs *clientStats, playlistURL *url.URL, body []byte, multivariant bool) (*plan, error) {
	// Only media playlists have a plan in the cache, so a multivariant
	// playlist is parsed by every client and its media playlist fetched.
	if p := l.plans.get(planKey([]byte(playlistURL.String()), body)); p != nil {
		return p, nil
	}
	variant, p, err := parseHLS(body, playlistURL, l.cfg.rendition)
	if err != nil {
		return nil, &fatalError{err: fmt.Errorf("reading HLS playlist %s: %w", redactURL(playlistURL), err)}
	}
	if p != nil {
		return l.cachedPlan(playlistURL, body, func() (*plan, error) { return p, nil })
	}
	if !multivariant {
		return nil, fatalf("reading HLS media playlist %s: it is a multivariant playlist", redactURL(playlistURL))
	}
	if err := l.hosts.check(variant); err != nil {
		return nil, &fatalError{err: err}
	}

	media, err := l.send(ctx, cs, request{kind: kindPlaylist, method: http.MethodGet, url: variant.String()}, true)
	if err != nil {
		return nil, err
	}
	return l.loadHLSPlan(ctx, cs, variant, media, false)
}

// cachedPlan returns the cached plan of the document body at u, or builds,
// checks and caches it.
func (l *load) cachedPlan(u *url.URL, body []byte, build func() (*plan, error)) (*plan, error) {
	key := planKey([]byte(u.String()), body)
	if p := l.plans.get(key); p != nil {
		return p, nil
	}
	p, err := build()
	if err != nil {
		return nil, err
	}
	if err := l.checkPlan(p); err != nil {
		return nil, err
	}
	l.plans.put(key, p)
	return p, nil
}

// checkPlan returns a *fatalError when the plan has no segment or a URL
// that the host policy rejects.
func (l *load) checkPlan(p *plan) error {
	if len(p.segments) == 0 {
		return fatalf("the selected rendition has no segment")
	}
	urls := make([]string, 0, len(p.keys)+1+len(p.segments))
	for _, k := range p.keys {
		urls = append(urls, k.url)
	}
	if p.init.url != "" {
		urls = append(urls, p.init.url)
	}
	for _, s := range p.segments {
		urls = append(urls, s.url)
	}
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return fatalf("invalid URL in manifest: %w", err)
		}
		if err := l.hosts.check(u); err != nil {
			return &fatalError{err: err}
		}
	}
	return nil
}

// manifestKind returns "hls", "dash" or "" from the first bytes of body.
func manifestKind(body []byte) string {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("#EXTM3U")):
		return "hls"
	case bytes.HasPrefix(trimmed, []byte("<")) && bytes.Contains(body, []byte("<MPD")):
		return "dash"
	}
	return ""
}

// fetchKeys requests each content key of the plan once, with the token,
// as a player does before it decrypts. A failure is counted and the
// client goes on: segments are served without a token.
func (l *load) fetchKeys(ctx context.Context, cs *clientStats, p *plan) {
	for _, k := range p.keys {
		req := request{kind: kindKey, method: k.method, url: k.url, body: k.body, token: l.cfg.token}
		body, err := l.send(ctx, cs, req, true)
		if err != nil {
			continue
		}
		if err := checkKeyResponse(k.format, body); err != nil {
			l.countError("invalid key response", fmt.Errorf("%s %s: %w", k.method, redactString(k.url), err))
		}
	}
}

// checkKeyResponse checks the shape of a key response without keeping or
// printing any key byte.
func checkKeyResponse(format keyFormat, body []byte) error {
	if format == keyHLS {
		if len(body) != 16 {
			return fmt.Errorf("HLS key is %d bytes, want 16", len(body))
		}
		return nil
	}

	var license struct {
		Keys []struct {
			Kty string `json:"kty"`
			K   string `json:"k"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &license); err != nil {
		return errors.New("ClearKey license is not a JSON object")
	}
	if len(license.Keys) == 0 {
		return errors.New("ClearKey license has no key")
	}
	for _, k := range license.Keys {
		raw, err := base64.RawURLEncoding.DecodeString(k.K)
		if k.Kty != "oct" || err != nil || len(raw) != 16 {
			return errors.New("ClearKey license has a key that is not a 16-byte oct key in base64url")
		}
	}
	return nil
}
