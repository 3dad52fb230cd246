// Package policy holds the catalog: streaming locators, streaming policies,
// content key policies and content keys, and the token checks that decide
// who may receive a key. It knows nothing of media.
package policy

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Predefined streaming policy names, as the hosted service named them.
const (
	PolicyClearStreamingOnly = "Predefined_ClearStreamingOnly"
	PolicyClearKey           = "Predefined_ClearKey"
)

var (
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a name or ID that is already taken.
	ErrConflict = errors.New("already exists")
	// ErrInvalid reports a value that fails validation; the wrapping error
	// names the field.
	ErrInvalid = errors.New("invalid")
)

// Locator is a published streaming locator: the handle in the first path
// element of every streaming URL.
type Locator struct {
	ID   uuid.UUID `json:"streamingLocatorId"`
	Name string    `json:"name"`
	// Asset is the asset folder name below the media root.
	Asset            string `json:"assetName"`
	StreamingPolicy  string `json:"streamingPolicyName"`
	ContentKeyPolicy string `json:"defaultContentKeyPolicyName,omitempty"`
	// Start and End bound when the locator streams; nil means unbounded.
	Start   *time.Time `json:"startTime,omitempty"`
	End     *time.Time `json:"endTime,omitempty"`
	Created time.Time  `json:"created"`
}

// Active reports whether the locator streams at time now.
func (l *Locator) Active(now time.Time) bool {
	if l.Start != nil && now.Before(*l.Start) {
		return false
	}
	if l.End != nil && !now.Before(*l.End) {
		return false
	}
	return true
}

// LocatorStore persists streaming locators.
type LocatorStore interface {
	// CreateLocator stores l; ErrConflict when its ID or name is taken.
	CreateLocator(ctx context.Context, l *Locator) error
	// GetLocator returns ErrNotFound for an unknown or deleted locator.
	GetLocator(ctx context.Context, id uuid.UUID) (*Locator, error)
	GetLocatorByName(ctx context.Context, name string) (*Locator, error)
	ListLocators(ctx context.Context) ([]*Locator, error)
	DeleteLocator(ctx context.Context, id uuid.UUID) error
}
