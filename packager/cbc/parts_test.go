package cbc

import (
	"bytes"
	"fmt"
	"testing"
)

func TestEncryptPartsMatchesEncrypt(t *testing.T) {
	for name, plain := range testInputs(t) {
		// Cut points around block boundaries, at the ends and in the
		// middle, so parts end inside, at and across blocks.
		var cuts [][]int
		for _, c := range []int{0, 1, 15, 16, 17, 31, 33, len(plain) / 2, len(plain) - 1, len(plain)} {
			if c >= 0 && c <= len(plain) {
				cuts = append(cuts, []int{c}, []int{c / 2, c})
			}
		}
		want := Encrypt(nil, plain, testKey, testIV)
		for _, cut := range cuts {
			t.Run(fmt.Sprintf("%s/cut %v", name, cut), func(t *testing.T) {
				var parts [][]byte
				start := 0
				for _, c := range cut {
					parts = append(parts, plain[start:c])
					start = c
				}
				parts = append(parts, plain[start:])

				got := EncryptParts([]byte("keep"), testKey, testIV, parts...)
				if !bytes.Equal(got[:4], []byte("keep")) {
					t.Fatal("dst prefix overwritten")
				}
				if !bytes.Equal(got[4:], want) {
					t.Errorf("EncryptParts of %d parts differs from Encrypt (%d and %d bytes)", len(parts), len(got)-4, len(want))
				}
			})
		}
	}
}

func TestEncryptPartsNoParts(t *testing.T) {
	if got, want := EncryptParts(nil, testKey, testIV), Encrypt(nil, nil, testKey, testIV); !bytes.Equal(got, want) {
		t.Errorf("no parts: got %x, want %x (one padding block)", got, want)
	}
}

func TestEncryptInPlaceMatchesEncrypt(t *testing.T) {
	for name, plain := range testInputs(t) {
		t.Run(name, func(t *testing.T) {
			want := Encrypt(nil, plain, testKey, testIV)
			for _, extra := range []int{0, BlockSize} {
				buf := append(make([]byte, 0, len(plain)+extra), plain...)
				got := EncryptInPlace(buf, testKey, testIV)
				if !bytes.Equal(got, want) {
					t.Errorf("capacity +%d: EncryptInPlace differs from Encrypt (%d and %d bytes)", extra, len(got), len(want))
				}
				if extra == BlockSize && len(plain) > 0 && &got[0] != &buf[:1][0] {
					t.Errorf("capacity +%d: the result does not reuse the buffer", extra)
				}
			}
		})
	}
}
