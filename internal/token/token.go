// Package token signs and verifies Keyhaven's JWTs and publishes the
// verification keys as a JWKS. It holds two keys: RSA-2048 for RS256 (id
// tokens: OIDC Core's default algorithm) and ECDSA P-256 for ES256 (access
// tokens by default, and the server's own action tokens), because signing
// an RS256 token costs about fourteen ES256 ones (see docs/security.md).
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
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

// Alg is a JWS algorithm Keyhaven signs with.
type Alg string

// The algorithms a Signer holds a key for.
const (
	RS256 Alg = "RS256" // RSA-2048, PKCS #1 v1.5, SHA-256
	ES256 Alg = "ES256" // ECDSA P-256, SHA-256
)

// GenerateKey returns a new signing key for alg as PKCS#8 PEM: RSA-2048 for
// RS256, P-256 for ES256.
func GenerateKey(alg Alg) ([]byte, error) {
	var k crypto.Signer
	var err error
	switch alg {
	case RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("token: no key type for %q", alg)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Signer signs and verifies tokens with an RS256 and an ES256 key.
type Signer struct {
	issuer string
	keys   map[Alg]signingKey
	jwks   []byte
}

type signingKey struct {
	kid    string
	pub    crypto.PublicKey
	signer jose.Signer
}

// NewSigner parses the two PKCS#8 PEM keys: rsaPEM (RSA, for RS256) and
// ecPEM (P-256, for ES256). Each key's kid is its RFC 7638 thumbprint.
func NewSigner(rsaPEM, ecPEM []byte, issuer string) (*Signer, error) {
	s := &Signer{issuer: issuer, keys: map[Alg]signingKey{}}
	var set jose.JSONWebKeySet
	// RS256 first: a client that ignores kid and takes the first key keeps
	// verifying id tokens, as it did when this was the only key.
	for _, in := range []struct {
		alg Alg
		pem []byte
	}{{RS256, rsaPEM}, {ES256, ecPEM}} {
		priv, err := parseKey(in.alg, in.pem)
		if err != nil {
			return nil, err
		}
		pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(in.alg), Use: "sig"}
		thumb, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("token: %s thumbprint: %w", in.alg, err)
		}
		pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(in.alg), Key: priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", pub.KeyID))
		if err != nil {
			return nil, fmt.Errorf("token: %s signer: %w", in.alg, err)
		}
		s.keys[in.alg] = signingKey{kid: pub.KeyID, pub: pub.Key, signer: signer}
		set.Keys = append(set.Keys, pub)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	s.jwks = jwks
	return s, nil
}

// parseKey parses a PKCS#8 PEM key and checks that it is alg's key type.
func parseKey(alg Alg, keyPEM []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("token: %s signing key is not PEM", alg)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: parse %s signing key: %w", alg, err)
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		if alg == RS256 {
			return k, nil
		}
	case *ecdsa.PrivateKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("token: %s signing key is a %T, not the key type %s needs", alg, parsed, alg)
}

// Issuer is the iss of every token.
func (s *Signer) Issuer() string { return s.issuer }

// JWKS is the public key set, ready to serve.
func (s *Signer) JWKS() []byte { return s.jwks }

// Sign signs claims (a struct or map) with alg's key as a compact JWT.
func (s *Signer) Sign(alg Alg, claims any) (string, error) {
	k, ok := s.keys[alg]
	if !ok {
		return "", fmt.Errorf("token: no %q key", alg)
	}
	return jwt.Signed(k.signer).Claims(claims).Serialize()
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
// claims into dest (which should embed Common). A token verifies only with
// the key its header names by both alg and kid: RS256 or ES256, never
// "none" or HS*, and never an algorithm with the other algorithm's key.
func (s *Signer) Verify(raw string, now time.Time, dest any) error {
	return s.verify(raw, now, true, dest)
}

// VerifyAnyAge is Verify without the expiry check, for an id_token_hint at
// logout: OIDC RP-Initiated Logout §2 has the OP accept an expired one, and
// apps keep the id token from sign-in long after it expires. The signature
// and issuer are still checked.
func (s *Signer) VerifyAnyAge(raw string, dest any) error {
	return s.verify(raw, time.Time{}, false, dest)
}

func (s *Signer) verify(raw string, now time.Time, checkExpiry bool, dest any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return ErrInvalid
	}
	h := tok.Headers[0]
	k, ok := s.keys[Alg(h.Algorithm)]
	if !ok || h.KeyID != k.kid {
		return ErrInvalid
	}
	var c Common
	if err := tok.Claims(k.pub, &c, dest); err != nil {
		return ErrInvalid
	}
	if !checkExpiry {
		if c.Issuer != s.issuer {
			return ErrInvalid
		}
		return nil
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, Time: now}, 0); err != nil {
		return ErrInvalid
	}
	return nil
}
