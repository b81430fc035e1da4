package pwcrypto

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
)

// errEmptyPassword: an empty password has no ciphertext Decrypt accepts
// (and the SM2 library would silently return an empty one), so the helpers
// refuse it up front.
var errEmptyPassword = errors.New("pwcrypto: empty password")

// EncryptRSA is the client side of type "rsa": it encrypts password with
// the SPKI PEM public key using PKCS#1 v1.5 padding and returns standard,
// padded base64, byte for byte the format of JSEncrypt and Node's
// crypto.publicEncrypt with RSA_PKCS1_PADDING. Tests and tools use it to
// speak to a server without JavaScript. The password's bytes are encrypted
// as given, valid UTF-8 or not.
func EncryptRSA(publicKeyPEM, password string) (string, error) {
	if password == "" {
		return "", errEmptyPassword
	}
	block, _ := pem.Decode([]byte(publicKeyPEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		return "", errors.New(`pwcrypto: want a "PUBLIC KEY" (SPKI) PEM block`)
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("pwcrypto: RSA public key: %w", err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("pwcrypto: PEM holds a %T, not an RSA public key", parsed)
	}
	// Deprecated in the standard library, but PKCS#1 v1.5 is the wire format
	// the contract (JSEncrypt) fixes; see decryptRSA.
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte(password))
	if err != nil {
		return "", fmt.Errorf("pwcrypto: RSA encrypt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// EncryptSM2 is the client side of type "sm2": it encrypts password with the
// public key given as hex of 04‖x‖y (the leading 04 may be left out) and
// returns lowercase hex of C1‖C3‖C2 without C1's leading 04, exactly what
// sm-crypto's doEncrypt(password, key, 1) returns. The password's bytes are
// encrypted as given, valid UTF-8 or not.
func EncryptSM2(publicKeyHex, password string) (string, error) {
	if password == "" {
		return "", errEmptyPassword
	}
	point, err := hex.DecodeString(publicKeyHex)
	if err != nil {
		return "", fmt.Errorf("pwcrypto: SM2 public key: %w", err)
	}
	if len(point) == 2*sm2CoordLen {
		point = append([]byte{0x04}, point...)
	}
	// NewPublicKey checks the encoding and that the point is on the curve,
	// which big.Int coordinates alone would not.
	if _, err := ecdh.P256().NewPublicKey(point); err != nil {
		return "", fmt.Errorf("pwcrypto: SM2 public key: %w", err)
	}
	pub := &ecdsa.PublicKey{
		Curve: sm2.P256(),
		X:     new(big.Int).SetBytes(point[1 : 1+sm2CoordLen]),
		Y:     new(big.Int).SetBytes(point[1+sm2CoordLen:]),
	}
	ct, err := sm2.Encrypt(rand.Reader, pub, []byte(password),
		sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		return "", fmt.Errorf("pwcrypto: SM2 encrypt: %w", err)
	}
	return hex.EncodeToString(ct[1:]), nil // drop 04, as sm-crypto does
}
