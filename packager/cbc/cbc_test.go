package cbc

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// testKey and testIV are the public key and IV of NIST SP 800-38A F.2.1.
var (
	testKey = [16]byte{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	testIV  = [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
)

// The first block of the CBC-AES128.Encrypt vector of NIST SP 800-38A,
// appendix F.2.1.
func TestEncryptKnownAnswer(t *testing.T) {
	plain, _ := hex.DecodeString("6bc1bee22e409f96e93d7e117393172a")
	want := "7649abac8119b246cee98e9b12e9197d"
	got := Encrypt(nil, plain, testKey, testIV)
	if len(got) != 32 {
		t.Fatalf("%d bytes, want 32: a whole padding block after 16 bytes", len(got))
	}
	if hex.EncodeToString(got[:16]) != want {
		t.Errorf("first block %x, want %s", got[:16], want)
	}
}

// testInputs returns the plaintexts of the round-trip tests: lengths around
// the block size and a real media file.
func testInputs(t *testing.T) map[string][]byte {
	t.Helper()
	inputs := map[string][]byte{}
	for _, n := range []int{0, 1, 15, 16, 17, 4096} {
		b := make([]byte, n)
		rand.Read(b)
		inputs[strconv.Itoa(n)] = b
	}
	media, err := os.ReadFile("../../testdata/media/sample/video_416x234_200k.mp4")
	if err != nil {
		t.Fatal(err)
	}
	inputs["media file"] = media
	return inputs
}

func TestEncryptRoundTrip(t *testing.T) {
	for name, plain := range testInputs(t) {
		t.Run(name, func(t *testing.T) {
			prefix := []byte("keep")
			enc := Encrypt(append([]byte(nil), prefix...), plain, testKey, testIV)
			if !bytes.Equal(enc[:4], prefix) {
				t.Fatalf("dst prefix overwritten")
			}
			enc = enc[4:]
			if want := len(plain)/16*16 + 16; len(enc) != want {
				t.Fatalf("%d bytes of ciphertext, want %d", len(enc), want)
			}

			dec, err := Decrypt(nil, enc, testKey, testIV)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec, plain) {
				t.Errorf("Decrypt gave %d bytes that differ from the %d-byte input", len(dec), len(plain))
			}
		})
	}
}

func TestEncryptOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required on CI: %v", err)
		}
		t.Skipf("openssl not installed: %v", err)
	}
	for name, plain := range testInputs(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "segment.enc")
			if err := os.WriteFile(path, Encrypt(nil, plain, testKey, testIV), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("openssl", "aes-128-cbc", "-d", "-in", path,
				"-K", hex.EncodeToString(testKey[:]), "-iv", hex.EncodeToString(testIV[:]))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl: %v: %s", err, stderr.String())
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("openssl gave %d bytes that differ from the %d-byte input", len(got), len(plain))
			}
		})
	}
}

func TestDecryptRejects(t *testing.T) {
	plain := []byte("seventeen bytes!!")
	enc := Encrypt(nil, plain, testKey, testIV)
	otherKey := testKey
	otherKey[0] ^= 1

	// Each padding byte value 0 and 17..255 is invalid, as is a last block
	// whose padding bytes disagree.
	badPad := func(last []byte) []byte {
		var block [16]byte
		copy(block[16-len(last):], last)
		return Encrypt(nil, block[:], testKey, testIV)[:16]
	}
	tests := []struct {
		name       string
		ciphertext []byte
		key        [16]byte
		padding    bool
	}{
		{"empty", nil, testKey, false},
		{"not whole blocks", enc[:20], testKey, false},
		{"padding byte 0", badPad([]byte{0}), testKey, true},
		{"padding byte 17", badPad([]byte{17}), testKey, true},
		{"padding bytes differ", badPad([]byte{2, 3, 3}), testKey, true},
		{"wrong key", enc, otherKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt([]byte("x"), tt.ciphertext, tt.key, testIV)
			if err == nil {
				// A wrong key yields valid-looking padding about 1 in 256
				// times, but this key and IV are fixed, so the outcome is too.
				t.Fatalf("no error, got %d bytes", len(got))
			}
			if errors.Is(err, ErrPadding) != tt.padding {
				t.Errorf("error %v, padding error %t", err, tt.padding)
			}
			if string(got) != "x" {
				t.Errorf("dst changed on error")
			}
		})
	}
}

func TestValidPadding(t *testing.T) {
	for pad := 0; pad <= 17; pad++ {
		last := make([]byte, 16)
		for i := 16 - min(pad, 16); i < 16; i++ {
			last[i] = byte(pad)
		}
		want := pad >= 1 && pad <= 16
		if got := validPadding(last, pad); got != want {
			t.Errorf("padding %d: valid %t, want %t", pad, got, want)
		}
	}
}

// segmentSize is the plaintext of BenchmarkEncryptCBC: a 6 s segment at
// about 3.2 Mbit/s.
const segmentSize = 2_400_000

func BenchmarkEncryptCBC(b *testing.B) {
	src := make([]byte, segmentSize)
	rand.Read(src)
	dst := Encrypt(nil, src, testKey, testIV)
	b.SetBytes(segmentSize)
	b.ReportAllocs()
	for b.Loop() {
		dst = Encrypt(dst[:0], src, testKey, testIV)
	}
}

func BenchmarkWriter(b *testing.B) {
	src := make([]byte, segmentSize)
	rand.Read(src)
	var out bytes.Buffer
	out.Grow(segmentSize + 16)
	b.SetBytes(segmentSize)
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w := NewWriter(&out, testKey, testIV)
		w.Write(src)
		w.Close()
	}
}

// BenchmarkStdlibCBC is the bare crypto/cipher CBC encryption of the same
// input, the ceiling for BenchmarkEncryptCBC on the machine at hand.
func BenchmarkStdlibCBC(b *testing.B) {
	src := make([]byte, segmentSize/16*16)
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		cipher.NewCBCEncrypter(newBlock(testKey), testIV[:]).CryptBlocks(dst, src)
	}
}
