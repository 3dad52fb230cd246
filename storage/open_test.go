package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLocationLocal(t *testing.T) {
	dir, err := filepath.Abs(filepath.Dir(sampleDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{dir, "file://" + dir} {
		t.Run(loc, func(t *testing.T) {
			s, err := OpenLocation(context.Background(), loc, BlobOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, ok := s.(*Local); !ok {
				t.Fatalf("OpenLocation returned %T, want *Local", s)
			}
			if _, err := s.Open(context.Background(), sampleAsset, "sample.ism"); err != nil {
				t.Errorf("Open: %v", err)
			}
		})
	}
}

func TestOpenLocationInvalid(t *testing.T) {
	noEnv := func(string) string { return "" }
	// The AWS SDK reads the region from the environment and the shared
	// config file itself.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "missing"))
	tests := []struct {
		name, location string
	}{
		{"empty", ""},
		{"unknown scheme", "gs://bucket"},
		{"file URL with host", "file://host/media"},
		{"s3 without bucket", "s3:///prefix?region=us-east-1"},
		{"s3 without region", "s3://bucket"},
		{"s3 unknown parameter", "s3://bucket?region=us-east-1&colour=blue"},
		{"s3 bad boolean", "s3://bucket?region=us-east-1&use_path_style=maybe"},
		{"azblob without container", "azblob://"},
		{"azblob without account", "azblob://media"},
		{"azblob unknown parameter", "azblob://media?storage_account=a&colour=blue"},
		{"azblob emulator on another host", "azblob://media?storage_account=a&localemu=true&protocol=http&domain=example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenLocation(context.Background(), tt.location, BlobOptions{Getenv: noEnv})
			if err == nil {
				s.Close()
				t.Fatalf("OpenLocation(%q) succeeded, want an error", tt.location)
			}
			if !errors.Is(err, ErrInvalidLocation) {
				t.Errorf("OpenLocation(%q) error = %v, want ErrInvalidLocation", tt.location, err)
			}
		})
	}
}

func TestNewBlobPrefix(t *testing.T) {
	env := func(k string) string {
		if k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" {
			return "x"
		}
		return ""
	}
	tests := []struct {
		location, wantPrefix string
	}{
		{"s3://bucket?region=us-east-1", ""},
		{"s3://bucket/?region=us-east-1", ""},
		{"s3://bucket/media?region=us-east-1", "media/"},
		{"s3://bucket/a/b/?region=us-east-1", "a/b/"},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			s, err := NewBlob(context.Background(), tt.location, BlobOptions{Getenv: env})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.prefix != tt.wantPrefix {
				t.Errorf("prefix = %q, want %q", s.prefix, tt.wantPrefix)
			}
			if strings.Contains(s.String(), "?") {
				t.Errorf("String() = %q includes the query", s.String())
			}
		})
	}
}
