// Package keyring loads the server's key material from the store, creating
// it on first start. Every replica converges on the first writer's keys
// (store.Secrets.EnsureSecret), so keys survive restarts and are shared.
package keyring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/internal/pwcrypto"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Ring is everything secret the server needs at run time.
type Ring struct {
	Transport *pwcrypto.Keys // RSA and SM2 keys for password transport
	Signer    *token.Signer  // RS256 and ES256 keys for the server's tokens
	Pepper    []byte         // HMAC key for codes and tokens at rest
}

// Load reads or creates the keys.
func Load(ctx context.Context, st store.Secrets, issuer string) (*Ring, error) {
	// Generate only what is missing: RSA key generation costs a good part of
	// a second, and start-up should not pay it on every restart.
	ensure := func(name string, gen func() ([]byte, error)) ([]byte, error) {
		if v, err := st.Secret(ctx, name); err == nil {
			return v, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("keyring: read %s: %w", name, err)
		}
		v, err := gen()
		if err != nil {
			return nil, fmt.Errorf("keyring: generate %s: %w", name, err)
		}
		out, err := st.EnsureSecret(ctx, name, v)
		if err != nil {
			return nil, fmt.Errorf("keyring: store %s: %w", name, err)
		}
		return out, nil
	}
	rsaPEM, err := ensure("transport_rsa", pwcrypto.GenerateRSAKey)
	if err != nil {
		return nil, err
	}
	sm2PEM, err := ensure("transport_sm2", pwcrypto.GenerateSM2Key)
	if err != nil {
		return nil, err
	}
	rsaSignPEM, err := ensure("jwt_rs256", func() ([]byte, error) { return token.GenerateKey(token.RS256) })
	if err != nil {
		return nil, err
	}
	// Added after jwt_rs256: a database from before it gets one on its
	// first start and keeps its RSA key, so tokens already out still verify.
	ecSignPEM, err := ensure("jwt_es256", func() ([]byte, error) { return token.GenerateKey(token.ES256) })
	if err != nil {
		return nil, err
	}
	pepper, err := ensure("pepper", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, err
	}
	transport, err := pwcrypto.LoadKeys(rsaPEM, sm2PEM)
	if err != nil {
		return nil, fmt.Errorf("keyring: transport keys: %w", err)
	}
	signer, err := token.NewSigner(rsaSignPEM, ecSignPEM, issuer)
	if err != nil {
		return nil, fmt.Errorf("keyring: signing keys: %w", err)
	}
	return &Ring{Transport: transport, Signer: signer, Pepper: pepper}, nil
}
