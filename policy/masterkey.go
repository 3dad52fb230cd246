package policy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the length of the master key: an AES-256 key.
const MasterKeySize = 32

// MasterKeyFile is the name of the key file LoadMasterKey keeps in the data
// folder when no key is configured.
const MasterKeyFile = "master.key"

// LoadMasterKey returns the master key that encrypts content keys at rest.
//
// value is the configured key (the LOCKSTREAM_MASTER_KEY environment
// variable or the config file): 32 bytes as 64 hex digits or base64. When
// value is empty, the key comes from the file MasterKeyFile in dataDir,
// which is created with mode 0600 and a random key on first start. A key
// file that group or others can access is rejected. Losing the key makes
// every stored content key unreadable.
func LoadMasterKey(value string, dataDir string, logger *slog.Logger) ([]byte, error) {
	if value != "" {
		key, err := decodeMasterKey(value)
		if err != nil {
			return nil, fmt.Errorf("reading LOCKSTREAM_MASTER_KEY: %w", err)
		}
		return key, nil
	}

	path := filepath.Join(dataDir, MasterKeyFile)
	key, err := readMasterKeyFile(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	key, err = createMasterKeyFile(dataDir, path)
	if err != nil {
		return nil, err
	}
	if logger != nil {
		logger.Info("created master key file; back it up, stored content keys cannot be read without it",
			"component", "policy", "path", path)
	}
	return key, nil
}

// decodeMasterKey accepts 64 hex digits or standard/URL base64 of 32
// bytes. Its errors never contain the value.
func decodeMasterKey(value string) ([]byte, error) {
	value = strings.TrimSpace(value)
	if len(value) == 2*MasterKeySize {
		if key, err := hex.DecodeString(value); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(value)
		if err != nil {
			continue
		}
		if len(key) != MasterKeySize {
			return nil, fmt.Errorf("master key is %d bytes, want %d (generate one with: openssl rand -hex 32): %w",
				len(key), MasterKeySize, ErrInvalid)
		}
		return key, nil
	}
	return nil, fmt.Errorf("master key is neither 64 hex digits nor base64 (generate one with: openssl rand -hex 32): %w", ErrInvalid)
}

func readMasterKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading master key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key file %q has mode %04o, which lets group or others read it; run: chmod 600 %s",
			path, perm, path)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading master key file: %w", err)
	}
	key, err := decodeMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("reading master key file %q: %w", path, err)
	}
	return key, nil
}

func createMasterKeyFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data folder for the master key: %w", err)
	}

	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating master key: %w", err)
	}

	// O_EXCL: two processes starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating master key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing master key file %q: %w", path, err)
	}
	return key, nil
}
