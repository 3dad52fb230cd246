package packager

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingReader counts ReadAt calls.
type countingReader struct {
	r     *bytes.Reader
	calls atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	return c.r.ReadAt(p, off)
}

func TestReadSamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "video_416x234_200k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := IndexFile(newMemFile(data), "v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	tr := idx.Tracks[0]
	r := SampleRange{Start: 10, End: 60}

	var want []byte
	for _, s := range tr.Samples[r.Start:r.End] {
		want = append(want, data[s.Offset:s.Offset+int64(s.Size)]...)
	}
	cr := &countingReader{r: bytes.NewReader(data)}
	prefix := []byte("prefix")
	got, err := ReadSamples(cr, tr, r, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:6], prefix) || !bytes.Equal(got[6:], want) {
		t.Error("sample data differs from the file's bytes")
	}
	// The samples of one chunk run are adjacent in this file.
	if n := cr.calls.Load(); n != 1 {
		t.Errorf("got %d ReadAt calls, want 1 for adjacent samples", n)
	}
}

func TestReadSamplesShortRead(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "audio_eng_96k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := IndexFile(newMemFile(data), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	tr := idx.Tracks[0]
	tr.Name = "audio_eng"
	cut := newMemFile(data[:len(data)/2])
	_, err = ReadSamples(cut, tr, SampleRange{Start: 0, End: len(tr.Samples)}, nil)
	if !errors.Is(err, ErrInvalidMedia) || !strings.Contains(err.Error(), "audio_eng") || !strings.Contains(err.Error(), "offset") {
		t.Errorf("got %v, want ErrInvalidMedia naming the track and offset", err)
	}
}

func BenchmarkReadSamples(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "video_854x480_700k.mp4"))
	if err != nil {
		b.Fatal(err)
	}
	idx, err := IndexFile(newMemFile(data), "v.mp4")
	if err != nil {
		b.Fatal(err)
	}
	tr := idx.Tracks[0]
	r := SampleRange{Start: 0, End: 48}
	f := newMemFile(data)
	var n int64
	for _, s := range tr.Samples[:48] {
		n += int64(s.Size)
	}
	buf := make([]byte, 0, n)
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		if _, err := ReadSamples(f, tr, r, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
