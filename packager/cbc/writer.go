package cbc

import (
	"crypto/cipher"
	"errors"
	"io"
)

// chunkSize is how much ciphertext Writer collects before writing it on.
const chunkSize = 32 << 10

// Writer encrypts what is written to it with AES-128-CBC and writes the
// ciphertext on to an underlying io.Writer, so a large segment can be sent
// while it is being built. Close adds the PKCS#7 padding. The bytes written
// on are exactly what Encrypt returns for the same input.
type Writer struct {
	w    io.Writer
	mode cipher.BlockMode

	pending    [BlockSize]byte // plaintext not yet a whole block
	pendingLen int
	out        []byte
	err        error
}

// NewWriter returns a Writer that encrypts to w under key and iv.
func NewWriter(w io.Writer, key, iv [16]byte) *Writer {
	return &Writer{w: w, mode: cipher.NewCBCEncrypter(newBlock(key), iv[:])}
}

var errClosed = errors.New("cbc: write after Close")

// Write encrypts the whole blocks of p, keeps the rest for the next call
// and returns len(p) unless the underlying writer failed.
func (e *Writer) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	written := len(p)

	if e.pendingLen > 0 {
		n := copy(e.pending[e.pendingLen:], p)
		e.pendingLen += n
		p = p[n:]
		if e.pendingLen < BlockSize {
			return written, nil
		}
		e.pendingLen = 0
		if err := e.encrypt(e.pending[:]); err != nil {
			return 0, err
		}
	}

	full := len(p) - len(p)%BlockSize
	for start := 0; start < full; start += chunkSize {
		if err := e.encrypt(p[start:min(start+chunkSize, full)]); err != nil {
			return 0, err
		}
	}
	e.pendingLen = copy(e.pending[:], p[full:])
	return written, nil
}

// Close encrypts the padded last block and writes it on. It does not close
// the underlying writer.
func (e *Writer) Close() error {
	if e.err != nil {
		if e.err == errClosed {
			return nil
		}
		return e.err
	}
	pad := byte(BlockSize - e.pendingLen)
	for i := e.pendingLen; i < BlockSize; i++ {
		e.pending[i] = pad
	}
	err := e.encrypt(e.pending[:])
	if err == nil {
		e.err = errClosed
	}
	return err
}

// encrypt encrypts whole blocks and writes them on, remembering a failure.
func (e *Writer) encrypt(p []byte) error {
	if e.out == nil {
		e.out = make([]byte, chunkSize)
	}
	out := e.out[:len(p)]
	e.mode.CryptBlocks(out, p)
	if _, err := e.w.Write(out); err != nil {
		e.err = err
		return err
	}
	return nil
}
