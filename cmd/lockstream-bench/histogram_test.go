package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramBucketPrecision(t *testing.T) {
	values := []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1023, 1024, 123456, 1 << 30, maxValue}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		values = append(values, rng.Uint64N(maxValue))
	}
	for _, v := range values {
		i := bucketIndex(v)
		if i < 0 || i >= bucketCount {
			t.Fatalf("bucketIndex(%d) = %d, outside [0, %d)", v, i, bucketCount)
		}
		upper := bucketUpper(i)
		if upper < v {
			t.Errorf("bucketUpper(bucketIndex(%d)) = %d, below the value", v, upper)
		}
		if i > 0 && bucketUpper(i-1) >= v {
			t.Errorf("value %d also fits bucket %d below its own", v, i-1)
		}
		if float64(upper-v) > float64(v)/subBucketCount {
			t.Errorf("bucket of %d ends at %d: error above 1/%d", v, upper, subBucketCount)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	// 1 ms to 1000 ms, once each, in shuffled order.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ms := range rng.Perm(1000) {
		h.record(time.Duration(ms+1) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.50, 500 * time.Millisecond},
		{0.95, 950 * time.Millisecond},
		{0.99, 990 * time.Millisecond},
		{1.00, 1000 * time.Millisecond},
	}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		// The bucket's upper bound is within 1/32 above the true value.
		if got < tt.want || got > tt.want+tt.want/subBucketCount {
			t.Errorf("quantile(%v) = %v, want %v to %v", tt.q, got, tt.want, tt.want+tt.want/subBucketCount)
		}
	}
	if got, want := time.Duration(h.max)*time.Microsecond, time.Second; got != want {
		t.Errorf("max = %v, want %v", got, want)
	}
	if got, want := h.mean(), 500500*time.Microsecond; got != want {
		t.Errorf("mean = %v, want %v", got, want)
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all histogram
	for i := range 100 {
		d := time.Duration(i*i) * time.Microsecond
		all.record(d)
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	var merged histogram
	merged.merge(&a)
	merged.merge(&b)
	merged.merge(&histogram{})
	if merged != all {
		t.Errorf("merged histogram differs: total %d min %d max %d, want total %d min %d max %d",
			merged.total, merged.min, merged.max, all.total, all.min, all.max)
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h histogram
	if got := h.quantile(0.99); got != 0 {
		t.Errorf("quantile of an empty histogram = %v, want 0", got)
	}
	if got := h.mean(); got != 0 {
		t.Errorf("mean of an empty histogram = %v, want 0", got)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	var h histogram
	for i := 0; b.Loop(); i++ {
		h.record(time.Duration(i%100_000) * time.Microsecond)
	}
}
