package origin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin"
	"github.com/lockstream/lockstream/policy"
)

// keyURIPattern finds the URI of an EXT-X-KEY tag.
var keyURIPattern = regexp.MustCompile(`#EXT-X-KEY:[^\n]*URI="([^"]*)"`)

// fetchWithHost sends GET rawURL with the Host header set to host.
func fetchWithHost(t *testing.T, rawURL, host string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", rawURL, err)
	}
	return resp.StatusCode, body
}

// TestKeyURIsIgnoreForgedHost checks that a forged Host header does not
// reach HLS key URIs: they are root-relative without a public base URL
// and use the configured one otherwise.
func TestKeyURIsIgnoreForgedHost(t *testing.T) {
	tests := []struct {
		name       string
		publicBase string
		wantPrefix string
	}{
		{"no public base url", "", "/keys/hls/"},
		{"public base url", "https://media.example.com", "https://media.example.com/keys/hls/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.PublicBaseURL = tt.publicBase })
			enc := o.publishEncrypted(t, "enc")
			query := "?token=" + url.QueryEscape(enc.Token)

			for _, path := range []string{"hls-ts/cbc/video_200k.m3u8", "hls-cmaf/cbc/video_200k.m3u8"} {
				status, body := fetchWithHost(t, o.URL+"/"+enc.ID+"/sample.ism/"+path+query, "evil.example")
				if status != http.StatusOK {
					t.Fatalf("GET %s: status %d, body %q", path, status, truncate(body, 200))
				}
				if bytes.Contains(body, []byte("evil.example")) {
					t.Errorf("%s carries the forged host:\n%s", path, body)
				}
				m := keyURIPattern.FindSubmatch(body)
				if m == nil {
					t.Fatalf("%s has no key URI:\n%s", path, body)
				}
				want := tt.wantPrefix + enc.Key.ID.String() + "?token=lsk1."
				if !strings.HasPrefix(string(m[1]), want) {
					t.Errorf("%s: key URI %q, want prefix %q", path, m[1], want)
				}
			}

			warnings := strings.Count(o.Logs.String(), "public_base_url is not set")
			if want := map[bool]int{true: 1, false: 0}[tt.publicBase == ""]; warnings != want {
				t.Errorf("logged the public_base_url warning %d times, want %d:\n%s", warnings, want, o.Logs.String())
			}
		})
	}
}

// TestMPDCarriesNoPSSHContentProtection checks that the encrypted MPD
// names the key by cenc:default_KID without a cenc:pssh element, and that
// the init segment still carries its pssh box.
func TestMPDCarriesNoPSSHContentProtection(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")

	mpd := get(t, manifestURL(o.URL, enc.ID, "mpd-time-csf"), nil)
	if bytes.Contains(mpd, []byte("pssh")) {
		t.Errorf("the MPD carries a pssh:\n%s", mpd)
	}
	if !bytes.Contains(mpd, []byte(`cenc:default_KID="`+enc.Key.ID.String()+`"`)) {
		t.Errorf("the MPD lacks cenc:default_KID %s:\n%s", enc.Key.ID, mpd)
	}
	init := get(t, o.URL+"/"+enc.ID+"/sample.ism/dash/cenc/video_200k/init.mp4", nil)
	if !bytes.Contains(init, []byte("pssh")) {
		t.Errorf("the init segment has no pssh box")
	}
}

// TestConditionalRequestForMissingResources extends the segment case of
// TestConditionalRequestForMissingSegment to the other resource kinds and
// to a guessed tag: only a resource that exists gets 304.
func TestConditionalRequestForMissingResources(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	id := o.publish(t, "clear", "sample", policy.PolicyClearStreamingOnly, "")
	base := o.URL + "/" + id + "/sample.ism/"

	status, header, _ := atkFetch(t, http.MethodGet, base+"hls-ts/clear/video_200k/1.ts", nil)
	tag := header.Get("ETag")
	if status != http.StatusOK || tag == "" {
		t.Fatalf("segment 1: status %d, ETag %q", status, tag)
	}

	smooth := get(t, base+"manifest", nil)
	m := regexp.MustCompile(`Bitrate="([0-9]+)"`).FindSubmatch(smooth)
	if m == nil {
		t.Fatalf("no bitrate in the Smooth manifest:\n%s", smooth)
	}
	fragment := "QualityLevels(" + string(m[1]) + ")/Fragments(video="

	tests := []struct {
		name, path, ifNoneMatch string
		want                    int
	}{
		{"existing segment", "hls-ts/clear/video_200k/1.ts", "*", http.StatusNotModified},
		{"segment past the end, guessed tag", "hls-ts/clear/video_200k/999.ts", tag, http.StatusNotFound},
		{"playlist of unknown track", "hls-ts/clear/nosuchtrack.m3u8", "*", http.StatusNotFound},
		{"init of unknown track", "dash/clear/nosuchtrack/init.mp4", "*", http.StatusNotFound},
		{"dash segment past the end", "dash/clear/video_200k/999.m4s", "*", http.StatusNotFound},
		{"existing fragment", fragment + "0)", "*", http.StatusNotModified},
		{"fragment at unknown time", fragment + "12345)", "*", http.StatusNotFound},
		{"fragment of unknown bitrate", "QualityLevels(999)/Fragments(video=0)", "*", http.StatusNotFound},
		{"fragment of unknown stream", "QualityLevels(" + string(m[1]) + ")/Fragments(nosuch=0)", "*", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := atkFetch(t, http.MethodGet, base+tt.path, http.Header{"If-None-Match": {tt.ifNoneMatch}})
			if status != tt.want {
				t.Fatalf("status %d, want %d; body %q", status, tt.want, truncate(body, 200))
			}
			if status == http.StatusNotFound && strings.Contains(header.Get("Cache-Control"), "immutable") {
				t.Errorf("404 with Cache-Control %q", header.Get("Cache-Control"))
			}
		})
	}
}

// TestClientIPHeaderSeparatesClients checks that behind a proxy that sets
// X-Forwarded-For, one client's failed key requests block that client
// only, and that without the setting every client behind the proxy shares
// one failure count.
func TestClientIPHeaderSeparatesClients(t *testing.T) {
	tests := []struct {
		name      string
		header    string
		wantOther int
	}{
		{"header set", "X-Forwarded-For", http.StatusOK},
		{"header unset", "", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := startOriginWith(t, sampleMedia(t), func(c *origin.Config) { c.ClientIPHeader = tt.header })
			enc := o.publishEncrypted(t, "enc")
			keyURL := o.URL + "/keys/hls/" + enc.Key.ID.String()
			forwarded := func(client string, token string) http.Header {
				h := bearer(token)
				h.Set("X-Forwarded-For", "203.0.113.50, "+client)
				return h
			}

			// The default failure limit is 20 per minute.
			for i := range 20 {
				if status, _, _ := atkFetch(t, http.MethodGet, keyURL, forwarded("198.51.100.1", "forged")); status != http.StatusUnauthorized {
					t.Fatalf("failure %d: status %d, want 401", i, status)
				}
			}
			if status, _, _ := atkFetch(t, http.MethodGet, keyURL, forwarded("198.51.100.1", enc.Token)); status != http.StatusTooManyRequests {
				t.Errorf("the failing client: status %d, want 429", status)
			}
			if status, _, _ := atkFetch(t, http.MethodGet, keyURL, forwarded("198.51.100.2", enc.Token)); status != tt.wantOther {
				t.Errorf("another client: status %d, want %d", status, tt.wantOther)
			}
		})
	}
}

// TestPlaylistTokenFailuresCount checks that forged tokens on playlist
// requests count against the key delivery failure limit: after 20 the
// client earns no key token and gets 429 for keys.
func TestPlaylistTokenFailuresCount(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")
	playlist := o.URL + "/" + enc.ID + "/sample.ism/hls-ts/cbc/video_200k.m3u8?token="

	for i := range 20 {
		body := get(t, playlist+"forged.token."+string(rune('a'+i)), nil)
		if bytes.Contains(body, []byte("token=")) {
			t.Fatalf("a forged token earned a key token:\n%s", body)
		}
	}
	if body := get(t, playlist+url.QueryEscape(enc.Token), nil); bytes.Contains(body, []byte("token=")) {
		t.Errorf("a blocked client earned a key token")
	}
	status, _, _ := atkFetch(t, http.MethodGet, o.URL+"/keys/hls/"+enc.Key.ID.String(), bearer(enc.Token))
	if status != http.StatusTooManyRequests {
		t.Errorf("key request after 20 forged playlist tokens: status %d, want 429", status)
	}
}

// TestLogLinesHaveOneComponent checks with a JSON handler that no log line
// repeats a key, and that the origin, key delivery and policy lines each
// carry their component.
func TestLogLinesHaveOneComponent(t *testing.T) {
	logs := &syncBuffer{}
	cfg := origin.DefaultConfig()
	cfg.Media = sampleMedia(t)
	cfg.DataDir = t.TempDir() // no master key: policy creates and logs one
	srv, err := origin.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), origin.Deps{})
	if err != nil {
		t.Fatalf("origin.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})

	atkFetch(t, http.MethodGet, ts.URL+"/keys/hls/"+uuid.NewString(), bearer("forged"))
	atkFetch(t, http.MethodGet, ts.URL+"/"+uuid.NewString()+"/sample.ism/manifest", nil)

	components := map[string]int{}
	scanner := bufio.NewScanner(strings.NewReader(logs.String()))
	for scanner.Scan() {
		line := scanner.Text()
		keys, err := topLevelKeys(line)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("log line repeats %q: %s", k, line)
			}
			seen[k] = true
		}
		var entry struct{ Component string }
		json.Unmarshal([]byte(line), &entry)
		components[entry.Component]++
	}
	for _, c := range []string{"origin", "keydelivery", "policy"} {
		if components[c] == 0 {
			t.Errorf("no log line of component %q:\n%s", c, logs.String())
		}
	}
}

// topLevelKeys returns the keys of a JSON object in order, repeats
// included, which encoding/json's map decoding would merge.
func topLevelKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
