package origin_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/policy"
)

// TestSegmentCacheServesTheBuiltBytes runs two origins on one catalog,
// one with the segment cache and one without. Every encrypted and clear
// segment of the sample must come back byte for byte the same from both,
// on the first request (a miss) and on the second (a hit).
func TestSegmentCacheServesTheBuiltBytes(t *testing.T) {
	data := t.TempDir()
	cached := startOriginWith(t, sampleMedia(t), func(c *origin.Config) {
		c.DataDir = data
		c.SegmentCacheMiB = 64
	})
	plain := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.DataDir = data })

	clear := cached.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")
	enc := cached.publishEncrypted(t, "sample-enc")
	tracks := allTracks(t, cached, clear)

	paths := []string{}
	for _, track := range tracks {
		for _, family := range []struct{ locator, prefix, ext string }{
			{enc.ID, "hls-ts/cbc", "ts"},
			{enc.ID, "hls-cmaf/cbc", "m4s"},
			{enc.ID, "dash/cenc", "m4s"},
			{clear, "hls-ts/clear", "ts"},
			{clear, "dash/clear", "m4s"},
		} {
			for n := 1; n <= 2; n++ {
				paths = append(paths, fmt.Sprintf("/%s/sample.ism/%s/%s/%d.%s", family.locator, family.prefix, track, n, family.ext))
			}
		}
	}
	paths = append(paths,
		"/"+enc.ID+"/sample.ism/QualityLevels(697438)/Fragments(video=20000000,encryption=cenc)",
		"/"+clear+"/sample.ism/QualityLevels(697438)/Fragments(video=20000000)")

	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			want := get(t, plain.URL+path, nil)
			for _, attempt := range []string{"miss", "hit"} {
				got := get(t, cached.URL+path, nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes differ from the uncached %d bytes (first difference at %d)",
						attempt, len(got), len(want), firstDifference(got, want))
				}
			}
		})
	}

	hits := metricValue(t, cached, "lockstream_segment_cache_hits_total")
	if hits < float64(len(paths))/2 {
		t.Errorf("segment cache hits %v after requesting %d paths twice, want at least %d", hits, len(paths), len(paths)/2)
	}
	if got := metricValue(t, plain, "lockstream_segment_cache_entries"); got != 0 {
		t.Errorf("the origin without a segment cache reports %v entries", got)
	}
}

// TestSegmentCacheHonoursRangeAndConditionals checks that Range and
// If-None-Match work on cached bodies as they do on built ones.
func TestSegmentCacheHonoursRangeAndConditionals(t *testing.T) {
	o := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.SegmentCacheMiB = 16 })
	enc := o.publishEncrypted(t, "sample-enc")
	tracks := sampleVideoTracks(t, o, enc.ID)
	url := fmt.Sprintf("%s/%s/sample.ism/hls-ts/cbc/%s/1.ts", o.URL, enc.ID, tracks[0])

	full := get(t, url, nil)
	get(t, url, nil) // now cached

	body, status := fetchWithHeader(t, url, http.Header{"Range": {"bytes=100-199"}})
	if status != http.StatusPartialContent || !bytes.Equal(body, full[100:200]) {
		t.Errorf("Range: status %d, %d bytes; want 206 with bytes 100 to 199", status, len(body))
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on a cached segment")
	}
	if _, status := fetchWithHeader(t, url, http.Header{"If-None-Match": {etag}}); status != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", status)
	}
}

// metricValue reads one unlabelled sample from the origin's /metrics.
func metricValue(t *testing.T, o *testOrigin, name string) float64 {
	t.Helper()
	body := get(t, o.URL+"/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}
