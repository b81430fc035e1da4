// Package token signs and verifies Keyhaven's JWTs (RS256) and publishes
// the verification key as a JWKS.
package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GenerateKey returns a new RSA-2048 signing key as PKCS#8 PEM.
func GenerateKey() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Signer signs and verifies tokens with one RSA key.
type Signer struct {
	key    *rsa.PrivateKey
	kid    string
	issuer string
	signer jose.Signer
	jwks   []byte
}

// NewSigner parses a PKCS#8 PEM key. The kid is the key's RFC 7638 thumbprint.
func NewSigner(keyPEM []byte, issuer string) (*Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("token: signing key is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: parse signing key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("token: signing key is not RSA")
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("token: thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", pub.KeyID))
	if err != nil {
		return nil, fmt.Errorf("token: signer: %w", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, kid: pub.KeyID, issuer: issuer, signer: signer, jwks: jwks}, nil
}

// Issuer is the iss of every token.
func (s *Signer) Issuer() string { return s.issuer }

// JWKS is the public key set, ready to serve.
func (s *Signer) JWKS() []byte { return s.jwks }

// KeyID is the signing key's kid.
func (s *Signer) KeyID() string { return s.kid }

// Sign signs claims (a struct or map) as a compact JWT.
func (s *Signer) Sign(claims any) (string, error) {
	return jwt.Signed(s.signer).Claims(claims).Serialize()
}

// Common is the registered claims every Keyhaven token carries.
type Common = jwt.Claims

// NewCommon fills the registered claims.
func (s *Signer) NewCommon(subject, audience, id string, now time.Time, ttl time.Duration) Common {
	return Common{
		Issuer:   s.issuer,
		Subject:  subject,
		Audience: jwt.Audience{audience},
		ID:       id,
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ttl)),
	}
}

// ErrInvalid is returned for any token that does not verify.
var ErrInvalid = errors.New("token invalid")

// Verify checks the signature, issuer and expiry at now and decodes the
// claims into dest (which should embed Common).
func (s *Signer) Verify(raw string, now time.Time, dest any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return ErrInvalid
	}
	var c Common
	if err := tok.Claims(&s.key.PublicKey, &c, dest); err != nil {
		return ErrInvalid
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, Time: now}, 0); err != nil {
		return ErrInvalid
	}
	return nil
}
