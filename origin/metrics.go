package origin

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics route labels: a fixed, small set so the label cardinality stays
// bounded whatever URLs clients send.
const (
	routeManifest       = "manifest"
	routePlaylist       = "hls_playlist"
	routeSegment        = "segment"
	routeInit           = "init"
	routeSmoothFragment = "smooth_fragment"
	routeKeys           = "keys"
	routeAdmin          = "admin"
	routeHealth         = "health"
	routeMetrics        = "metrics"
	routeOther          = "other"
)

// routeOf returns the metrics route of a parsed streaming request.
func routeOf(req *StreamRequest) string {
	switch req.Kind {
	case ResourceManifest:
		return routeManifest
	case ResourcePlaylist:
		return routePlaylist
	case ResourceInit:
		return routeInit
	case ResourceSegment:
		return routeSegment
	case ResourceFragment:
		return routeSmoothFragment
	}
	return routeOther
}

// CacheStats is a snapshot of the presentation index cache's counters.
// Evictions stays zero for a cache that does not count them.
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Entries                 int
	// Bytes is the estimated memory held by the cached indexes.
	Bytes int64
	// Segments holds the segment cache's counters, zero when it is off.
	Segments SegmentCacheStats
}

type metrics struct {
	requests *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, cacheStats func() CacheStats) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockstream_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "status"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockstream_http_response_bytes_total",
			Help: "Response body bytes sent, by route.",
		}, []string{"route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lockstream_http_request_duration_seconds",
			Help: "Time from request to the end of the response, by route.",
			// Segments of a warm cache take milliseconds; a cold index
			// or a slow client takes seconds.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}

	collectors := []prometheus.Collector{m.requests, m.bytes, m.duration}
	if cacheStats != nil {
		collectors = append(collectors, &cacheCollector{stats: cacheStats})
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(route string, status int, bytes int64, latency time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.bytes.WithLabelValues(route).Add(float64(bytes))
	m.duration.WithLabelValues(route).Observe(latency.Seconds())
}

var (
	cacheHitsDesc = prometheus.NewDesc("lockstream_index_cache_hits_total",
		"Presentation index lookups served from memory.", nil, nil)
	cacheMissesDesc = prometheus.NewDesc("lockstream_index_cache_misses_total",
		"Presentation index lookups that read the asset's files.", nil, nil)
	cacheEvictionsDesc = prometheus.NewDesc("lockstream_index_cache_evictions_total",
		"Presentation indexes dropped to stay within the cache size.", nil, nil)
	cacheEntriesDesc = prometheus.NewDesc("lockstream_index_cache_entries",
		"Presentation indexes in memory.", nil, nil)
	cacheBytesDesc = prometheus.NewDesc("lockstream_index_cache_bytes",
		"Estimated memory held by the presentation indexes in memory.", nil, nil)
	segmentHitsDesc = prometheus.NewDesc("lockstream_segment_cache_hits_total",
		"Segment and fragment requests served from the segment cache.", nil, nil)
	segmentMissesDesc = prometheus.NewDesc("lockstream_segment_cache_misses_total",
		"Segment and fragment requests that built their output.", nil, nil)
	segmentEvictionsDesc = prometheus.NewDesc("lockstream_segment_cache_evictions_total",
		"Built segments dropped to stay within the segment cache size.", nil, nil)
	segmentEntriesDesc = prometheus.NewDesc("lockstream_segment_cache_entries",
		"Built segments in the segment cache.", nil, nil)
	segmentBytesDesc = prometheus.NewDesc("lockstream_segment_cache_bytes",
		"Memory held by the segment cache, estimated.", nil, nil)
)

// cacheCollector reads the index cache's counters at scrape time, so the
// cache itself needs no dependency on Prometheus.
type cacheCollector struct {
	stats func() CacheStats
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheHitsDesc
	ch <- cacheMissesDesc
	ch <- cacheEvictionsDesc
	ch <- cacheEntriesDesc
	ch <- cacheBytesDesc
	ch <- segmentHitsDesc
	ch <- segmentMissesDesc
	ch <- segmentEvictionsDesc
	ch <- segmentEntriesDesc
	ch <- segmentBytesDesc
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(cacheEvictionsDesc, prometheus.CounterValue, float64(st.Evictions))
	ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(st.Entries))
	ch <- prometheus.MustNewConstMetric(cacheBytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	seg := st.Segments
	ch <- prometheus.MustNewConstMetric(segmentHitsDesc, prometheus.CounterValue, float64(seg.Hits))
	ch <- prometheus.MustNewConstMetric(segmentMissesDesc, prometheus.CounterValue, float64(seg.Misses))
	ch <- prometheus.MustNewConstMetric(segmentEvictionsDesc, prometheus.CounterValue, float64(seg.Evictions))
	ch <- prometheus.MustNewConstMetric(segmentEntriesDesc, prometheus.GaugeValue, float64(seg.Entries))
	ch <- prometheus.MustNewConstMetric(segmentBytesDesc, prometheus.GaugeValue, float64(seg.Bytes))
}
