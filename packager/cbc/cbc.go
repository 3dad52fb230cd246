// Package cbc encrypts whole HLS segments with AES-128-CBC and PKCS#7
// padding, the METHOD=AES-128 envelope encryption of RFC 8216 section
// 4.3.2.4, for MPEG-TS and fMP4 segments alike.
package cbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
)

// BlockSize is the AES block size in bytes.
const BlockSize = aes.BlockSize

// ErrPadding reports a ciphertext whose PKCS#7 padding is invalid: a wrong
// key or IV, or a truncated or altered segment.
var ErrPadding = errors.New("cbc: invalid padding")

// Encrypt appends AES-128-CBC(src) with PKCS#7 padding to dst and returns
// the extended slice. Padding is always added: 1 to 16 bytes, a whole block
// when len(src) is a multiple of 16 (RFC 5652 section 6.3), so the output is
// len(src)/16*16+16 bytes. src must not overlap the bytes appended to dst.
//
// aes.NewCipher and cipher.NewCBCEncrypter are created per call. Against
// the encryption of a segment their cost is negligible (see
// BenchmarkEncryptCBC), and no key stays in a cache.
func Encrypt(dst, src []byte, key, iv [16]byte) []byte {
	n := len(src)
	full := n - n%BlockSize
	out, tail := extend(dst, full+BlockSize)

	mode := cipher.NewCBCEncrypter(newBlock(key), iv[:])
	mode.CryptBlocks(tail[:full], src[:full])

	var last [BlockSize]byte
	copy(last[:], src[full:])
	pad := byte(BlockSize - (n - full))
	for i := n - full; i < BlockSize; i++ {
		last[i] = pad
	}
	mode.CryptBlocks(tail[full:], last[:])
	return out
}

// EncryptInPlace encrypts buf with AES-128-CBC and PKCS#7 padding in
// place and returns the ciphertext, which is what Encrypt returns for buf.
// The padding is appended to buf, so the result reuses buf's array when its
// capacity has room for up to BlockSize more bytes, and a new array
// otherwise.
func EncryptInPlace(buf []byte, key, iv [16]byte) []byte {
	n := len(buf)
	full := n - n%BlockSize
	out := slices.Grow(buf, full+BlockSize-n)[:full+BlockSize]
	pad := byte(BlockSize - (n - full))
	for i := n; i < len(out); i++ {
		out[i] = pad
	}
	cipher.NewCBCEncrypter(newBlock(key), iv[:]).CryptBlocks(out, out)
	return out
}

// EncryptParts appends AES-128-CBC with PKCS#7 padding of the
// concatenation of parts to dst and returns the extended slice: the bytes
// Encrypt returns for the joined parts, without joining them first. The
// parts must not overlap the bytes appended to dst.
func EncryptParts(dst []byte, key, iv [16]byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out, tail := extend(dst, n-n%BlockSize+BlockSize)
	mode := cipher.NewCBCEncrypter(newBlock(key), iv[:])

	// pending carries the start of a block that a part ended inside of.
	var pending [BlockSize]byte
	pendingLen, w := 0, 0
	for _, p := range parts {
		if pendingLen > 0 {
			c := copy(pending[pendingLen:], p)
			pendingLen += c
			p = p[c:]
			if pendingLen < BlockSize {
				continue
			}
			mode.CryptBlocks(tail[w:w+BlockSize], pending[:])
			w += BlockSize
			pendingLen = 0
		}
		full := len(p) - len(p)%BlockSize
		mode.CryptBlocks(tail[w:w+full], p[:full])
		w += full
		pendingLen = copy(pending[:], p[full:])
	}

	pad := byte(BlockSize - pendingLen)
	for i := pendingLen; i < BlockSize; i++ {
		pending[i] = pad
	}
	mode.CryptBlocks(tail[w:], pending[:])
	return out
}

// Decrypt appends the plaintext of an Encrypt output to dst and returns the
// extended slice. It returns ErrPadding and dst unchanged when the padding
// is invalid, and the error does not say which byte failed.
func Decrypt(dst, src []byte, key, iv [16]byte) ([]byte, error) {
	if len(src) == 0 || len(src)%BlockSize != 0 {
		return dst, fmt.Errorf("cbc: ciphertext of %d bytes is not a positive multiple of %d", len(src), BlockSize)
	}
	out, tail := extend(dst, len(src))
	cipher.NewCBCDecrypter(newBlock(key), iv[:]).CryptBlocks(tail, src)

	pad := int(tail[len(tail)-1])
	if !validPadding(tail[len(tail)-BlockSize:], pad) {
		return dst, ErrPadding
	}
	return out[:len(out)-pad], nil
}

// validPadding checks the PKCS#7 padding of the last block in constant
// time, so a caller's timing reveals no more than the error does.
func validPadding(last []byte, pad int) bool {
	ok := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, BlockSize)
	for i, b := range last {
		inPad := subtle.ConstantTimeLessOrEq(BlockSize-pad, i)
		match := subtle.ConstantTimeByteEq(b, byte(pad))
		ok &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	return ok == 1
}

// extend grows dst by n bytes and returns the grown slice and the new part.
func extend(dst []byte, n int) (out, tail []byte) {
	out = slices.Grow(dst, n)[:len(dst)+n]
	return out, out[len(dst):]
}

// newBlock returns the AES-128 cipher for key. aes.NewCipher fails only for
// a key length other than 16, 24 or 32 bytes, so the panic cannot happen.
func newBlock(key [16]byte) cipher.Block {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("cbc: AES-128 with a 16-byte key failed: " + err.Error())
	}
	return block
}
