package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// fetchVariant sends one request to url and returns the status and body.
// host, when not empty, replaces the Host header.
func fetchVariant(t *testing.T, method, url, host string, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, body
}

// TestSegmentCacheKeyVariants requests the segments of two encrypted
// locators and one clear locator of one asset from an origin with the
// segment cache. The first request of each URL has a form that could
// confuse cache keys: HEAD or Range first, an upper-case locator ID, a
// query string or another Host header. Every full GET must then match
// the same URL on an origin without the cache, over the same catalog.
func TestSegmentCacheKeyVariants(t *testing.T) {
	data := t.TempDir()
	cached := startOriginWith(t, sampleMedia(t), func(c *origin.Config) {
		c.DataDir = data
		c.SegmentCacheMiB = 64
	})
	plain := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.DataDir = data })

	first := cached.publishEncrypted(t, "variants-a")
	second := cached.publishEncrypted(t, "variants-b")
	clear := cached.publish(t, "variants-clear", "sample", policy.PolicyClearStreamingOnly, "")
	tracks := allTracks(t, cached, clear)

	type family struct{ locator, prefix, ext string }
	families := []family{
		{first.ID, "hls-ts/cbc", "ts"},
		{second.ID, "hls-ts/cbc", "ts"},
		{first.ID, "hls-cmaf/cbc", "m4s"},
		{second.ID, "dash/cenc", "m4s"},
		{clear, "hls-ts/clear", "ts"},
	}
	warmups := []struct {
		name   string
		method string
		header http.Header
		host   string
		upper  bool
		query  string
	}{
		{name: "HEAD first", method: http.MethodHead},
		{name: "Range first", method: http.MethodGet, header: http.Header{"Range": {"bytes=10-20"}}},
		{name: "upper-case ID", method: http.MethodGet, upper: true},
		{name: "query string", method: http.MethodGet, query: "?token=not-a-token&x=1"},
		{name: "other Host", method: http.MethodGet, host: "example.invalid:1"},
	}

	for i, w := range warmups {
		for _, f := range families {
			// Each warmup gets its own track and segment, so it sends the
			// first request of that URL. The 12 s sample has two HLS
			// segments per track.
			track, segment := tracks[i/2], i%2+1
			path := fmt.Sprintf("/%s/sample.ism/%s/%s/%d.%s", f.locator, f.prefix, track, segment, f.ext)
			t.Run(w.name+path, func(t *testing.T) {
				warm := path
				if w.upper {
					warm = "/" + strings.ToUpper(f.locator) + strings.TrimPrefix(path, "/"+f.locator)
				}
				status, _ := fetchVariant(t, w.method, cached.URL+warm+w.query, w.host, w.header)
				if status >= 300 {
					t.Fatalf("%s %s: status %d", w.method, warm, status)
				}

				_, want := fetchVariant(t, http.MethodGet, plain.URL+path, "", nil)
				for _, host := range []string{"", "example.invalid:1"} {
					status, got := fetchVariant(t, http.MethodGet, cached.URL+path, host, nil)
					if status != http.StatusOK {
						t.Fatalf("GET %s (Host %q): status %d", path, host, status)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("GET %s (Host %q) after %s: %d bytes differ from the uncached %d bytes at %d",
							path, host, w.name, len(got), len(want), firstDifference(got, want))
					}
				}
			})
		}
	}
}

// TestSegmentCacheRecreatedLocatorOtherAsset deletes a clear locator and
// creates it again, with the same ID, on another asset whose listing has
// the same file names, sizes and modification times but other bytes. The
// segments must then be the new asset's, as an origin without the cache
// sends them.
func TestSegmentCacheRecreatedLocatorOtherAsset(t *testing.T) {
	media := t.TempDir()
	src := filepath.Join(sampleMedia(t), "sample")
	for _, asset := range []string{"first", "second"} {
		if err := os.CopyFS(filepath.Join(media, asset), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	// The second asset's video differs in one byte near the end of the
	// file, inside the sample data of the last segment.
	const video = "video_640x360_400k.mp4"
	target := filepath.Join(media, "second", video)
	data, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-100] ^= 0xff
	if err := os.WriteFile(target, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Same modification time for every file of both assets, as a copy
	// that keeps times (cp -p, rsync -t) gives.
	stamp := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, asset := range []string{"first", "second"} {
		entries, err := os.ReadDir(filepath.Join(media, asset))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Chtimes(filepath.Join(media, asset, e.Name()), stamp, stamp); err != nil {
				t.Fatal(err)
			}
		}
	}

	catalogDir := t.TempDir()
	cached := startOriginWith(t, media, func(c *origin.Config) {
		c.DataDir = catalogDir
		c.SegmentCacheMiB = 64
	})
	plain := startOriginWith(t, media, func(c *origin.Config) { c.DataDir = catalogDir })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := uuid.New()
	create := func(asset string) {
		t.Helper()
		_, err := cached.Admin.CreateLocator(ctx, adminapi.CreateLocatorRequest{
			Name: "recreated", AssetName: asset, StreamingPolicyName: policy.PolicyClearStreamingOnly, StreamingLocatorID: &id,
		})
		if err != nil {
			t.Fatalf("creating the locator on %q: %v", asset, err)
		}
	}

	create("first")
	tracks := sampleVideoTracks(t, cached, id.String())

	// The 12 s sample has two HLS segments per track; the changed byte
	// is in the last one of the 400k track.
	var paths []string
	for _, track := range tracks {
		for n := 1; n <= 2; n++ {
			paths = append(paths, fmt.Sprintf("/%s/sample.ism/hls-ts/clear/%s/%d.ts", id, track, n))
		}
	}
	for _, path := range paths {
		get(t, cached.URL+path, nil)
	}

	if err := cached.Admin.DeleteLocator(ctx, id.String()); err != nil {
		t.Fatal(err)
	}
	create("second")
	// Both origins cache locators for a second.
	time.Sleep(1500 * time.Millisecond)

	differ := 0
	for _, path := range paths {
		want := get(t, plain.URL+path, nil)
		got := get(t, cached.URL+path, nil)
		if !bytes.Equal(got, want) {
			differ++
			t.Errorf("GET %s after the locator moved to another asset: %d bytes differ from the uncached %d bytes at %d",
				path, len(got), len(want), firstDifference(got, want))
		}
	}
	t.Logf("%d of %d segments differ", differ, len(paths))
}

// TestSegmentCacheHostFloodAddsNoEntries requests two audio segments
// under many Host headers. Segment bytes do not depend on the base URL,
// so each segment must take one cache entry whatever the Host.
func TestSegmentCacheHostFloodAddsNoEntries(t *testing.T) {
	o := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.SegmentCacheMiB = 1 })
	clear := o.publish(t, "flood-clear", "sample", policy.PolicyClearStreamingOnly, "")

	const hosts = 40
	for i := range hosts {
		for n := 1; n <= 2; n++ {
			url := fmt.Sprintf("%s/%s/sample.ism/hls-ts/clear/audio_eng/%d.ts", o.URL, clear, n)
			if status, _ := fetchVariant(t, http.MethodGet, url, fmt.Sprintf("host-%d.invalid", i), nil); status != http.StatusOK {
				t.Fatalf("GET %s: status %d", url, status)
			}
		}
	}

	if got := metricValue(t, o, "lockstream_segment_cache_entries"); got != 2 {
		t.Errorf("segment cache holds %v entries after 2 segments under %d Host headers, want 2", got, hosts)
	}
}

// TestSegmentCacheBoundUnderManySegments requests more distinct segments
// than a 1 MiB cache holds, the audio TS segments of a dozen locators of
// one asset (about 100 kB each), and checks that it stays within its
// size.
func TestSegmentCacheBoundUnderManySegments(t *testing.T) {
	const maxMiB = 1
	o := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.SegmentCacheMiB = maxMiB })

	for i := range 12 {
		clear := o.publish(t, fmt.Sprintf("many-clear-%d", i), "sample", policy.PolicyClearStreamingOnly, "")
		for n := 1; n <= 2; n++ {
			get(t, fmt.Sprintf("%s/%s/sample.ism/hls-ts/clear/audio_eng/%d.ts", o.URL, clear, n), nil)
		}
	}

	if got := metricValue(t, o, "lockstream_segment_cache_bytes"); got > maxMiB<<20 {
		t.Errorf("segment cache holds %v bytes, want at most %d", got, maxMiB<<20)
	}
	if got := metricValue(t, o, "lockstream_segment_cache_evictions_total"); got == 0 {
		t.Error("no evictions after more segment bytes than the cache holds")
	}
}
