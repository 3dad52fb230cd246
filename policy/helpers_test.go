package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "urn:lockstream:test"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKeys are signing keys generated once per test binary; RSA key
// generation takes long enough to matter when every test does it.
type testKeys struct {
	secret    []byte
	secret2   []byte
	rsa       *rsa.PrivateKey
	rsaPEM    string
	ec        *ecdsa.PrivateKey
	ecPEM     string
	certKey   *rsa.PrivateKey
	certPEM   string
	otherRSA  *rsa.PrivateKey
	masterKey []byte
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func loadTestKeys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		keys.secret = make([]byte, 32)
		keys.secret2 = make([]byte, 64)
		keys.masterKey = make([]byte, 32)
		rand.Read(keys.secret)
		rand.Read(keys.secret2)
		rand.Read(keys.masterKey)

		var err error
		if keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.certKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		keys.rsaPEM = publicPEM(&keys.rsa.PublicKey)
		keys.ecPEM = publicPEM(&keys.ec.PublicKey)

		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "token signer"},
			NotBefore:    testNow.Add(-time.Hour),
			NotAfter:     testNow.Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &keys.certKey.PublicKey, keys.certKey)
		if err != nil {
			panic(err)
		}
		keys.certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	})
	return &keys
}

func publicPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func symmetricKey(secret []byte) *VerificationKey {
	return &VerificationKey{Type: VerificationKeySymmetric, KeyValue: base64.StdEncoding.EncodeToString(secret)}
}

// tokenPolicy returns a one-option token policy with primary key primary.
func tokenPolicy(name string, primary *VerificationKey, alternates ...VerificationKey) *ContentKeyPolicy {
	p := &ContentKeyPolicy{
		Name: name,
		Options: []ContentKeyPolicyOption{{
			Name: "token",
			Restriction: Restriction{
				Type:                      RestrictionToken,
				Issuer:                    testIssuer,
				Audience:                  testAudience,
				PrimaryVerificationKey:    primary,
				AlternateVerificationKeys: alternates,
			},
		}},
	}
	p.Normalize()
	return p
}

// validClaims returns the claims of a token that grants kid.
func validClaims(kid uuid.UUID) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":                            testIssuer,
		"aud":                            testAudience,
		"exp":                            testNow.Add(time.Hour).Unix(),
		"nbf":                            testNow.Add(-time.Minute).Unix(),
		DefaultContentKeyIdentifierClaim: kid.String(),
	}
}

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing token: %v", err)
	}
	return s
}

func openTestStore(t testing.TB) (*SQLiteStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	s, err := OpenSQLite(path, loadTestKeys(t).masterKey)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}
