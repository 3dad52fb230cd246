package policy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMasterKeyFromValue(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, MasterKeySize)
	tests := []struct {
		name    string
		value   string
		wantErr bool
	}{
		{"hex", hex.EncodeToString(key), false},
		{"base64", base64.StdEncoding.EncodeToString(key), false},
		{"base64 with newline", base64.StdEncoding.EncodeToString(key) + "\n", false},
		{"short", hex.EncodeToString(key[:16]), true},
		{"garbage", "not a key at all!", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadMasterKey(tt.value, t.TempDir(), nil)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("LoadMasterKey = %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), "LOCKSTREAM_MASTER_KEY") || strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
					t.Errorf("error %q must name the variable and not contain the value", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("LoadMasterKey = %x, %v; want %x", got, err, key)
			}
		})
	}
}

func TestLoadMasterKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	first, err := LoadMasterKey("", dir, logger)
	if err != nil {
		t.Fatalf("first LoadMasterKey: %v", err)
	}
	path := filepath.Join(dir, MasterKeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	if !strings.Contains(logs.String(), "created master key file") {
		t.Errorf("creation not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), hex.EncodeToString(first)) {
		t.Errorf("log contains the master key")
	}

	second, err := LoadMasterKey("", dir, logger)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("second LoadMasterKey = %x, %v; want the same key", second, err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadMasterKey("", dir, logger)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadMasterKey(0644 file) = %v, want a refusal that says chmod 600", err)
	}
}
