package cbc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestWriterMatchesEncrypt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 100_000} {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		var out bytes.Buffer
		w := NewWriter(&out, testKey, testIV)
		for rest := plain; len(rest) > 0; {
			k := min(len(rest), rng.IntN(40_000)+1)
			if got, err := w.Write(rest[:k]); got != k || err != nil {
				t.Fatalf("Write of %d bytes: %d, %v", k, got, err)
			}
			rest = rest[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want := Encrypt(nil, plain, testKey, testIV); !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%d bytes: writer output differs from Encrypt", n)
		}
		if _, err := w.Write([]byte{1}); err == nil {
			t.Errorf("Write after Close succeeded")
		}
	}
}

type failingWriter struct{}

var errSink = errors.New("sink failed")

func (failingWriter) Write(p []byte) (int, error) { return 0, errSink }

func TestWriterReportsWriteError(t *testing.T) {
	w := NewWriter(failingWriter{}, testKey, testIV)
	if _, err := w.Write(make([]byte, 32)); !errors.Is(err, errSink) {
		t.Errorf("Write error %v, want %v", err, errSink)
	}
	if err := w.Close(); !errors.Is(err, errSink) {
		t.Errorf("Close error %v, want %v", err, errSink)
	}
}
