package policy

import (
	"fmt"
	"slices"
)

// Protocols a streaming policy can enable.
const (
	ProtocolHLS    = "hls"
	ProtocolDASH   = "dash"
	ProtocolSmooth = "smooth"
)

// Encryption schemes, named as the packager names them.
const (
	SchemeClear = "clear"
	// SchemeCBC is HLS AES-128: whole segments in AES-128-CBC.
	SchemeCBC = "cbc"
	// SchemeCENC is ISO/IEC 23001-7 'cenc' (AES-CTR) with ClearKey.
	SchemeCENC = "cenc"
)

// StreamingPolicy states which protocols a locator streams and how each is
// protected.
type StreamingPolicy struct {
	Name string
	// schemes lists the allowed schemes per protocol, the default first.
	schemes map[string][]string
}

var streamingPolicies = map[string]*StreamingPolicy{
	PolicyClearStreamingOnly: {
		Name: PolicyClearStreamingOnly,
		schemes: map[string][]string{
			ProtocolHLS:    {SchemeClear},
			ProtocolDASH:   {SchemeClear},
			ProtocolSmooth: {SchemeClear},
		},
	},
	// Predefined_ClearKey never streams in the clear: a client that could
	// ask for encryption=clear would bypass key delivery.
	PolicyClearKey: {
		Name: PolicyClearKey,
		schemes: map[string][]string{
			ProtocolHLS:    {SchemeCBC},
			ProtocolDASH:   {SchemeCENC},
			ProtocolSmooth: {SchemeCENC},
		},
	},
}

// StreamingPolicyByName returns a predefined streaming policy, or an error
// wrapping ErrNotFound that lists the known names.
func StreamingPolicyByName(name string) (*StreamingPolicy, error) {
	p, ok := streamingPolicies[name]
	if !ok {
		return nil, fmt.Errorf("streaming policy %q (known: %s, %s): %w",
			name, PolicyClearStreamingOnly, PolicyClearKey, ErrNotFound)
	}
	return p, nil
}

// Allows reports whether the policy streams protocol with scheme.
func (p *StreamingPolicy) Allows(protocol, scheme string) bool {
	return slices.Contains(p.schemes[protocol], scheme)
}

// Default returns the scheme used for protocol when the request names
// none, or "" when the protocol is disabled.
func (p *StreamingPolicy) Default(protocol string) string {
	s := p.schemes[protocol]
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Available returns the schemes allowed for protocol, the default first;
// nil when the protocol is disabled. The caller must not modify it.
func (p *StreamingPolicy) Available(protocol string) []string {
	return p.schemes[protocol]
}

// Encrypted reports whether any protocol uses a scheme other than clear,
// so a locator with this policy needs a content key and a content key
// policy.
func (p *StreamingPolicy) Encrypted() bool {
	for _, schemes := range p.schemes {
		for _, s := range schemes {
			if s != SchemeClear {
				return true
			}
		}
	}
	return false
}
