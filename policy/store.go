package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Content key types. Lockstream gives each encrypted locator one key of
// type KeyTypeShared, which HLS AES-128 CBC and DASH/Smooth CENC both use.
// The per-protocol types exist for keys imported from a hosted service that
// kept one key per protocol.
const (
	// KeyTypeEnvelope is a key for HLS AES-128 (CBC) only.
	KeyTypeEnvelope = "EnvelopeEncryption"
	// KeyTypeCENC is a key for DASH and Smooth CENC only.
	KeyTypeCENC = "CommonEncryptionCenc"
	// KeyTypeShared is one key for both HLS CBC and CENC.
	KeyTypeShared = "Shared"
)

// ContentKey is one content key of a locator, decrypted. Value never leaves
// the server except through key delivery.
type ContentKey struct {
	// ID is the key ID, carried in manifests and license requests.
	ID    uuid.UUID `json:"id"`
	Value [16]byte  `json:"-"`
	// LocatorID is the locator the key belongs to.
	LocatorID uuid.UUID `json:"streamingLocatorId"`
	// PolicyName is the content key policy that governs who receives the
	// key.
	PolicyName string    `json:"policyName"`
	Type       string    `json:"type"`
	Created    time.Time `json:"created"`
}

// Serves reports whether k may encrypt output with scheme (SchemeCBC or
// SchemeCENC).
func (k *ContentKey) Serves(scheme string) bool {
	switch k.Type {
	case KeyTypeShared:
		return scheme == SchemeCBC || scheme == SchemeCENC
	case KeyTypeEnvelope:
		return scheme == SchemeCBC
	case KeyTypeCENC:
		return scheme == SchemeCENC
	}
	return false
}

// SelectKey returns the first key in keys that serves scheme, or an error
// wrapping ErrNotFound.
func SelectKey(keys []ContentKey, scheme string) (*ContentKey, error) {
	for i := range keys {
		if keys[i].Serves(scheme) {
			return &keys[i], nil
		}
	}
	return nil, fmt.Errorf("content key for scheme %q: %w", scheme, ErrNotFound)
}

// ContentKeyStore persists content keys.
type ContentKeyStore interface {
	// CreateLocatorWithKeys stores l and its content keys in one
	// transaction and returns the keys. When l's streaming policy encrypts
	// and keys is empty, it generates one KeyTypeShared key from
	// crypto/rand. The keys are bound to l's content key policy, which must
	// exist (else an error wrapping ErrInvalid). A zero l.ID, empty l.Name
	// or zero l.Created are filled in. ErrConflict when the locator ID,
	// locator name or a key ID is taken.
	CreateLocatorWithKeys(ctx context.Context, l *Locator, keys []ContentKey) ([]ContentKey, error)
	// GetContentKey returns the key with key ID kid, decrypted; ErrNotFound
	// when no locator has it.
	GetContentKey(ctx context.Context, kid uuid.UUID) (*ContentKey, error)
	// ListContentKeys returns the keys of a locator, oldest first; an
	// empty list for a clear locator and ErrNotFound for an unknown one.
	ListContentKeys(ctx context.Context, locatorID uuid.UUID) ([]ContentKey, error)
}

// ContentKeyPolicyStore persists content key policies. Implementations
// return policies as stored at the time of the call (no cache older than
// one second), so an update governs the next key request.
type ContentKeyPolicyStore interface {
	// CreateContentKeyPolicy validates and stores p; ErrConflict when the
	// name is taken.
	CreateContentKeyPolicy(ctx context.Context, p *ContentKeyPolicy) error
	GetContentKeyPolicy(ctx context.Context, name string) (*ContentKeyPolicy, error)
	// ListContentKeyPolicies returns every policy, sorted by name.
	ListContentKeyPolicies(ctx context.Context) ([]*ContentKeyPolicy, error)
	// UpdateContentKeyPolicy validates p and replaces the stored policy
	// of the same name; ErrNotFound when there is none.
	UpdateContentKeyPolicy(ctx context.Context, p *ContentKeyPolicy) error
	// DeleteContentKeyPolicy removes a policy; ErrConflict while a locator
	// uses it.
	DeleteContentKeyPolicy(ctx context.Context, name string) error
}

// Store is the whole catalog. SQLiteStore implements it; a PostgreSQL
// store for several origin instances can implement it too.
type Store interface {
	LocatorStore
	ContentKeyStore
	ContentKeyPolicyStore
	Close() error
}
