package policy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// errUnseal is returned for a sealed value that fails authentication.
var errUnseal = errors.New("message authentication failed: wrong master key or altered database row")

// sealer encrypts secrets at rest with AES-256-GCM under the master key. A
// sealed value is the 12-byte random nonce followed by the ciphertext and
// the 16-byte tag. The additional data binds each value to its row (the
// key ID for a content key), so a value copied into another row fails to
// open.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(masterKey []byte) (*sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d: %w", len(masterKey), MasterKeySize, ErrInvalid)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher for the master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating AES-GCM for the master key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plaintext, additionalData []byte) ([]byte, error) {
	nonceSize := s.aead.NonceSize()
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("generating nonce: %w", err)
	}
	return s.aead.Seal(out, out, plaintext, additionalData), nil
}

func (s *sealer) open(dst, sealed, additionalData []byte) ([]byte, error) {
	nonceSize := s.aead.NonceSize()
	if len(sealed) < nonceSize+s.aead.Overhead() {
		return nil, fmt.Errorf("sealed value is %d bytes, too short: %w", len(sealed), errUnseal)
	}
	out, err := s.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], additionalData)
	if err != nil {
		return nil, errUnseal
	}
	return out, nil
}
