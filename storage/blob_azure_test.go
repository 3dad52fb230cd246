package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// The Azure Storage emulator's development account. Microsoft publishes
// this name and key for local emulators; they open nothing else.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite is an Azurite blob server that a test started on loopback.
type azurite struct {
	cmd  *exec.Cmd
	port int
}

// findAzurite returns the azurite-blob command: $AZURITE_BLOB, the copy
// that `npm ci` installs in testdata/azurite, or one on PATH.
func findAzurite() string {
	if bin := os.Getenv("AZURITE_BLOB"); bin != "" {
		return bin
	}
	local := filepath.Join("testdata", "azurite", "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(local); err == nil {
		return local
	}
	if bin, err := exec.LookPath("azurite-blob"); err == nil {
		return bin
	}
	return ""
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	bin := findAzurite()
	if bin == "" {
		msg := "azurite-blob not found: run `npm ci` in storage/testdata/azurite or set AZURITE_BLOB"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	port := freePort(t)
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", t.TempDir(), "--skipApiVersionCheck",
		// Telemetry would send requests off this machine.
		"--disableTelemetry", "--silent")
	log, err := os.Create(filepath.Join(t.TempDir(), "azurite.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	a := &azurite{cmd: cmd, port: port}
	t.Cleanup(a.stop)

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", a.addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return a
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("azurite did not listen on %s within 30 s: %v\n%s", a.addr(), err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *azurite) addr() string { return "127.0.0.1:" + strconv.Itoa(a.port) }

func (a *azurite) stop() {
	if a.cmd.ProcessState == nil {
		a.cmd.Process.Kill()
		a.cmd.Wait()
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// location returns the media URL of container media with the shared key
// in the environment that env returns.
func (a *azurite) location(prefix string) string {
	return fmt.Sprintf("azblob://%s/%s?localemu=true&protocol=http&domain=%s", testBucket, prefix, a.addr())
}

func (a *azurite) env(name string) string {
	switch name {
	case "AZURE_STORAGE_ACCOUNT":
		return azuriteAccount
	case "AZURE_STORAGE_KEY":
		return azuriteKey
	}
	return ""
}

func (a *azurite) open(t *testing.T, prefix string, opts BlobOptions) *Blob {
	t.Helper()
	opts.Getenv = a.env
	s, err := NewBlob(context.Background(), a.location(prefix), opts)
	if err != nil {
		t.Fatalf("NewBlob: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (a *azurite) createContainer(t *testing.T, s *Blob) {
	t.Helper()
	var client *container.Client
	if !s.bucket.As(&client) {
		t.Fatal("the bucket is not an Azure container")
	}
	if _, err := client.Create(context.Background(), nil); err != nil {
		t.Fatalf("creating the container: %v", err)
	}
}

func TestAzureStore(t *testing.T) {
	az := startAzurite(t)
	s := az.open(t, "library", BlobOptions{})
	az.createContainer(t, s)
	uploadSample(t, s)

	checkBlobStore(t, func(t *testing.T) *Blob { return az.open(t, "library", BlobOptions{}) })
}

func TestAzureConnectionString(t *testing.T) {
	az := startAzurite(t)
	setup := az.open(t, "", BlobOptions{})
	az.createContainer(t, setup)
	uploadSample(t, setup)

	connStr := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://%s/%s;",
		azuriteAccount, azuriteKey, az.addr(), azuriteAccount)
	env := func(name string) string {
		if name == "AZURE_STORAGE_CONNECTION_STRING" {
			return connStr
		}
		return ""
	}
	s, err := NewBlob(context.Background(), "azblob://"+testBucket, BlobOptions{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkList(t, s)
}

func TestAzureBlobReplaced(t *testing.T) {
	az := startAzurite(t)
	s := az.open(t, "", BlobOptions{})
	az.createContainer(t, s)
	checkBlobReplaced(t, s)
}

func TestAzureServerStopped(t *testing.T) {
	az := startAzurite(t)
	s := az.open(t, "", faultOptions)
	az.createContainer(t, s)
	uploadSample(t, s)
	obj, err := s.Open(context.Background(), sampleAsset, "video_640x360_400k.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.ReadAt(make([]byte, 4096), 0); err != nil {
		t.Fatalf("ReadAt before the stop: %v", err)
	}

	az.stop()
	start := time.Now()
	n, err := obj.ReadAt(make([]byte, 200<<10), 100<<10)
	if !errors.Is(err, ErrUnavailable) || n != 0 {
		t.Errorf("ReadAt after the stop = %d, %v, want 0, ErrUnavailable", n, err)
	}
	if elapsed := time.Since(start); elapsed > faultBound {
		t.Errorf("ReadAt took %v, more than the retry bound %v", elapsed, faultBound)
	}
}

// TestAzureSecretsNotInErrors points the store at a closed port with a
// SAS token and a shared key and checks that no error repeats them.
func TestAzureSecretsNotInErrors(t *testing.T) {
	const sas = "sv=2022-11-02&ss=b&srt=co&sp=rl&sig=SECRETSIGNATURE%3D"
	port := freePort(t)
	tests := []struct {
		name   string
		env    map[string]string
		secret string
	}{
		{"SAS token", map[string]string{"AZURE_STORAGE_ACCOUNT": azuriteAccount, "AZURE_STORAGE_SAS_TOKEN": sas}, "SECRETSIGNATURE"},
		{"shared key", map[string]string{"AZURE_STORAGE_ACCOUNT": azuriteAccount, "AZURE_STORAGE_KEY": azuriteKey}, azuriteKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := fmt.Sprintf("azblob://%s?localemu=true&protocol=http&domain=127.0.0.1:%d", testBucket, port)
			s, err := NewBlob(context.Background(), loc, BlobOptions{
				Getenv:         func(k string) string { return tt.env[k] },
				RequestTimeout: time.Second,
				Retry:          RetryPolicy{MaxRetries: -1},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			_, err = s.Open(context.Background(), sampleAsset, "video.mp4")
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Open error = %v, want ErrUnavailable", err)
			}
			for _, secret := range []string{tt.secret, "sig="} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
		})
	}
}
