package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a statement waits for another connection's write
// lock before failing. Catalog writes take milliseconds, so five seconds is
// only reached when something is wrong.
const busyTimeout = 5 * time.Second

// SQLiteStore is the catalog in one SQLite file, for a single origin
// instance. It is safe for concurrent use. The SQL uses '?' placeholders
// and otherwise sticks to what PostgreSQL also accepts, so a PostgreSQL
// store can share it with the placeholders rewritten.
type SQLiteStore struct {
	db     *sql.DB
	sealer *sealer
	now    func() time.Time
}

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens (creating if needed) the catalog at path, applies the
// schema migrations it lacks, and checks that masterKey (MasterKeySize
// bytes) is the key the catalog was created with.
func OpenSQLite(path string, masterKey []byte) (*SQLiteStore, error) {
	s, err := newSealer(masterKey)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("catalog path %q contains '?' or '#', which SQLite reads as URI syntax: %w", path, ErrInvalid)
	}

	// WAL lets key requests read while the admin API writes. Immediate
	// transactions take the write lock at BEGIN, so two writers queue on
	// the busy timeout instead of failing with SQLITE_BUSY on upgrade.
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening catalog %q: %w", path, err)
	}

	store := &SQLiteStore{db: db, sealer: s, now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating catalog %q: %w", path, err)
	}
	if err := store.checkMasterKey(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening catalog %q: %w", path, err)
	}
	return store, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// migrations are the schema versions in order; version n is
// migrations[n-1]. Append new versions; never edit an applied one.
var migrations = [][]string{
	{
		`CREATE TABLE catalog_meta (
			name  TEXT PRIMARY KEY,
			value BLOB NOT NULL
		)`,
		// body is the policy as sealed JSON, because it holds HMAC secrets.
		`CREATE TABLE content_key_policies (
			name       TEXT PRIMARY KEY,
			body       BLOB NOT NULL,
			created_at TEXT NOT NULL,
			updated_at TEXT NOT NULL
		)`,
		`CREATE TABLE locators (
			id                 TEXT PRIMARY KEY,
			name               TEXT NOT NULL UNIQUE,
			asset              TEXT NOT NULL,
			streaming_policy   TEXT NOT NULL,
			content_key_policy TEXT REFERENCES content_key_policies (name),
			start_time         TEXT,
			end_time           TEXT,
			created_at         TEXT NOT NULL
		)`,
		`CREATE INDEX locators_content_key_policy ON locators (content_key_policy)`,
		// sealed_value is the 16-byte key under AES-256-GCM with the key ID
		// as additional data.
		`CREATE TABLE content_keys (
			id           TEXT PRIMARY KEY,
			locator_id   TEXT NOT NULL REFERENCES locators (id) ON DELETE CASCADE,
			policy_name  TEXT NOT NULL REFERENCES content_key_policies (name),
			key_type     TEXT NOT NULL,
			sealed_value BLOB NOT NULL,
			created_at   TEXT NOT NULL
		)`,
		`CREATE INDEX content_keys_locator ON content_keys (locator_id)`,
	},
}

func (s *SQLiteStore) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}

	return s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		if current > len(migrations) {
			return fmt.Errorf("catalog schema version %d is newer than this build knows (%d); run a newer lockstream",
				current, len(migrations))
		}

		for version := current + 1; version <= len(migrations); version++ {
			for _, stmt := range migrations[version-1] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("applying schema version %d: %w", version, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				version, formatTime(s.now())); err != nil {
				return fmt.Errorf("recording schema version %d: %w", version, err)
			}
		}
		return nil
	})
}

// masterKeyCheck is sealed into catalog_meta when the catalog is created,
// so opening it with another master key fails at start-up and not at the
// first key request.
const masterKeyCheck = "lockstream master key check"

func (s *SQLiteStore) checkMasterKey(ctx context.Context) error {
	aad := []byte("catalog_meta:master_key_check")
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM catalog_meta WHERE name = 'master_key_check'`).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			sealed, err = s.sealer.seal([]byte(masterKeyCheck), aad)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO catalog_meta (name, value) VALUES ('master_key_check', ?)`, sealed)
			return err
		}
		if err != nil {
			return fmt.Errorf("reading master key check: %w", err)
		}
		if _, err := s.sealer.open(nil, sealed, aad); err != nil {
			return errors.New("the master key is not the one this catalog was created with; " +
				"set LOCKSTREAM_MASTER_KEY or restore the master key file")
		}
		return nil
	})
}

// inTx runs fn in a transaction and commits when it returns nil.
func (s *SQLiteStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Times are stored as RFC 3339 text in UTC with nanoseconds, which sorts
// in time order and reads the same in SQLite and PostgreSQL.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func formatOptionalTime(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(*t), Valid: true}
}

func parseOptionalTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
