package origin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/grafov/m3u8"

	"github.com/lockstream/lockstream/policy"
)

// TestEncryptedHLSPlaysWithToken plays AES-128 HLS (TS and fMP4) through
// ffmpeg with a bearer token and compares the decoded frames with the
// source. Without the token, ffmpeg cannot open the key.
func TestEncryptedHLSPlaysWithToken(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	media := sampleMedia(t)
	o := startOrigin(t, media)
	clear := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")
	enc := o.publishEncrypted(t, "sample-aes")
	tracks := sampleVideoTracks(t, o, clear)
	header := "Authorization: Bearer " + enc.Token + "\r\n"

	for _, family := range []string{"hls-ts", "hls-cmaf"} {
		for i, file := range sampleVideos {
			t.Run(family+"/"+file, func(t *testing.T) {
				want := frameHashes(t, ffmpeg, "-i", filepath.Join(media, "sample", file), "-map", "0:v")
				url := fmt.Sprintf("%s/%s/sample.ism/%s/cbc/%s.m3u8", o.URL, enc.ID, family, tracks[i])
				got := frameHashes(t, ffmpeg, "-headers", header, "-i", url)
				if len(got) != len(want) {
					t.Fatalf("decoded %d frames, source has %d", len(got), len(want))
				}
				for k := range want {
					if got[k] != want[k] {
						t.Fatalf("frame %d: hash %s, source %s", k, got[k], want[k])
					}
				}
			})
		}
	}

	t.Run("no token", func(t *testing.T) {
		url := manifestURL(o.URL, enc.ID, "m3u8-aapl")
		_, stderr, err := runTool(t, time.Minute, ffmpeg, "-v", "error", "-nostdin", "-i", url, "-map", "0:v:0", "-f", "null", "-")
		if err == nil && !bytes.Contains(stderr, []byte("key")) {
			t.Fatalf("ffmpeg decoded the encrypted stream without a token; stderr:\n%s", stderr)
		}
	})
}

// TestHLSSegmentsDecryptWithOpenSSL decrypts every HLS segment of every
// track with openssl, using the key and the IV its playlist gives, and
// requires the clear segment byte for byte. A wrong IV garbles only the
// first block, which playback alone does not reveal.
func TestHLSSegmentsDecryptWithOpenSSL(t *testing.T) {
	openssl := needTool(t, "openssl")
	o := startOrigin(t, sampleMedia(t))
	clear := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")
	enc := o.publishEncrypted(t, "sample-aes")
	tracks := allTracks(t, o, clear)
	keyHex := hex.EncodeToString(enc.Key.Value[:])

	seenIVs := map[string]string{}
	for _, family := range []string{"hls-ts", "hls-cmaf"} {
		for _, track := range tracks {
			base := fmt.Sprintf("%s/%s/sample.ism/%s/cbc/", o.URL, enc.ID, family)
			playlist := mediaPlaylist(t, get(t, base+track+".m3u8", nil))
			for n, seg := range playlist.Segments {
				if seg == nil {
					break
				}
				t.Run(fmt.Sprintf("%s/%s/%d", family, track, n+1), func(t *testing.T) {
					if seg.Key == nil || seg.Key.Method != "AES-128" || len(seg.Key.IV) != 34 {
						t.Fatalf("segment %d key = %+v, want METHOD=AES-128 with an explicit IV", n+1, seg.Key)
					}
					if other, dup := seenIVs[seg.Key.IV]; dup {
						t.Fatalf("IV %s used by %s too", seg.Key.IV, other)
					}
					seenIVs[seg.Key.IV] = family + "/" + track + "/" + seg.URI

					ciphertext := get(t, base+seg.URI, nil)
					plain := get(t, fmt.Sprintf("%s/%s/sample.ism/%s/clear/%s", o.URL, clear, family, seg.URI), nil)
					got := opensslDecrypt(t, openssl, ciphertext, keyHex, seg.Key.IV[2:])
					if !bytes.Equal(got, plain) {
						t.Fatalf("decrypted %d bytes differ from the %d clear bytes (first difference at %d)",
							len(got), len(plain), firstDifference(got, plain))
					}
				})
			}
		}
	}
}

// TestDASHCENCDecrypts decodes the CENC DASH stream with ffmpeg and the
// key, and decrypts every segment of every track with mp4ff, requiring
// the clear CMAF segments' sample data exactly.
func TestDASHCENCDecrypts(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	media := sampleMedia(t)
	o := startOrigin(t, media)
	clear := o.publish(t, "sample-clear", "sample", policy.PolicyClearStreamingOnly, "")
	enc := o.publishEncrypted(t, "sample-aes")
	keyHex := hex.EncodeToString(enc.Key.Value[:])

	for i, file := range sampleVideos {
		t.Run("ffmpeg/"+file, func(t *testing.T) {
			want := frameHashes(t, ffmpeg, "-i", filepath.Join(media, "sample", file), "-map", "0:v")
			got := frameHashes(t, ffmpeg, "-cenc_decryption_key", keyHex,
				"-i", manifestURL(o.URL, enc.ID, "mpd-time-csf"), "-map", fmt.Sprintf("0:v:%d", i))
			if len(got) != len(want) {
				t.Fatalf("decoded %d frames, source has %d", len(got), len(want))
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("frame %d: hash %s, source %s", k, got[k], want[k])
				}
			}
		})
	}

	counters := map[[16]byte]string{}
	for _, track := range allTracks(t, o, clear) {
		t.Run("mp4ff/"+track, func(t *testing.T) {
			encBase := fmt.Sprintf("%s/%s/sample.ism/dash/cenc/%s/", o.URL, enc.ID, track)
			clearBase := fmt.Sprintf("%s/%s/sample.ism/dash/clear/%s/", o.URL, clear, track)

			init := decodeInit(t, get(t, encBase+"init.mp4", nil))
			if got := init.Moov.Trak.Mdia.Minf.Stbl.Stsd.Children[0].Type(); got != "encv" && got != "enca" {
				t.Errorf("sample entry %q, want encv or enca", got)
			}
			// DecryptInit turns the sample entry back into the clear one.
			info, err := mp4.DecryptInit(init)
			if err != nil {
				t.Fatalf("reading protection of the init segment: %v", err)
			}

			for n := 1; ; n++ {
				ciphertext, status := fetch(t, fmt.Sprintf("%s%d.m4s", encBase, n))
				if status == http.StatusNotFound {
					if n == 1 {
						t.Fatal("no segment 1")
					}
					break
				}
				seg := decodeSegment(t, ciphertext)
				recordCounterBlocks(t, seg, counters, fmt.Sprintf("%s/%d", track, n))
				if err := mp4.DecryptSegment(seg, info, enc.Key.Value[:]); err != nil {
					t.Fatalf("segment %d: decrypting: %v", n, err)
				}
				plain := decodeSegment(t, get(t, fmt.Sprintf("%s%d.m4s", clearBase, n), nil))
				if got, want := mdatPayload(seg), mdatPayload(plain); !bytes.Equal(got, want) {
					t.Fatalf("segment %d: decrypted samples differ from the clear ones (first difference at %d of %d)",
						n, firstDifference(got, want), len(want))
				}
			}
		})
	}
	if len(counters) == 0 {
		t.Fatal("no counter blocks were checked")
	}
}

// recordCounterBlocks adds the AES-CTR counter blocks of every sample of
// the segment to seen and fails on a repeat: under one key, a counter
// block used twice leaks the XOR of two plaintexts.
func recordCounterBlocks(t *testing.T, seg *mp4.MediaSegment, seen map[[16]byte]string, where string) {
	t.Helper()
	for _, frag := range seg.Fragments {
		traf := frag.Moof.Traf
		if traf.Senc == nil {
			t.Fatalf("%s: fragment has no senc", where)
		}
		if traf.Saiz == nil || traf.Saio == nil {
			t.Errorf("%s: fragment lacks saiz or saio", where)
		}
		samples := traf.Trun.Samples
		for i, iv := range traf.Senc.IVs {
			encrypted := int(samples[i].Size)
			if traf.Senc.SubSamples != nil {
				encrypted = 0
				for _, sub := range traf.Senc.SubSamples[i] {
					encrypted += int(sub.BytesOfProtectedData)
				}
			}
			var block [16]byte
			copy(block[:8], iv)
			for b := 0; b < (encrypted+15)/16; b++ {
				binary.BigEndian.PutUint64(block[8:], uint64(b))
				if other, dup := seen[block]; dup {
					t.Fatalf("%s sample %d: counter block %x already used by %s", where, i, block, other)
				}
				seen[block] = fmt.Sprintf("%s sample %d", where, i)
			}
		}
	}
}

// TestKeyDeliveryThroughOrigin checks the outcomes of the HLS key and
// ClearKey license endpoints as mounted by the origin, and that a changed
// content key policy governs the very next request.
func TestKeyDeliveryThroughOrigin(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")
	other := o.publishEncrypted(t, "sample-aes-2")
	keyURL := o.URL + "/keys/hls/" + enc.Key.ID.String()

	cases := []struct {
		name   string
		url    string
		header http.Header
		want   int
	}{
		{"bearer token", keyURL, bearer(enc.Token), http.StatusOK},
		{"hosted service form", keyURL, http.Header{"Authorization": {"Bearer=" + enc.Token}}, http.StatusOK},
		{"query token", keyURL + "?token=" + url.QueryEscape(enc.Token), nil, http.StatusOK},
		{"no token", keyURL, nil, http.StatusUnauthorized},
		{"garbage token", keyURL, bearer("not.a.jwt"), http.StatusUnauthorized},
		{"token of another key", keyURL, bearer(other.Token), http.StatusForbidden},
		{"unknown key", o.URL + "/keys/hls/" + "00000000-0000-4000-8000-000000000001", bearer(enc.Token), http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, status := fetchWithHeader(t, c.url, c.header)
			if status != c.want {
				t.Fatalf("status %d, want %d (body %q)", status, c.want, truncate(body, 200))
			}
			if c.want == http.StatusOK && !bytes.Equal(body, enc.Key.Value[:]) {
				t.Fatalf("body is %d bytes, not the content key", len(body))
			}
			if c.want != http.StatusOK && containsKey(body, enc.Key.Value[:]) {
				t.Fatal("a refused request's body contains the key")
			}
		})
	}

	t.Run("policy update applies at once", func(t *testing.T) {
		changed := *enc.Policy
		changed.Options = append([]policy.ContentKeyPolicyOption(nil), enc.Policy.Options...)
		changed.Options[0].Restriction.Audience = "another-audience"
		if err := o.Catalog.UpdateContentKeyPolicy(context.Background(), &changed); err != nil {
			t.Fatalf("updating the policy: %v", err)
		}
		body, status := fetchWithHeader(t, keyURL, bearer(enc.Token))
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			t.Fatalf("status %d after the audience changed, want 401 or 403", status)
		}
		if containsKey(body, enc.Key.Value[:]) {
			t.Fatal("the refused body contains the key")
		}
	})
}

// TestPlaylistKeyTokenForHeaderlessPlayers requests an encrypted HLS
// manifest with ?token= and plays it with ffmpeg without any header: the
// origin writes a derived key token, never the caller's JWT, into playlist
// and key URIs, and keeps segment URLs free of tokens.
func TestPlaylistKeyTokenForHeaderlessPlayers(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")
	manifest := manifestURL(o.URL, enc.ID, "m3u8-aapl") + "?token=" + url.QueryEscape(enc.Token)

	multivariant := get(t, manifest, nil)
	if bytes.Contains(multivariant, []byte(enc.Token)) {
		t.Fatal("the multivariant playlist contains the caller's token")
	}
	if !bytes.Contains(multivariant, []byte("?token=")) {
		t.Fatalf("the multivariant playlist carries no derived token:\n%s", multivariant)
	}

	_, stderr, err := runTool(t, 2*time.Minute, ffmpeg, "-v", "error", "-nostdin", "-i", manifest, "-map", "0:v:0", "-f", "null", "-")
	if err != nil || len(stderr) > 0 {
		t.Fatalf("ffmpeg without a header: %v\n%s", err, stderr)
	}

	t.Run("segments carry no token", func(t *testing.T) {
		track := strings.TrimSuffix(firstVariantURI(t, multivariant), "")
		playlist := get(t, o.URL+"/"+enc.ID+"/sample.ism/"+track, nil)
		for _, line := range strings.Split(string(playlist), "\n") {
			if strings.HasSuffix(strings.SplitN(line, "?", 2)[0], ".ts") && strings.Contains(line, "token") {
				t.Fatalf("segment URI carries a token: %s", line)
			}
		}
		if bytes.Contains(playlist, []byte(enc.Token)) {
			t.Fatal("the media playlist contains the caller's token")
		}
	})

	t.Run("invalid token earns nothing", func(t *testing.T) {
		body := get(t, manifestURL(o.URL, enc.ID, "m3u8-aapl")+"?token=forged", nil)
		if bytes.Contains(body, []byte("token=")) {
			t.Fatalf("a forged token earned a derived token:\n%s", body)
		}
	})
}

// TestLogsHoldNoSecrets plays the encrypted streams, then searches the
// whole log output for the key in every encoding and for the token.
func TestLogsHoldNoSecrets(t *testing.T) {
	ffmpeg, _ := needFFmpeg(t)
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "sample-aes")

	header := "Authorization: Bearer " + enc.Token + "\r\n"
	for _, format := range []string{"m3u8-aapl", "m3u8-cmaf"} {
		_, stderr, err := runTool(t, 2*time.Minute, ffmpeg, "-v", "error", "-nostdin", "-headers", header,
			"-i", manifestURL(o.URL, enc.ID, format), "-map", "0", "-f", "null", "-")
		if err != nil {
			t.Fatalf("%s: ffmpeg: %v\n%s", format, err, stderr)
		}
	}
	fetchWithHeader(t, o.URL+"/keys/hls/"+enc.Key.ID.String()+"?token="+url.QueryEscape(enc.Token), nil)
	fetchWithHeader(t, o.URL+"/keys/hls/"+enc.Key.ID.String(), bearer("wrong"+enc.Token))
	fetchWithHeader(t, manifestURL(o.URL, enc.ID, "m3u8-aapl")+"?token="+url.QueryEscape(enc.Token), nil)

	logs := o.Logs.String()
	if !strings.Contains(logs, "status=200") && !strings.Contains(logs, `"status":200`) {
		t.Fatalf("the log has no access lines; is the logger wired?\n%s", truncate([]byte(logs), 500))
	}
	key := enc.Key.Value[:]
	secrets := map[string]string{
		"token":            enc.Token,
		"token signature":  enc.Token[strings.LastIndexByte(enc.Token, '.')+1:],
		"key hex":          hex.EncodeToString(key),
		"key HEX":          strings.ToUpper(hex.EncodeToString(key)),
		"key base64":       base64.StdEncoding.EncodeToString(key),
		"key base64url":    base64.RawURLEncoding.EncodeToString(key),
		"test HMAC secret": testSecret,
	}
	for name, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// needTool returns the path of a command, or skips the test when it is
// missing (and fails it under CI=true).
func needTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true", name)
		}
		t.Skipf("%s not found; install it to run this test", name)
	}
	return path
}

func opensslDecrypt(t *testing.T, openssl string, ciphertext []byte, keyHex, ivHex string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "aes-128-cbc", "-d", "-K", keyHex, "-iv", ivHex)
	cmd.Stdin = bytes.NewReader(ciphertext)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, stderr.Bytes())
	}
	return out.Bytes()
}

func mediaPlaylist(t *testing.T, body []byte) *m3u8.MediaPlaylist {
	t.Helper()
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || kind != m3u8.MEDIA {
		t.Fatalf("media playlist: kind %v, err %v\n%s", kind, err, body)
	}
	return p.(*m3u8.MediaPlaylist)
}

// allTracks returns every track name of the sample presentation: the
// video variants and the audio renditions of the HLS multivariant
// playlist.
func allTracks(t *testing.T, o *testOrigin, locator string) []string {
	t.Helper()
	names := sampleVideoTracks(t, o, locator)
	body := get(t, manifestURL(o.URL, locator, "m3u8-aapl"), nil)
	p, _, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range p.(*m3u8.MasterPlaylist).Variants {
		for _, alt := range v.Alternatives {
			name := strings.TrimSuffix(filepath.Base(alt.URI), ".m3u8")
			if alt.URI != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	if len(names) != len(sampleVideos)+1 {
		t.Fatalf("found tracks %v, want %d video and 1 audio", names, len(sampleVideos))
	}
	return names
}

func firstVariantURI(t *testing.T, body []byte) string {
	t.Helper()
	p, _, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*m3u8.MasterPlaylist).Variants[0].URI
}

func fetch(t *testing.T, url string) ([]byte, int) {
	t.Helper()
	return fetchWithHeader(t, url, nil)
}

func decodeInit(t *testing.T, data []byte) *mp4.InitSegment {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil || f.Init == nil {
		t.Fatalf("decoding init segment: %v", err)
	}
	return f.Init
}

func decodeSegment(t *testing.T, data []byte) *mp4.MediaSegment {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil || len(f.Segments) != 1 {
		t.Fatalf("decoding media segment: %v", err)
	}
	return f.Segments[0]
}

func mdatPayload(seg *mp4.MediaSegment) []byte {
	var out []byte
	for _, f := range seg.Fragments {
		out = append(out, f.Mdat.Data...)
	}
	return out
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// containsKey reports whether body holds the key raw or in a text
// encoding.
func containsKey(body, key []byte) bool {
	for _, form := range [][]byte{
		key,
		[]byte(hex.EncodeToString(key)),
		[]byte(base64.StdEncoding.EncodeToString(key)),
		[]byte(base64.RawURLEncoding.EncodeToString(key)),
	} {
		if bytes.Contains(body, form) {
			return true
		}
	}
	return false
}
