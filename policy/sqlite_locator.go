package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

const maxLocatorNameLength = 260

const locatorColumns = `id, name, asset, streaming_policy, content_key_policy, start_time, end_time, created_at`

// CreateLocator stores l, with a generated content key when its streaming
// policy encrypts; see CreateLocatorWithKeys.
func (s *SQLiteStore) CreateLocator(ctx context.Context, l *Locator) error {
	_, err := s.CreateLocatorWithKeys(ctx, l, nil)
	return err
}

// CreateLocatorWithKeys implements ContentKeyStore.
func (s *SQLiteStore) CreateLocatorWithKeys(ctx context.Context, l *Locator, keys []ContentKey) ([]ContentKey, error) {
	if l.ID == uuid.Nil {
		l.ID = uuid.New()
	}
	if l.Name == "" {
		l.Name = l.ID.String()
	}
	if l.Created.IsZero() {
		l.Created = s.now()
	}
	sp, err := validateLocator(l)
	if err != nil {
		return nil, err
	}
	keys, err = prepareKeys(l, sp, keys, s.now())
	if err != nil {
		return nil, err
	}

	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if l.ContentKeyPolicy != "" {
			if err := requirePolicy(ctx, tx, l.ContentKeyPolicy); err != nil {
				return err
			}
		}
		if err := insertLocator(ctx, tx, l); err != nil {
			return err
		}
		for i := range keys {
			if err := s.insertKey(ctx, tx, &keys[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating locator %q: %w", l.Name, err)
	}
	return keys, nil
}

// validateLocator reports every invalid field of l as a *ValidationError
// and returns its streaming policy.
func validateLocator(l *Locator) (*StreamingPolicy, error) {
	v := &ValidationError{Object: fmt.Sprintf("streaming locator %q", l.Name)}

	if len(l.Name) > maxLocatorNameLength {
		v.add("name", "longer than %d characters", maxLocatorNameLength)
	}
	if strings.ContainsFunc(l.Name, unicode.IsControl) {
		v.add("name", "contains control characters")
	}
	switch {
	case l.Asset == "":
		v.add("assetName", "missing")
	case l.Asset == "." || l.Asset == ".." || strings.ContainsAny(l.Asset, "/\\\x00"):
		v.add("assetName", "must be one folder name below the media root, without '/' or '\\'")
	}

	sp, err := StreamingPolicyByName(l.StreamingPolicy)
	if err != nil {
		v.add("streamingPolicyName", "%q is unknown; use %s or %s", l.StreamingPolicy, PolicyClearStreamingOnly, PolicyClearKey)
	} else if sp.Encrypted() && l.ContentKeyPolicy == "" {
		v.add("defaultContentKeyPolicyName", "missing; %s needs a content key policy", sp.Name)
	} else if !sp.Encrypted() && l.ContentKeyPolicy != "" {
		v.add("defaultContentKeyPolicyName", "%s streams in the clear and takes no content key policy", sp.Name)
	}

	if l.Start != nil && l.End != nil && !l.End.After(*l.Start) {
		v.add("endTime", "must be after startTime")
	}
	return sp, v.err()
}

func requirePolicy(ctx context.Context, tx *sql.Tx, name string) error {
	var exists int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM content_key_policies WHERE name = ?`, name).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return &ValidationError{
			Object: "streaming locator",
			Fields: []FieldError{{Field: "defaultContentKeyPolicyName", Problem: fmt.Sprintf("content key policy %q does not exist", name)}},
		}
	}
	if err != nil {
		return fmt.Errorf("looking up content key policy %q: %w", name, err)
	}
	return nil
}

func insertLocator(ctx context.Context, tx *sql.Tx, l *Locator) error {
	var policy sql.NullString
	if l.ContentKeyPolicy != "" {
		policy = sql.NullString{String: l.ContentKeyPolicy, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO locators (`+locatorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID.String(), l.Name, l.Asset, l.StreamingPolicy, policy,
		formatOptionalTime(l.Start), formatOptionalTime(l.End), formatTime(l.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("locator ID %s or name %q: %w", l.ID, l.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("inserting locator: %w", err)
	}
	return nil
}

// GetLocator implements LocatorStore.
func (s *SQLiteStore) GetLocator(ctx context.Context, id uuid.UUID) (*Locator, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+locatorColumns+` FROM locators WHERE id = ?`, id.String())
	l, err := scanLocator(row)
	if err != nil {
		return nil, fmt.Errorf("reading locator %s: %w", id, err)
	}
	return l, nil
}

// GetLocatorByName implements LocatorStore.
func (s *SQLiteStore) GetLocatorByName(ctx context.Context, name string) (*Locator, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+locatorColumns+` FROM locators WHERE name = ?`, name)
	l, err := scanLocator(row)
	if err != nil {
		return nil, fmt.Errorf("reading locator %q: %w", name, err)
	}
	return l, nil
}

// ListLocators implements LocatorStore; locators come oldest first.
func (s *SQLiteStore) ListLocators(ctx context.Context) ([]*Locator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+locatorColumns+` FROM locators ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("listing locators: %w", err)
	}
	defer rows.Close()

	var out []*Locator
	for rows.Next() {
		l, err := scanLocator(rows)
		if err != nil {
			return nil, fmt.Errorf("listing locators: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing locators: %w", err)
	}
	return out, nil
}

// DeleteLocator implements LocatorStore. The locator's content keys go with
// it, so key delivery returns 404 for them from then on.
func (s *SQLiteStore) DeleteLocator(ctx context.Context, id uuid.UUID) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM locators WHERE id = ?`, id.String())
	if err != nil {
		return fmt.Errorf("deleting locator %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("deleting locator %s: %w", id, ErrNotFound)
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanLocator(row rowScanner) (*Locator, error) {
	var (
		l                  Locator
		id, created        string
		policy, start, end sql.NullString
	)
	err := row.Scan(&id, &l.Name, &l.Asset, &l.StreamingPolicy, &policy, &start, &end, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}

	if l.ID, err = uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("stored locator ID %q: %w", id, err)
	}
	l.ContentKeyPolicy = policy.String
	if l.Start, err = parseOptionalTime(start); err != nil {
		return nil, fmt.Errorf("stored start time of locator %s: %w", l.ID, err)
	}
	if l.End, err = parseOptionalTime(end); err != nil {
		return nil, fmt.Errorf("stored end time of locator %s: %w", l.ID, err)
	}
	if l.Created, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("stored creation time of locator %s: %w", l.ID, err)
	}
	return &l, nil
}
