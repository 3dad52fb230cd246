package origin_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockstream/lockstream/policy"
)

// Hostile-input tests. Each one names the rule it guards. A test of a rule
// documents the expected behaviour without failing the suite. Remove the
// skip together with the fix.

// atkFetch sends a request and returns the status, headers and up to 1 MiB
// of the body. It does not follow redirects.
func atkFetch(t *testing.T, method, rawURL string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Keep percent-encoded elements as sent, so %2e%2e and %2f reach the
	// server unchanged.
	if u, err := url.Parse(rawURL); err == nil {
		req.URL.Opaque = "//" + u.Host + u.EscapedPath()
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, rawURL, err)
	}
	return resp.StatusCode, resp.Header, body
}

// atkCopySample copies the sample asset's MP4 files into a new asset
// folder below a temporary media root and returns the root.
func atkCopySample(t *testing.T, asset string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, asset)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(sampleMedia(t), "sample")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mp4") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func atkWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// atkSignHS256 signs a compact JWS of header and claims with HMAC-SHA256
// under the base64 secret, for forged-token cases.
func atkSignHS256(t *testing.T, header, claims map[string]any, secretB64 string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(header) + "." + enc(claims)
	secret, err := base64.StdEncoding.DecodeString(secretB64)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestStreamURLTraversalNeverServes guards the rule that a streaming URL
// names one presentation of the locator's asset: encoded dots, slashes,
// backslashes, NUL and overlong elements get 400 or 404, never a body.
func TestStreamURLTraversalNeverServes(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	id := o.publish(t, "clear", "sample", policy.PolicyClearStreamingOnly, "")

	paths := []string{
		"/" + id + "/..%2fsample.ism/manifest",
		"/" + id + "/%2e%2e%2fsample.ism/manifest",
		"/" + id + "/%2e%2e.ism/manifest",
		"/" + id + "/%252e%252e.ism/manifest",
		"/" + id + "/..%5csample.ism/manifest",
		"/" + id + "/sample%00.ism/manifest",
		"/" + id + "/.ism/manifest",
		"/" + id + "/%2e.ism/manifest",
		"/" + id + "/" + strings.Repeat("a", 300) + ".ism/manifest",
		"/" + id + "/sample.ism/hls-ts/clear/%2e%2e/1.ts",
		"/" + id + "/sample.ism/hls-ts/clear/video_200k/..%2f1.ts",
		"/" + id + "/sample.ism/hls-ts/clear/video_200k/-1.ts",
		"/" + id + "/sample.ism/hls-ts/clear/video_200k/99999999999999999999.ts",
		"/" + id + "/sample.ism/manifest(format=m3u8-aapl%0d%0aX-Injected:1)",
		"/" + id + "/sample.ism/manifest(format=m3u8-aapl,format=mpd-time-csf)",
		"/" + id + "/sample.ism/QualityLevels(18446744073709551616)/Fragments(video=0)",
		"/" + id + "/sample.ism/QualityLevels(200000)/Fragments(video=18446744073709551616)",
	}
	for _, p := range paths {
		t.Run(p[len(id)+1:], func(t *testing.T) {
			status, header, body := atkFetch(t, http.MethodGet, o.URL+p, nil)
			if status != http.StatusBadRequest && status != http.StatusNotFound {
				t.Fatalf("GET %s: status %d, want 400 or 404; body %q", p, status, truncate(body, 200))
			}
			if header.Get("X-Injected") != "" {
				t.Fatalf("GET %s: a header was injected", p)
			}
		})
	}
}

// TestEncryptedLocatorNeverStreamsClear guards the rule that an encrypted
// locator gives no clear media through any URL form.
func TestEncryptedLocatorNeverStreamsClear(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")

	paths := []string{
		"manifest(format=m3u8-aapl,encryption=clear)",
		"manifest(format=mpd-time-csf,encryption=clear)",
		"hls-ts/clear/video_200k/1.ts",
		"hls-cmaf/clear/video_200k/1.m4s",
		"dash/clear/video_200k/1.m4s",
		"dash/clear/video_200k/init.mp4",
		"QualityLevels(200000)/Fragments(video=0,encryption=clear)",
		"hls-ts/cenc/video_200k/1.ts",
	}
	for _, p := range paths {
		status, _, body := atkFetch(t, http.MethodGet, o.URL+"/"+enc.ID+"/sample.ism/"+p, nil)
		if status == http.StatusOK {
			t.Errorf("GET %s: status 200 with %d bytes, want a refusal", p, len(body))
		}
	}
}

// TestKeyDeliveryRefusesForgedTokens guards the token restriction: every
// forged, expired or misdirected token gets 401 or 403 and no key byte.
// The cases stay under the failure limit of one client.
func TestKeyDeliveryRefusesForgedTokens(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")
	kid := enc.Key.ID.String()
	now := time.Now().Unix()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": testIssuer, "aud": testAudience, "exp": now + 600,
			policy.DefaultContentKeyIdentifierClaim: kid,
		}
		change(c)
		return c
	}
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	otherSecret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	nonePayload, _ := json.Marshal(claims(func(map[string]any) {}))

	cases := []struct {
		name  string
		token string
		want  int
	}{
		{"alg none", noneHeader + "." + base64.RawURLEncoding.EncodeToString(nonePayload) + ".", http.StatusUnauthorized},
		{"other secret", atkSignHS256(t, hs, claims(func(map[string]any) {}), otherSecret), http.StatusUnauthorized},
		{"expired beyond skew", atkSignHS256(t, hs, claims(func(c map[string]any) { c["exp"] = now - 3600 }), testSecret), http.StatusUnauthorized},
		{"not yet valid", atkSignHS256(t, hs, claims(func(c map[string]any) { c["nbf"] = now + 3600 }), testSecret), http.StatusUnauthorized},
		{"no exp", atkSignHS256(t, hs, claims(func(c map[string]any) { delete(c, "exp") }), testSecret), http.StatusUnauthorized},
		{"wrong issuer", atkSignHS256(t, hs, claims(func(c map[string]any) { c["iss"] = "https://evil.test" }), testSecret), http.StatusUnauthorized},
		{"wrong audience", atkSignHS256(t, hs, claims(func(c map[string]any) { c["aud"] = "evil" }), testSecret), http.StatusUnauthorized},
		{"other key ID", atkSignHS256(t, hs, claims(func(c map[string]any) {
			c[policy.DefaultContentKeyIdentifierClaim] = "00000000-0000-0000-0000-000000000001"
		}), testSecret), http.StatusForbidden},
		{"key ID as array", atkSignHS256(t, hs, claims(func(c map[string]any) {
			c[policy.DefaultContentKeyIdentifierClaim] = []string{kid}
		}), testSecret), http.StatusForbidden},
		{"oversized", strings.Repeat("a", 9000), http.StatusUnauthorized},
		{"malformed base64", "!!!.@@@.###", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := atkFetch(t, http.MethodGet, o.URL+"/keys/hls/"+kid, bearer(c.token))
			if status != c.want {
				t.Errorf("status %d, want %d; body %q", status, c.want, body)
			}
			if bytes.Contains(body, enc.Key.Value[:]) {
				t.Errorf("the refused response body contains the key")
			}
		})
	}
}

// TestHostileMediaGetsNamedError guards the rule that bad input gets an
// error naming the file, with a 4xx status, never a panic or a 200.
func TestHostileMediaGetsNamedError(t *testing.T) {
	root := t.TempDir()
	sample := filepath.Join(sampleMedia(t), "sample")
	video, err := os.ReadFile(filepath.Join(sample, "video_416x234_200k.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	audio, err := os.ReadFile(filepath.Join(sample, "audio_eng_96k.mp4"))
	if err != nil {
		t.Fatal(err)
	}

	zeroTimescale := bytes.Clone(video)
	i := bytes.Index(zeroTimescale, []byte("mdhd"))
	binary.BigEndian.PutUint32(zeroTimescale[i+4+4+8:], 0) // version/flags, creation and modification time

	pastEOF := bytes.Clone(video)
	j := bytes.Index(pastEOF, []byte("mdat"))
	binary.BigEndian.PutUint32(pastEOF[j-4:], 0x7fffffff)

	assets := []struct {
		asset string
		files map[string][]byte
		want  string
	}{
		{"empty", map[string][]byte{"empty.mp4": {}}, "empty.mp4"},
		{"truncated", map[string][]byte{"truncated.mp4": video[:1000]}, "truncated.mp4"},
		{"zerotimescale", map[string][]byte{"zerotimescale.mp4": zeroTimescale}, "zerotimescale.mp4"},
		{"pasteof", map[string][]byte{"pasteof.mp4": pastEOF}, "pasteof.mp4"},
		{"ismparent", map[string][]byte{"a.mp4": audio, "ismparent.ism": []byte(
			`<smil><body><switch><audio src="../sample/a.mp4"/></switch></body></smil>`)}, "ismparent.ism"},
		{"ismself", map[string][]byte{"a.mp4": audio, "ismself.ism": []byte(
			`<smil><body><switch><audio src="ismself.ism"/></switch></body></smil>`)}, "ismself.ism"},
		{"ismmissing", map[string][]byte{"a.mp4": audio, "ismmissing.ism": []byte(
			`<smil><body><switch><audio src="gone.mp4"/></switch></body></smil>`)}, "gone.mp4"},
		{"ismentity", map[string][]byte{"a.mp4": audio, "ismentity.ism": []byte(`<?xml version="1.0"?>
<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<smil><body><switch><audio src="a.mp4" systemLanguage="&b;"/></switch></body></smil>`)}, "ismentity.ism"},
	}
	for _, a := range assets {
		dir := filepath.Join(root, a.asset)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range a.files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	o := startOrigin(t, root)
	for _, a := range assets {
		t.Run(a.asset, func(t *testing.T) {
			id := o.publish(t, a.asset, a.asset, policy.PolicyClearStreamingOnly, "")
			for _, format := range []string{"m3u8-aapl", "mpd-time-csf"} {
				u := fmt.Sprintf("%s/%s/%s.ism/manifest(format=%s)", o.URL, id, a.asset, format)
				status, _, body := atkFetch(t, http.MethodGet, u, nil)
				if status < 400 || status >= 500 {
					t.Errorf("%s: status %d, want 4xx; body %q", format, status, truncate(body, 200))
				}
				if !bytes.Contains(body, []byte(a.want)) {
					t.Errorf("%s: body %q does not name %q", format, truncate(body, 200), a.want)
				}
			}
		})
	}
}

// TestConditionalRequestForMissingSegment guards RFC 9110 section 13.1.2:
// "If-None-Match: *" matches only a resource that exists, so a segment
// number past the end is 404, not 304 with a year-long cache lifetime.
func TestConditionalRequestForMissingSegment(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	id := o.publish(t, "clear", "sample", policy.PolicyClearStreamingOnly, "")

	for _, p := range []string{"hls-ts/clear/video_200k/999.ts", "hls-ts/clear/nosuchtrack/1.ts"} {
		status, _, _ := atkFetch(t, http.MethodGet, o.URL+"/"+id+"/sample.ism/"+p, http.Header{"If-None-Match": {"*"}})
		if status != http.StatusNotFound {
			t.Errorf("GET %s with If-None-Match: *: status %d, want 404", p, status)
		}
	}
}

// derivedTokenPattern finds derived key tokens in playlists.
var derivedTokenPattern = regexp.MustCompile(`token=(lsk1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)

// derivedExpiry returns the expiry in Unix seconds of a derived key token.
func derivedExpiry(t *testing.T, token string) int64 {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(payload) != 24 {
		t.Fatalf("derived token payload %q: %v", parts[1], err)
	}
	return int64(binary.BigEndian.Uint64(payload[16:]))
}

// TestDerivedKeyTokenNeverOutlivesItsSource guards the rule that a derived
// key token, which skips the content key policy, is earned only by a token
// the policy grants: a playlist fetched with a derived token must not hand
// out a fresher one, or the chain renews itself past the player's JWT
// expiry and past a policy change.
func TestDerivedKeyTokenNeverOutlivesItsSource(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")

	multivariant := get(t, manifestURL(o.URL, enc.ID, "m3u8-aapl")+"?token="+url.QueryEscape(enc.Token), nil)
	m := derivedTokenPattern.FindSubmatch(multivariant)
	if m == nil {
		t.Fatalf("no derived token in the multivariant playlist:\n%s", multivariant)
	}
	first := string(m[1])

	// Expiries have whole seconds; wait for the next one.
	time.Sleep(1100 * time.Millisecond)
	playlist := get(t, o.URL+"/"+enc.ID+"/sample.ism/hls-ts/cbc/video_200k.m3u8?token="+first, nil)
	if m := derivedTokenPattern.FindSubmatch(playlist); m != nil {
		if got, limit := derivedExpiry(t, string(m[1])), derivedExpiry(t, first); got > limit {
			t.Fatalf("a derived token earned a fresher one: expiry %d, the source expires at %d", got, limit)
		}
	}
}

// TestTokenBearingPlaylistsAreNotShared guards the rule that a response
// carrying a player's derived key token is not stored by shared caches,
// which may key on the path alone and hand it to other viewers.
func TestTokenBearingPlaylistsAreNotShared(t *testing.T) {
	o := startOrigin(t, sampleMedia(t))
	enc := o.publishEncrypted(t, "enc")

	status, header, body := atkFetch(t, http.MethodGet, manifestURL(o.URL, enc.ID, "m3u8-aapl")+"?token="+url.QueryEscape(enc.Token), nil)
	if status != http.StatusOK || !bytes.Contains(body, []byte("token=lsk1.")) {
		t.Fatalf("status %d, derived token present %v", status, bytes.Contains(body, []byte("token=lsk1.")))
	}
	if cc := header.Get("Cache-Control"); strings.Contains(cc, "public") {
		t.Errorf("Cache-Control %q lets shared caches keep a token-bearing playlist; want private or no-store", cc)
	}
}

// TestServerManifestValuesCannotInjectPlaylistLines guards the HLS
// attribute syntax (RFC 8216 section 4.2): a quoted-string holds no '"',
// CR or LF, so a .ism systemLanguage cannot add tags or URIs.
func TestServerManifestValuesCannotInjectPlaylistLines(t *testing.T) {
	root := atkCopySample(t, "inject")
	atkWrite(t, filepath.Join(root, "inject", "inject.ism"), `<smil><body><switch>
<video src="video_416x234_200k.mp4"/>
<audio src="audio_eng_96k.mp4" systemLanguage="en&quot;,URI=&quot;http://evil.test/x.m3u8&quot;&#10;#EXT-X-STREAM-INF:BANDWIDTH=1&#10;http://evil.test/steal.m3u8&#10;#X=&quot;"/>
</switch></body></smil>`)
	o := startOrigin(t, root)
	id := o.publish(t, "inject", "inject", policy.PolicyClearStreamingOnly, "")

	status, _, body := atkFetch(t, http.MethodGet, o.URL+"/"+id+"/inject.ism/manifest(format=m3u8-aapl)", nil)
	if status == http.StatusOK && bytes.Contains(body, []byte("evil.test")) {
		t.Fatalf("the playlist carries a URI from the .ism language:\n%s", body)
	}
}

// TestManifestTrackURLsAreAddressable guards the round trip between the
// packager's track names and the URL parser: every playlist URI a
// multivariant playlist lists must be served.
func TestManifestTrackURLsAreAddressable(t *testing.T) {
	root := atkCopySample(t, "longname")
	atkWrite(t, filepath.Join(root, "longname", "longname.ism"), `<smil><body><switch>
<video src="video_416x234_200k.mp4"><param name="trackName" value="`+strings.Repeat("v", 100)+`"/></video>
<audio src="audio_eng_96k.mp4"/>
</switch></body></smil>`)
	o := startOrigin(t, root)
	id := o.publish(t, "longname", "longname", policy.PolicyClearStreamingOnly, "")

	base := o.URL + "/" + id + "/longname.ism/"
	multivariant := get(t, base+"manifest(format=m3u8-aapl)", nil)
	for _, line := range strings.Split(string(multivariant), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if status, _, body := atkFetch(t, http.MethodGet, base+line, nil); status != http.StatusOK {
			t.Errorf("GET %s: status %d, body %q", line, status, truncate(body, 200))
		}
	}
}

// TestPresentationsOfOneLocatorNeverShareIVs guards the encryption rule
// that no (key, counter) pair encrypts two different plaintexts: two .ism
// presentations of one asset share the locator's key, so the first
// sample of their first tracks must not get the same CENC IV.
func TestPresentationsOfOneLocatorNeverShareIVs(t *testing.T) {
	root := atkCopySample(t, "multi")
	atkWrite(t, filepath.Join(root, "multi", "multi.ism"),
		`<smil><body><switch><video src="video_416x234_200k.mp4"/></switch></body></smil>`)
	atkWrite(t, filepath.Join(root, "multi", "hd.ism"),
		`<smil><body><switch><video src="video_854x480_700k.mp4"/></switch></body></smil>`)
	o := startOrigin(t, root)
	p := testTokenPolicy("multi-policy")
	if err := o.Catalog.CreateContentKeyPolicy(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	id := o.publish(t, "multi", "multi", policy.PolicyClearKey, p.Name)

	firstIV := func(presentation string) []byte {
		mpd := get(t, o.URL+"/"+id+"/"+presentation+".ism/manifest(format=mpd-time-csf)", nil)
		m := regexp.MustCompile(`Representation[^>]* id="([a-z0-9_-]+)"`).FindSubmatch(mpd)
		if m == nil {
			t.Fatalf("no representation in %s:\n%s", presentation, mpd)
		}
		seg := get(t, o.URL+"/"+id+"/"+presentation+".ism/dash/cenc/"+string(m[1])+"/1.m4s", nil)
		i := bytes.Index(seg, []byte("senc"))
		if i < 0 || len(seg) < i+4+4+4+8 {
			t.Fatalf("%s: no senc box in segment 1", presentation)
		}
		return seg[i+4+4+4 : i+4+4+4+8] // type, version and flags, sample count
	}
	if a, b := firstIV("multi"), firstIV("hd"); bytes.Equal(a, b) {
		t.Fatalf("both presentations encrypt their first video sample under one key with IV %x", a)
	}
}
