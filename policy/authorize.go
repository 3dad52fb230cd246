package policy

import (
	"context"
	"fmt"
)

// KeyAuthorizer decides whether a token grants a content key. Key delivery
// calls it on every request. It reads the locator and the policy from the
// store each time, so a policy update or a locator deletion governs the
// very next request.
type KeyAuthorizer struct {
	locators LocatorStore
	policies ContentKeyPolicyStore
	verifier *TokenVerifier
}

// NewKeyAuthorizer returns an authorizer reading from locators and policies
// (usually one Store) and checking tokens with verifier.
func NewKeyAuthorizer(locators LocatorStore, policies ContentKeyPolicyStore, verifier *TokenVerifier) *KeyAuthorizer {
	return &KeyAuthorizer{locators: locators, policies: policies, verifier: verifier}
}

// AuthorizeKey returns nil when token grants key. It returns a *TokenError
// for a refused token or a locator outside its start and end time, an
// error wrapping ErrNotFound when the key's locator is gone, and any other
// error for a store failure.
func (a *KeyAuthorizer) AuthorizeKey(ctx context.Context, key *ContentKey, token string) error {
	l, err := a.locators.GetLocator(ctx, key.LocatorID)
	if err != nil {
		return fmt.Errorf("authorizing content key %s: %w", key.ID, err)
	}
	if !l.Active(a.verifier.now()) {
		return forbidden(ReasonLocatorInactive)
	}

	p, err := a.policies.GetContentKeyPolicy(ctx, key.PolicyName)
	if err != nil {
		return fmt.Errorf("authorizing content key %s: %w", key.ID, err)
	}
	return a.verifier.Verify(p, key.ID, token)
}
