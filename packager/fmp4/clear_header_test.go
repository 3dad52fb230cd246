package fmp4

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lockstream/lockstream/packager"
)

// TestClearHeaderThenDataMatchesWhole checks that the header written from
// the sample table alone, followed by the sample data, is byte for byte
// what Segment and SmoothFragment return for a clear fragment.
func TestClearHeaderThenDataMatchesWhole(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			for i, r := range splitTwoSeconds(src.Track) {
				seq := uint32(i + 1)
				samples := src.Samples[r.Start:r.End]
				data := src.data(r.Start, r.End)

				whole, err := Segment(nil, src.Track, seq, r.Start, samples, data, packager.Protection{})
				if err != nil {
					t.Fatalf("Segment %d: %v", seq, err)
				}
				header, err := ClearSegmentHeader([]byte("prefix"), src.Track, seq, r.Start, samples)
				if err != nil {
					t.Fatalf("ClearSegmentHeader %d: %v", seq, err)
				}
				if got := append(header[len("prefix"):], data...); !bytes.Equal(got, whole) {
					t.Errorf("segment %d: header and data (%d bytes) differ from Segment (%d bytes)", seq, len(got), len(whole))
				}

				whole, err = SmoothFragment(nil, src.Track, seq, r.Start, samples, data, smoothTimescale, packager.Protection{})
				if err != nil {
					t.Fatalf("SmoothFragment %d: %v", seq, err)
				}
				header, err = ClearSmoothFragmentHeader(nil, src.Track, seq, r.Start, samples, smoothTimescale)
				if err != nil {
					t.Fatalf("ClearSmoothFragmentHeader %d: %v", seq, err)
				}
				if got := append(header, data...); !bytes.Equal(got, whole) {
					t.Errorf("fragment %d: header and data (%d bytes) differ from SmoothFragment (%d bytes)", seq, len(got), len(whole))
				}
			}
		})
	}
}

// TestClearHeaderRejectsBadRange checks that a sample range outside the
// track is rejected with ErrNotFound and leaves dst as it was.
func TestClearHeaderRejectsBadRange(t *testing.T) {
	src := allMedia[0].load(t)
	samples := src.Samples[:2]
	first := len(src.Samples) - 1 // two samples from here run past the end

	got, err := ClearSegmentHeader([]byte("prefix"), src.Track, 1, first, samples)
	if !errors.Is(err, packager.ErrNotFound) {
		t.Errorf("ClearSegmentHeader error = %v, want ErrNotFound", err)
	}
	if string(got) != "prefix" {
		t.Errorf("ClearSegmentHeader dst = %q, want %q", got, "prefix")
	}

	got, err = ClearSmoothFragmentHeader([]byte("prefix"), src.Track, 1, first, samples, smoothTimescale)
	if !errors.Is(err, packager.ErrNotFound) {
		t.Errorf("ClearSmoothFragmentHeader error = %v, want ErrNotFound", err)
	}
	if string(got) != "prefix" {
		t.Errorf("ClearSmoothFragmentHeader dst = %q, want %q", got, "prefix")
	}
}
