package storage

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkLocalOpenRead measures what a segment request costs the store:
// open one sample file, read 64 KiB from its middle, close it.
func BenchmarkLocalOpenRead(b *testing.B) {
	l, err := NewLocal(filepath.Join("..", "testdata", "media"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()

	ctx := context.Background()
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		o, err := l.Open(ctx, "sample", "video_640x360_400k.mp4")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.ReadAt(buf, 100_000); err != nil {
			b.Fatal(err)
		}
		o.Close()
	}
}

func BenchmarkCheckName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckName("video_640x360_400k.mp4"); err != nil {
			b.Fatal(err)
		}
	}
}
