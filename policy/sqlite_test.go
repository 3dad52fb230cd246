package policy

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func createTestPolicy(t testing.TB, s *SQLiteStore, name string) *ContentKeyPolicy {
	t.Helper()
	p := tokenPolicy(name, symmetricKey(loadTestKeys(t).secret))
	if err := s.CreateContentKeyPolicy(context.Background(), p); err != nil {
		t.Fatalf("CreateContentKeyPolicy(%q): %v", name, err)
	}
	return p
}

func TestLocatorCRUD(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)

	l := &Locator{Name: "clear-1", Asset: "sample", StreamingPolicy: PolicyClearStreamingOnly}
	if err := s.CreateLocator(ctx, l); err != nil {
		t.Fatalf("CreateLocator: %v", err)
	}
	if l.ID == uuid.Nil {
		t.Fatalf("CreateLocator left the ID zero")
	}

	got, err := s.GetLocator(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetLocator: %v", err)
	}
	if got.Name != l.Name || got.Asset != l.Asset || got.StreamingPolicy != l.StreamingPolicy || !got.Created.Equal(l.Created) {
		t.Errorf("GetLocator = %+v, want %+v", got, l)
	}
	byName, err := s.GetLocatorByName(ctx, "clear-1")
	if err != nil || byName.ID != l.ID {
		t.Errorf("GetLocatorByName = %v, %v; want ID %s", byName, err, l.ID)
	}

	keys, err := s.ListContentKeys(ctx, l.ID)
	if err != nil || len(keys) != 0 {
		t.Errorf("ListContentKeys(clear locator) = %v, %v; want none", keys, err)
	}

	second := &Locator{Asset: "sample", StreamingPolicy: PolicyClearStreamingOnly}
	if err := s.CreateLocator(ctx, second); err != nil {
		t.Fatalf("CreateLocator(unnamed): %v", err)
	}
	if second.Name != second.ID.String() {
		t.Errorf("unnamed locator name = %q, want its ID", second.Name)
	}
	list, err := s.ListLocators(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListLocators = %d locators, %v; want 2", len(list), err)
	}

	if err := s.DeleteLocator(ctx, l.ID); err != nil {
		t.Fatalf("DeleteLocator: %v", err)
	}
	if _, err := s.GetLocator(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetLocator after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteLocator(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteLocator = %v, want ErrNotFound", err)
	}
	if _, err := s.ListContentKeys(ctx, l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListContentKeys(deleted) = %v, want ErrNotFound", err)
	}
}

func TestLocatorConflicts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	first := &Locator{Name: "one", Asset: "a", StreamingPolicy: PolicyClearStreamingOnly}
	if err := s.CreateLocator(ctx, first); err != nil {
		t.Fatalf("CreateLocator: %v", err)
	}

	tests := []struct {
		name string
		l    *Locator
	}{
		{"same name", &Locator{Name: "one", Asset: "a", StreamingPolicy: PolicyClearStreamingOnly}},
		{"same id", &Locator{ID: first.ID, Name: "two", Asset: "a", StreamingPolicy: PolicyClearStreamingOnly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreateLocator(ctx, tt.l); !errors.Is(err, ErrConflict) {
				t.Errorf("CreateLocator = %v, want ErrConflict", err)
			}
		})
	}
}

func TestLocatorValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	start := testNow
	before := testNow.Add(-time.Hour)

	tests := []struct {
		name      string
		l         *Locator
		wantField string
	}{
		{"missing asset", &Locator{StreamingPolicy: PolicyClearStreamingOnly}, "assetName"},
		{"asset with slash", &Locator{Asset: "../etc", StreamingPolicy: PolicyClearStreamingOnly}, "assetName"},
		{"unknown streaming policy", &Locator{Asset: "a", StreamingPolicy: "Predefined_DownloadOnly"}, "streamingPolicyName"},
		{"clearkey without policy", &Locator{Asset: "a", StreamingPolicy: PolicyClearKey}, "defaultContentKeyPolicyName"},
		{"clearkey with unknown policy", &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "nope"}, `content key policy "nope" does not exist`},
		{"end before start", &Locator{Asset: "a", StreamingPolicy: PolicyClearStreamingOnly, Start: &start, End: &before}, "endTime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateLocator(ctx, tt.l)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CreateLocator = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %q", err, tt.wantField)
			}
		})
	}
}

func TestLocatorWindow(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	start := testNow.Add(time.Hour)
	end := testNow.Add(2 * time.Hour)
	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearStreamingOnly, Start: &start, End: &end}
	if err := s.CreateLocator(ctx, l); err != nil {
		t.Fatalf("CreateLocator: %v", err)
	}

	got, err := s.GetLocator(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetLocator: %v", err)
	}
	if got.Start == nil || !got.Start.Equal(start) || got.End == nil || !got.End.Equal(end) {
		t.Fatalf("window = %v..%v, want %v..%v", got.Start, got.End, start, end)
	}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{testNow, false}, {start, true}, {end.Add(-time.Nanosecond), true}, {end, false},
	} {
		if got.Active(tt.at) != tt.want {
			t.Errorf("Active(%v) = %v, want %v", tt.at, !tt.want, tt.want)
		}
	}
}

func TestCreateLocatorWithKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	createTestPolicy(t, s, "p1")

	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	keys, err := s.CreateLocatorWithKeys(ctx, l, nil)
	if err != nil {
		t.Fatalf("CreateLocatorWithKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].Type != KeyTypeShared || keys[0].Value == ([16]byte{}) || keys[0].PolicyName != "p1" {
		t.Fatalf("generated keys = %+v, want one shared key bound to p1", keys)
	}

	got, err := s.GetContentKey(ctx, keys[0].ID)
	if err != nil {
		t.Fatalf("GetContentKey: %v", err)
	}
	if got.Value != keys[0].Value || got.LocatorID != l.ID {
		t.Errorf("GetContentKey = value %x locator %s, want %x %s", got.Value, got.LocatorID, keys[0].Value, l.ID)
	}
	if _, err := SelectKey([]ContentKey{*got}, SchemeCENC); err != nil {
		t.Errorf("SelectKey(cenc) = %v, want the shared key", err)
	}

	// A supplied key ID that is taken rolls the whole locator back.
	dup := &Locator{Name: "dup", Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	if _, err := s.CreateLocatorWithKeys(ctx, dup, []ContentKey{{ID: keys[0].ID}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("CreateLocatorWithKeys(taken key ID) = %v, want ErrConflict", err)
	}
	if _, err := s.GetLocatorByName(ctx, "dup"); !errors.Is(err, ErrNotFound) {
		t.Errorf("locator of a failed create exists: %v", err)
	}

	envelopeOnly := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	_, err = s.CreateLocatorWithKeys(ctx, envelopeOnly, []ContentKey{{Type: KeyTypeEnvelope}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no key serves cenc") {
		t.Errorf("CreateLocatorWithKeys(envelope key only) = %v, want ErrInvalid naming cenc", err)
	}

	if _, err := s.GetContentKey(ctx, uuid.New()); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetContentKey(unknown) = %v, want ErrNotFound", err)
	}
}

func TestContentKeysEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	s, path := openTestStore(t)
	createTestPolicy(t, s, "p1")

	value := [16]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98}
	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	keys, err := s.CreateLocatorWithKeys(ctx, l, []ContentKey{{Value: value}})
	if err != nil {
		t.Fatalf("CreateLocatorWithKeys: %v", err)
	}
	secret := loadTestKeys(t).secret

	// Every file SQLite writes (database, WAL, shared memory) must lack
	// the key and the policy's HMAC secret in every encoding.
	files, _ := filepath.Glob(path + "*")
	if len(files) == 0 {
		t.Fatalf("no database files at %s", path)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, needle := range map[string][]byte{
			"key":           value[:],
			"key hex":       []byte(hex.EncodeToString(value[:])),
			"key base64":    []byte(base64.StdEncoding.EncodeToString(value[:])),
			"secret":        secret,
			"secret base64": []byte(base64.StdEncoding.EncodeToString(secret)),
		} {
			if bytes.Contains(data, needle) {
				t.Errorf("%s contains the %s in the clear", filepath.Base(f), name)
			}
		}
	}

	// Flip one bit of the stored ciphertext: decryption must fail loudly.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var sealed []byte
	if err := raw.QueryRow(`SELECT sealed_value FROM content_keys WHERE id = ?`, keys[0].ID.String()).Scan(&sealed); err != nil {
		t.Fatalf("reading sealed key: %v", err)
	}
	if len(sealed) != 12+16+16 {
		t.Errorf("sealed key is %d bytes, want nonce + key + tag = 44", len(sealed))
	}
	sealed[20] ^= 1
	if _, err := raw.Exec(`UPDATE content_keys SET sealed_value = ? WHERE id = ?`, sealed, keys[0].ID.String()); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetContentKey(ctx, keys[0].ID)
	if err == nil || !strings.Contains(err.Error(), "message authentication failed") {
		t.Fatalf("GetContentKey(tampered) = %v, want an authentication failure", err)
	}
	if strings.Contains(err.Error(), hex.EncodeToString(value[:])) {
		t.Errorf("error contains the key")
	}
}

func TestOpenSQLiteWrongMasterKey(t *testing.T) {
	s, path := openTestStore(t)
	s.Close()

	other := bytes.Repeat([]byte{7}, MasterKeySize)
	if _, err := OpenSQLite(path, other); err == nil || !strings.Contains(err.Error(), "master key is not the one") {
		t.Fatalf("OpenSQLite(other key) = %v, want a master key mismatch", err)
	}
	again, err := OpenSQLite(path, loadTestKeys(t).masterKey)
	if err != nil {
		t.Fatalf("reopening with the right key: %v", err)
	}
	again.Close()
}

func TestOpenSQLiteWAL(t *testing.T) {
	s, _ := openTestStore(t)
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	var version int
	if err := s.db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("schema version = %d, %v; want %d", version, err, len(migrations))
	}
}

func TestContentKeyPolicyCRUD(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	p := createTestPolicy(t, s, "p1")
	if p.Created.IsZero() {
		t.Errorf("Created not set")
	}
	if err := s.CreateContentKeyPolicy(ctx, tokenPolicy("p1", symmetricKey(loadTestKeys(t).secret))); !errors.Is(err, ErrConflict) {
		t.Errorf("second CreateContentKeyPolicy = %v, want ErrConflict", err)
	}

	got, err := s.GetContentKeyPolicy(ctx, "p1")
	if err != nil {
		t.Fatalf("GetContentKeyPolicy: %v", err)
	}
	if got.Options[0].Restriction.Issuer != testIssuer || got.Options[0].Restriction.ContentKeyIdentifierClaim != DefaultContentKeyIdentifierClaim {
		t.Errorf("stored restriction = %+v", got.Options[0].Restriction)
	}

	got.Description = "changed"
	if err := s.UpdateContentKeyPolicy(ctx, got); err != nil {
		t.Fatalf("UpdateContentKeyPolicy: %v", err)
	}
	again, _ := s.GetContentKeyPolicy(ctx, "p1")
	if again.Description != "changed" || !again.Created.Equal(p.Created) {
		t.Errorf("after update: description %q created %v; want %q %v", again.Description, again.Created, "changed", p.Created)
	}
	if err := s.UpdateContentKeyPolicy(ctx, tokenPolicy("absent", symmetricKey(loadTestKeys(t).secret))); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateContentKeyPolicy(absent) = %v, want ErrNotFound", err)
	}

	createTestPolicy(t, s, "a0")
	list, err := s.ListContentKeyPolicies(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a0" {
		t.Errorf("ListContentKeyPolicies = %d, %v; want a0 then p1", len(list), err)
	}

	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	if err := s.CreateLocator(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContentKeyPolicy(ctx, "p1"); !errors.Is(err, ErrConflict) {
		t.Errorf("DeleteContentKeyPolicy(in use) = %v, want ErrConflict", err)
	}
	if err := s.DeleteLocator(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContentKeyPolicy(ctx, "p1"); err != nil {
		t.Errorf("DeleteContentKeyPolicy(unused) = %v", err)
	}
	if _, err := s.GetContentKeyPolicy(ctx, "p1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetContentKeyPolicy after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteContentKeyPolicy(ctx, "p1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteContentKeyPolicy = %v, want ErrNotFound", err)
	}
}

func TestContentKeyPolicyValidation(t *testing.T) {
	s, _ := openTestStore(t)
	k := loadTestKeys(t)
	p := &ContentKeyPolicy{
		Name: "bad name!",
		Options: []ContentKeyPolicyOption{
			{Restriction: Restriction{Type: RestrictionToken, PrimaryVerificationKey: &VerificationKey{Type: VerificationKeySymmetric, KeyValue: base64.StdEncoding.EncodeToString([]byte("short"))}}},
			{Restriction: Restriction{Type: RestrictionToken, Issuer: "i", Audience: "a",
				PrimaryVerificationKey:    &VerificationKey{Type: VerificationKeyRSA, KeyValue: "c2VjcmV0"},
				AlternateVerificationKeys: []VerificationKey{{Type: VerificationKeyECDSA, PEM: k.rsaPEM}, {Type: VerificationKeyX509, PEM: k.rsaPEM}, {Type: "hmac"}},
				RequiredClaims:            []RequiredClaim{{ClaimValue: "x"}},
				RestrictionTokenType:      "Swt"}},
			{Restriction: Restriction{Type: RestrictionOpen, Issuer: "i"}},
			{Restriction: Restriction{Type: "magic"}},
		},
	}

	err := s.CreateContentKeyPolicy(context.Background(), p)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateContentKeyPolicy = %v, want ErrInvalid", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, want *ValidationError", err)
	}
	for _, field := range []string{
		"name",
		"options[0].restriction.issuer",
		"options[0].restriction.audience",
		"options[0].restriction.primaryVerificationKey.keyValue",
		"options[1].restriction.primaryVerificationKey.keyValue",
		"options[1].restriction.alternateVerificationKeys[0].pem",
		"options[1].restriction.alternateVerificationKeys[1].pem",
		"options[1].restriction.alternateVerificationKeys[2].type",
		"options[1].restriction.requiredClaims[0].claimType",
		"options[1].restriction.restrictionTokenType",
		"options[2].restriction",
		"options[3].restriction.type",
	} {
		found := false
		for _, f := range ve.Fields {
			found = found || f.Field == field
		}
		if !found {
			t.Errorf("validation error does not name %s; got %v", field, ve)
		}
	}
	if strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("validation error contains key material")
	}
}

// An updated policy must judge the very next key request.
func TestPolicyUpdateTakesEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	k := loadTestKeys(t)
	p := createTestPolicy(t, s, "p1")
	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}
	keys, err := s.CreateLocatorWithKeys(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}

	auth := NewKeyAuthorizer(s, s, NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew))
	token := sign(t, jwt.SigningMethodHS256, k.secret, validClaims(keys[0].ID))
	if err := auth.AuthorizeKey(ctx, &keys[0], token); err != nil {
		t.Fatalf("AuthorizeKey before update = %v, want granted", err)
	}

	p.Options[0].Restriction.PrimaryVerificationKey = symmetricKey(k.secret2)
	if err := s.UpdateContentKeyPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	var te *TokenError
	if err := auth.AuthorizeKey(ctx, &keys[0], token); !errors.As(err, &te) || te.Reason != ReasonBadSignature {
		t.Fatalf("AuthorizeKey after key rotation = %v, want bad_signature", err)
	}
	if err := auth.AuthorizeKey(ctx, &keys[0], sign(t, jwt.SigningMethodHS256, k.secret2, validClaims(keys[0].ID))); err != nil {
		t.Errorf("AuthorizeKey with the new key = %v, want granted", err)
	}
}

func TestKeyAuthorizerLocatorWindow(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t)
	k := loadTestKeys(t)
	createTestPolicy(t, s, "p1")
	end := testNow.Add(-time.Minute)
	start := end.Add(-time.Hour)
	l := &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1", Start: &start, End: &end}
	keys, err := s.CreateLocatorWithKeys(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}

	auth := NewKeyAuthorizer(s, s, NewTokenVerifier(func() time.Time { return testNow }, DefaultClockSkew))
	err = auth.AuthorizeKey(ctx, &keys[0], sign(t, jwt.SigningMethodHS256, k.secret, validClaims(keys[0].ID)))
	var te *TokenError
	if !errors.As(err, &te) || te.Class != Forbidden || te.Reason != ReasonLocatorInactive {
		t.Errorf("AuthorizeKey(ended locator) = %v, want forbidden locator_inactive", err)
	}
}

func BenchmarkGetContentKey(b *testing.B) {
	ctx := context.Background()
	s, _ := openTestStore(b)
	createTestPolicy(b, s, "p1")
	keys, err := s.CreateLocatorWithKeys(ctx, &Locator{Asset: "a", StreamingPolicy: PolicyClearKey, ContentKeyPolicy: "p1"}, nil)
	if err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	b.SetBytes(16)
	for b.Loop() {
		if _, err := s.GetContentKey(ctx, keys[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}
