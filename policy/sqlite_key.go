package policy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

const keyColumns = `id, locator_id, policy_name, key_type, sealed_value, created_at`

// prepareKeys checks the supplied keys of l, fills in what is missing (key
// ID, value from crypto/rand, type KeyTypeShared) and generates one shared
// key when the policy encrypts and none was supplied.
func prepareKeys(l *Locator, sp *StreamingPolicy, keys []ContentKey, now time.Time) ([]ContentKey, error) {
	v := &ValidationError{Object: fmt.Sprintf("content keys of streaming locator %q", l.Name)}
	if !sp.Encrypted() {
		if len(keys) > 0 {
			v.add("contentKeys", "%s streams in the clear and takes no content keys", sp.Name)
		}
		return nil, v.err()
	}
	if len(keys) == 0 {
		keys = []ContentKey{{}}
	}

	out := make([]ContentKey, len(keys))
	seen := make(map[uuid.UUID]bool, len(keys))
	for i, k := range keys {
		if k.ID == uuid.Nil {
			k.ID = uuid.New()
		}
		if seen[k.ID] {
			v.add(fmt.Sprintf("contentKeys[%d].id", i), "key ID %s appears twice", k.ID)
		}
		seen[k.ID] = true
		if k.Value == ([16]byte{}) {
			if _, err := rand.Read(k.Value[:]); err != nil {
				return nil, fmt.Errorf("generating content key: %w", err)
			}
		}
		if k.Type == "" {
			k.Type = KeyTypeShared
		}
		if k.Type != KeyTypeShared && k.Type != KeyTypeEnvelope && k.Type != KeyTypeCENC {
			v.add(fmt.Sprintf("contentKeys[%d].type", i), "%q is unknown; use %s, %s or %s",
				k.Type, KeyTypeShared, KeyTypeEnvelope, KeyTypeCENC)
		}
		if k.PolicyName != "" && k.PolicyName != l.ContentKeyPolicy {
			v.add(fmt.Sprintf("contentKeys[%d].policyName", i), "must be the locator's content key policy %q", l.ContentKeyPolicy)
		}
		k.PolicyName = l.ContentKeyPolicy
		k.LocatorID = l.ID
		k.Created = now
		out[i] = k
	}

	// Every scheme the streaming policy can stream needs a key.
	for _, protocol := range []string{ProtocolHLS, ProtocolDASH, ProtocolSmooth} {
		for _, scheme := range sp.Available(protocol) {
			if scheme == SchemeClear {
				continue
			}
			if _, err := SelectKey(out, scheme); err != nil {
				v.add("contentKeys", "no key serves %s, which %s uses for %s", scheme, sp.Name, protocol)
			}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SQLiteStore) insertKey(ctx context.Context, tx *sql.Tx, k *ContentKey) error {
	sealed, err := s.sealer.seal(k.Value[:], k.ID[:])
	if err != nil {
		return fmt.Errorf("encrypting content key %s: %w", k.ID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO content_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID.String(), k.LocatorID.String(), k.PolicyName, k.Type, sealed, formatTime(k.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("content key ID %s: %w", k.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("inserting content key %s: %w", k.ID, err)
	}
	return nil
}

// GetContentKey implements ContentKeyStore.
func (s *SQLiteStore) GetContentKey(ctx context.Context, kid uuid.UUID) (*ContentKey, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM content_keys WHERE id = ?`, kid.String())
	var k ContentKey
	if err := s.scanKey(row, &k); err != nil {
		return nil, fmt.Errorf("reading content key %s: %w", kid, err)
	}
	return &k, nil
}

// ListContentKeys implements ContentKeyStore.
func (s *SQLiteStore) ListContentKeys(ctx context.Context, locatorID uuid.UUID) ([]ContentKey, error) {
	var exists int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM locators WHERE id = ?`, locatorID.String()).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("listing content keys of locator %s: %w", locatorID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("listing content keys of locator %s: %w", locatorID, err)
	}

	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM content_keys WHERE locator_id = ? ORDER BY created_at, id`,
		locatorID.String())
	if err != nil {
		return nil, fmt.Errorf("listing content keys of locator %s: %w", locatorID, err)
	}
	defer rows.Close()

	keys := []ContentKey{}
	for rows.Next() {
		var k ContentKey
		if err := s.scanKey(rows, &k); err != nil {
			return nil, fmt.Errorf("listing content keys of locator %s: %w", locatorID, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing content keys of locator %s: %w", locatorID, err)
	}
	return keys, nil
}

func (s *SQLiteStore) scanKey(row rowScanner, k *ContentKey) error {
	var id, locatorID, created string
	var sealed []byte
	err := row.Scan(&id, &locatorID, &k.PolicyName, &k.Type, &sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}

	if k.ID, err = uuid.Parse(id); err != nil {
		return fmt.Errorf("stored key ID %q: %w", id, err)
	}
	if k.LocatorID, err = uuid.Parse(locatorID); err != nil {
		return fmt.Errorf("stored locator ID %q of content key %s: %w", locatorID, k.ID, err)
	}
	if k.Created, err = parseTime(created); err != nil {
		return fmt.Errorf("stored creation time of content key %s: %w", k.ID, err)
	}

	value, err := s.sealer.open(k.Value[:0], sealed, k.ID[:])
	if err != nil {
		return fmt.Errorf("decrypting content key %s: %w", k.ID, err)
	}
	if len(value) != len(k.Value) {
		return fmt.Errorf("decrypting content key %s: %d bytes, want 16", k.ID, len(value))
	}
	return nil
}
