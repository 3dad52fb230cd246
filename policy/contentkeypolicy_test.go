package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseContentKeyPolicy(t *testing.T) {
	for _, file := range []string{"policy.json", "policy.yaml", "policy-hosted.json"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseContentKeyPolicy(data)
			if err != nil {
				t.Fatalf("ParseContentKeyPolicy: %v", err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}

			if p.Name != "premium" || len(p.Options) != 1 {
				t.Fatalf("policy = %q with %d options, want premium with 1", p.Name, len(p.Options))
			}
			r := p.Options[0].Restriction
			if r.Type != RestrictionToken || r.ODataType != "" {
				t.Errorf("restriction type = %q (odata %q), want token", r.Type, r.ODataType)
			}
			if r.PrimaryVerificationKey == nil || r.PrimaryVerificationKey.Type != VerificationKeySymmetric {
				t.Errorf("primary key = %+v, want symmetric", r.PrimaryVerificationKey)
			}
			if r.ContentKeyIdentifierClaim != DefaultContentKeyIdentifierClaim {
				t.Errorf("key ID claim = %q, want the default", r.ContentKeyIdentifierClaim)
			}
			if got := r.RequiredClaims[len(r.RequiredClaims)-1]; got.ClaimType != "tier" || got.ClaimValue != "premium" {
				t.Errorf("last required claim = %+v, want tier=premium", got)
			}
		})
	}
}

func TestParseContentKeyPolicyErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"json unknown field", `{"name":"p","options":[],"requiredClaim":[]}`, "requiredClaim"},
		{"yaml unknown field", "name: p\nissuer: x\n", "issuer"},
		{"json trailing data", `{"name":"p"} {}`, "data after"},
		{"json syntax", `{"name":`, "JSON"},
		{"both shapes", `{"name":"p","options":[{}],"properties":{"options":[]}}`, "one shape"},
		{"too large", "name: " + strings.Repeat("x", maxPolicyDocument), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseContentKeyPolicy([]byte(tt.input))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseContentKeyPolicy = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	p := tokenPolicy("p", symmetricKey(loadTestKeys(t).secret), *symmetricKey(loadTestKeys(t).secret2))
	r := p.Redacted()
	if got := r.Options[0].Restriction.PrimaryVerificationKey.KeyValue; got != "(redacted)" {
		t.Errorf("redacted primary = %q", got)
	}
	if got := r.Options[0].Restriction.AlternateVerificationKeys[0].KeyValue; got != "(redacted)" {
		t.Errorf("redacted alternate = %q", got)
	}
	if p.Options[0].Restriction.PrimaryVerificationKey.KeyValue == "(redacted)" {
		t.Errorf("Redacted changed the original")
	}
}

func FuzzParseContentKeyPolicy(f *testing.F) {
	for _, file := range []string{"policy.json", "policy.yaml", "policy-hosted.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseContentKeyPolicy(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := p.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate error %v does not wrap ErrInvalid", err)
		}
	})
}

func TestStreamingPolicies(t *testing.T) {
	tests := []struct {
		policy, protocol, scheme string
		allows                   bool
	}{
		{PolicyClearStreamingOnly, ProtocolHLS, SchemeClear, true},
		{PolicyClearStreamingOnly, ProtocolDASH, SchemeCENC, false},
		{PolicyClearKey, ProtocolHLS, SchemeCBC, true},
		{PolicyClearKey, ProtocolHLS, SchemeClear, false},
		{PolicyClearKey, ProtocolDASH, SchemeCENC, true},
		{PolicyClearKey, ProtocolSmooth, SchemeCENC, true},
		{PolicyClearKey, ProtocolDASH, SchemeCBC, false},
		{PolicyClearKey, "rtmp", SchemeClear, false},
	}
	for _, tt := range tests {
		t.Run(tt.policy+"/"+tt.protocol+"/"+tt.scheme, func(t *testing.T) {
			sp, err := StreamingPolicyByName(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := sp.Allows(tt.protocol, tt.scheme); got != tt.allows {
				t.Errorf("Allows = %v, want %v", got, tt.allows)
			}
		})
	}

	ck, _ := StreamingPolicyByName(PolicyClearKey)
	if ck.Default(ProtocolHLS) != SchemeCBC || ck.Default(ProtocolDASH) != SchemeCENC || !ck.Encrypted() {
		t.Errorf("ClearKey defaults = %q %q encrypted %v", ck.Default(ProtocolHLS), ck.Default(ProtocolDASH), ck.Encrypted())
	}
	if _, err := StreamingPolicyByName("Predefined_MultiDrmCencStreaming"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown policy = %v, want ErrNotFound", err)
	}
}
