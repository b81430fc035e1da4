package keyring_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/keyring"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/token"
)

// A database from before the ES256 key gets one on its next start and keeps
// its RSA key, so tokens already handed out still verify; later starts load
// the same keys.
func TestLoadAddsES256KeyAndKeepsRSAKey(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const iss = "https://id.example.com"
	// The old start-up: only jwt_rs256.
	rsaPEM, err := token.GenerateKey(token.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureSecret(ctx, "jwt_rs256", rsaPEM); err != nil {
		t.Fatal(err)
	}
	ecPEM, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	old, err := token.NewSigner(rsaPEM, ecPEM, iss) // stands in for the old RSA-only signer
	if err != nil {
		t.Fatal(err)
	}
	issued, err := old.Sign(token.RS256, old.NewCommon("user-1", "app-1", "jti-1", time.Now(), time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	ring, err := keyring.Load(ctx, st, iss)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Secret(ctx, "jwt_rs256"); err != nil || !bytes.Equal(got, rsaPEM) {
		t.Fatalf("RSA key replaced: %v", err)
	}
	if _, err := st.Secret(ctx, "jwt_es256"); err != nil {
		t.Fatalf("no ES256 key stored: %v", err)
	}
	var c token.Common
	if err := ring.Signer.Verify(issued, time.Now(), &c); err != nil {
		t.Fatalf("token issued before the upgrade refused: %v", err)
	}
	es, err := ring.Signer.Sign(token.ES256, ring.Signer.NewCommon("user-1", "app-1", "jti-2", time.Now(), time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	again, err := keyring.Load(ctx, st, iss)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Signer.JWKS(), ring.Signer.JWKS()) {
		t.Fatalf("keys changed across starts:\n%s\n%s", ring.Signer.JWKS(), again.Signer.JWKS())
	}
	if err := again.Signer.Verify(es, time.Now(), &c); err != nil {
		t.Fatalf("ES256 token refused after a restart: %v", err)
	}
}
