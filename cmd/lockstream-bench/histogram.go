package main

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear, in the manner of HdrHistogram:
// values below subBucketCount microseconds get a bucket each, and every
// power-of-two range above is split into subBucketCount buckets. A
// recorded value is therefore known to within 1/subBucketCount (3.1%) of
// itself, and the histogram has a fixed size whatever the run length.
const (
	subBucketBits  = 5
	subBucketCount = 1 << subBucketBits
	// maxShift bounds the largest power-of-two range: values above
	// 2^(maxShift+subBucketBits+1) µs (about 19 hours) go to the last bucket.
	maxShift    = 30
	bucketCount = subBucketCount + (maxShift+1)*subBucketCount
	maxValue    = uint64(1)<<(maxShift+subBucketBits+1) - 1
)

// histogram counts latencies in microseconds. It is not safe for
// concurrent use: each virtual client records into its own and the
// results are merged at the end.
type histogram struct {
	counts [bucketCount]uint64
	total  uint64
	sum    uint64 // µs, for the mean
	min    uint64
	max    uint64
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d.Microseconds(), 0))
	v = min(v, maxValue)
	h.counts[bucketIndex(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.total++
	h.sum += v
}

func (h *histogram) merge(o *histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// quantile returns the value at quantile q (0 < q <= 1) as the upper
// bound of the bucket that holds it, capped at the largest recorded value.
// It returns 0 for an empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)

	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketUpper(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum/h.total) * time.Microsecond
}

// bucketIndex maps v to its bucket. Below subBucketCount the index is v.
// Above, shift is how far v must move right to keep its top
// subBucketBits+1 bits, and those bits select the sub-bucket.
func bucketIndex(v uint64) int {
	if v < subBucketCount {
		return int(v)
	}
	shift := bits.Len64(v) - (subBucketBits + 1)
	top := v >> shift // in [subBucketCount, 2*subBucketCount)
	return subBucketCount + shift*subBucketCount + int(top-subBucketCount)
}

// bucketUpper returns the largest value that maps to bucket i.
func bucketUpper(i int) uint64 {
	if i < subBucketCount {
		return uint64(i)
	}
	shift := (i - subBucketCount) / subBucketCount
	top := uint64(subBucketCount + (i-subBucketCount)%subBucketCount)
	return (top+1)<<shift - 1
}
