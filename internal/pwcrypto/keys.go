// Package pwcrypto is the server side of GenAuth's "password transport
// encryption": a client may send a password in plain text, encrypted with
// the server's RSA key (PKCS#1 v1.5, base64, as JSEncrypt and Node's
// crypto.publicEncrypt produce) or with its SM2 key (C1C3C2, hex, as npm
// sm-crypto produces). Keys holds both private keys, parsed once; Decrypt
// turns whatever arrived back into the password.
//
// The client-side helpers EncryptRSA and EncryptSM2 produce exactly the
// wire formats, so tests and tools need no JavaScript.
package pwcrypto

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// minRSABits is the smallest modulus we accept: the contract publishes an
// RSA-2048 key, and anything smaller is not worth protecting a password with.
const minRSABits = 2048

// pemPrivateKey is the PEM type of PKCS#8 ("PRIVATE KEY"), the one encoding
// both GenerateRSAKey and GenerateSM2Key write and LoadKeys reads. OpenSSL 3's
// `openssl genpkey -algorithm RSA|SM2` writes the same.
const pemPrivateKey = "PRIVATE KEY"

// Keys holds the server's two transport private keys and their published
// public forms. It is immutable after LoadKeys, so one value may serve all
// requests concurrently.
type Keys struct {
	rsa *rsa.PrivateKey
	sm2 *sm2.PrivateKey

	// The published forms are computed once: they are served on every
	// system-info request and never change for a given key.
	rsaPublicPEM string
	sm2PublicHex string
}

// GenerateRSAKey returns a new RSA-2048 private key as PKCS#8 PEM, the
// format LoadKeys expects; it exists so operators and tests never need
// OpenSSL to bootstrap a server.
func GenerateRSAKey() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: encode RSA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// GenerateSM2Key returns a new SM2 private key as PKCS#8 PEM
// ("-----BEGIN PRIVATE KEY-----", algorithm id-ecPublicKey with the SM2
// curve OID 1.2.156.10197.1.301), the same encoding OpenSSL 3 writes for
// `openssl genpkey -algorithm SM2`, so keys move freely between the two.
func GenerateSM2Key() ([]byte, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: generate SM2 key: %w", err)
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: encode SM2 key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// LoadKeys parses the two PKCS#8 PEM private keys (as written by
// GenerateRSAKey and GenerateSM2Key) once, so that Decrypt does no parsing
// per request. Both keys are required: GenAuth clients may pick either
// algorithm, and the server publishes both public keys.
func LoadKeys(rsaPEM, sm2PEM []byte) (*Keys, error) {
	rsaDER, err := decodePEM(rsaPEM)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: RSA key: %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(rsaDER)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: RSA key: %w", err)
	}
	rsaKey, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pwcrypto: RSA key: PEM holds a %T, not an RSA key", parsed)
	}
	if bits := rsaKey.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("pwcrypto: RSA key: %d bits, need at least %d", bits, minRSABits)
	}
	// ParsePKCS8PrivateKey already validated and precomputed the CRT values;
	// the key is read-only from here on, which makes concurrent use safe.

	sm2DER, err := decodePEM(sm2PEM)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: SM2 key: %w", err)
	}
	parsedSM2, err := smx509.ParsePKCS8PrivateKey(sm2DER)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: SM2 key: %w", err)
	}
	// smx509 returns *sm2.PrivateKey only for the SM2 curve; an ECDSA key on
	// another curve comes back as *ecdsa.PrivateKey and is refused here.
	sm2Key, ok := parsedSM2.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pwcrypto: SM2 key: PEM holds a %T, not an SM2 key", parsedSM2)
	}

	spki, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("pwcrypto: RSA public key: %w", err)
	}
	var point [1 + 2*sm2CoordLen]byte
	point[0] = 0x04
	sm2Key.X.FillBytes(point[1 : 1+sm2CoordLen])
	sm2Key.Y.FillBytes(point[1+sm2CoordLen:])

	return &Keys{
		rsa:          rsaKey,
		sm2:          sm2Key,
		rsaPublicPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		sm2PublicHex: hex.EncodeToString(point[:]),
	}, nil
}

// RSAPublicKeyPEM returns the RSA public key as SubjectPublicKeyInfo PEM
// ("-----BEGIN PUBLIC KEY-----"), the form JSEncrypt's setPublicKey and
// Node's crypto.publicEncrypt take as is.
func (k *Keys) RSAPublicKeyPEM() string { return k.rsaPublicPEM }

// SM2PublicKeyHex returns the SM2 public key as lowercase hex of the
// uncompressed point 04‖x‖y (130 characters), the form sm-crypto's
// doEncrypt takes as is.
func (k *Keys) SM2PublicKeyHex() string { return k.sm2PublicHex }

// decodePEM returns the DER of the single PKCS#8 block in data. A second
// block is refused, so a file holding two keys is not silently half-used.
func decodePEM(data []byte) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != pemPrivateKey {
		return nil, fmt.Errorf("PEM block is %q, want %q (PKCS#8)", block.Type, pemPrivateKey)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("encrypted or annotated PEM is not supported")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block")
	}
	return block.Bytes, nil
}
