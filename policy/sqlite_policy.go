package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

func policyAAD(name string) []byte { return []byte("content_key_policy:" + name) }

// CreateContentKeyPolicy implements ContentKeyPolicyStore. It normalizes p
// in place and sets p.Created and p.Updated.
func (s *SQLiteStore) CreateContentKeyPolicy(ctx context.Context, p *ContentKeyPolicy) error {
	sealed, err := s.preparePolicy(p)
	if err != nil {
		return err
	}
	p.Created = s.now()
	p.Updated = p.Created

	_, err = s.db.ExecContext(ctx, `INSERT INTO content_key_policies (name, body, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		p.Name, sealed, formatTime(p.Created), formatTime(p.Updated))
	if isUniqueViolation(err) {
		return fmt.Errorf("creating content key policy %q: %w", p.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating content key policy %q: %w", p.Name, err)
	}
	return nil
}

// UpdateContentKeyPolicy implements ContentKeyPolicyStore. It normalizes p
// in place and sets p.Created and p.Updated. The next GetContentKeyPolicy
// returns the new version, so the next key request is judged by it.
func (s *SQLiteStore) UpdateContentKeyPolicy(ctx context.Context, p *ContentKeyPolicy) error {
	sealed, err := s.preparePolicy(p)
	if err != nil {
		return err
	}
	p.Updated = s.now()

	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var created string
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM content_key_policies WHERE name = ?`, p.Name).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if p.Created, err = parseTime(created); err != nil {
			return fmt.Errorf("stored creation time: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE content_key_policies SET body = ?, updated_at = ? WHERE name = ?`,
			sealed, formatTime(p.Updated), p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("updating content key policy %q: %w", p.Name, err)
	}
	return nil
}

// preparePolicy normalizes and validates p and returns it as sealed JSON;
// the body is sealed because symmetric verification keys are secrets.
func (s *SQLiteStore) preparePolicy(p *ContentKeyPolicy) ([]byte, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}

	body := *p
	body.Created, body.Updated = time.Time{}, time.Time{}
	data, err := json.Marshal(&body)
	if err != nil {
		return nil, fmt.Errorf("encoding content key policy %q: %w", p.Name, err)
	}
	sealed, err := s.sealer.seal(data, policyAAD(p.Name))
	if err != nil {
		return nil, fmt.Errorf("encrypting content key policy %q: %w", p.Name, err)
	}
	return sealed, nil
}

// GetContentKeyPolicy implements ContentKeyPolicyStore. It reads the
// database on every call; there is no cache to go stale.
func (s *SQLiteStore) GetContentKeyPolicy(ctx context.Context, name string) (*ContentKeyPolicy, error) {
	row := s.db.QueryRowContext(ctx, `SELECT name, body, created_at, updated_at FROM content_key_policies WHERE name = ?`, name)
	p, err := s.scanPolicy(row)
	if err != nil {
		return nil, fmt.Errorf("reading content key policy %q: %w", name, err)
	}
	return p, nil
}

// ListContentKeyPolicies implements ContentKeyPolicyStore.
func (s *SQLiteStore) ListContentKeyPolicies(ctx context.Context) ([]*ContentKeyPolicy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, body, created_at, updated_at FROM content_key_policies ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing content key policies: %w", err)
	}
	defer rows.Close()

	var out []*ContentKeyPolicy
	for rows.Next() {
		p, err := s.scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("listing content key policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing content key policies: %w", err)
	}
	return out, nil
}

// DeleteContentKeyPolicy implements ContentKeyPolicyStore.
func (s *SQLiteStore) DeleteContentKeyPolicy(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM locators WHERE content_key_policy = ?`, name).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return fmt.Errorf("%d streaming locators use it; delete them first: %w", users, ErrConflict)
		}

		res, err := tx.ExecContext(ctx, `DELETE FROM content_key_policies WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting content key policy %q: %w", name, err)
	}
	return nil
}

func (s *SQLiteStore) scanPolicy(row rowScanner) (*ContentKeyPolicy, error) {
	var name, created, updated string
	var sealed []byte
	err := row.Scan(&name, &sealed, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}

	data, err := s.sealer.open(nil, sealed, policyAAD(name))
	if err != nil {
		return nil, fmt.Errorf("decrypting content key policy %q: %w", name, err)
	}
	var p ContentKeyPolicy
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decoding stored content key policy %q: %w", name, err)
	}
	if p.Created, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("stored creation time of content key policy %q: %w", name, err)
	}
	if p.Updated, err = parseTime(updated); err != nil {
		return nil, fmt.Errorf("stored update time of content key policy %q: %w", name, err)
	}
	return &p, nil
}
