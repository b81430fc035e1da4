package authentication

import (
	"context"
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
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

// EncryptPassword encrypts password for a request field whose
// passwordEncryptType is encryptType, with the server's public key from GET
// /api/v3/system:
//
//   - "rsa": RSA PKCS #1 v1.5 with the PEM SubjectPublicKeyInfo key, standard
//     base64 (what the JSEncrypt library of GenAuth's browser SDK produces);
//   - "sm2": SM2 with the key 04‖x‖y, ciphertext in C1C3C2 order, lowercase
//     hex without the leading 04 of C1 (what sm-crypto's doEncrypt(msg, key, 1)
//     produces);
//   - "none" or "": password unchanged.
//
// The keys are fetched on first use and cached for SystemInfoTTL (10 minutes
// by default); concurrent callers share one fetch. If the server rotated its
// keys, a password encrypted with the old key is refused: sign-up,
// reset-password and update-password answer statusCode 400 (Keyhaven apiCode
// 40002), while sign-in answers exactly as for a wrong password (statusCode
// 401), so that it is no decryption oracle. Then call
// [AuthenticationClient.RefreshSystemInfo] and encrypt again.
func (c *AuthenticationClient) EncryptPassword(ctx context.Context, password string, encryptType PasswordEncryptType) (string, error) {
	switch encryptType {
	case PasswordEncryptTypeNone, "":
		return password, nil
	case PasswordEncryptTypeRSA, PasswordEncryptTypeSM2:
	default:
		return "", fmt.Errorf("authentication: EncryptPassword: unknown encrypt type %q (want none, rsa or sm2)", encryptType)
	}
	if password == "" {
		return "", errors.New("authentication: EncryptPassword: empty password")
	}
	k, err := c.publicKeys(ctx)
	if err != nil {
		return "", err
	}
	if encryptType == PasswordEncryptTypeRSA {
		if k.rsaErr != nil {
			return "", k.rsaErr
		}
		return encryptRSA(k.rsa, password)
	}
	if k.sm2Err != nil {
		return "", k.sm2Err
	}
	return encryptSM2(k.sm2, password)
}

// RefreshSystemInfo fetches GET /api/v3/system now and replaces the cached
// public keys, whatever their age. Call it after the server refused an
// encrypted password (400 with apiCode 40002, or 401 from sign-in, which does
// not tell an undecryptable password from a wrong one), in case its keys
// changed.
func (c *AuthenticationClient) RefreshSystemInfo(ctx context.Context) error {
	if err := c.keys.lock(ctx); err != nil {
		return err
	}
	defer c.keys.unlock()
	_, err := c.GetSystemInfo(ctx)
	return err
}

// publicKeys returns the cached keys, fetching them when absent or stale.
func (c *AuthenticationClient) publicKeys(ctx context.Context) (*parsedKeys, error) {
	if k := c.keys.fresh(c.now()); k != nil {
		return k, nil
	}
	if err := c.keys.lock(ctx); err != nil {
		return nil, err
	}
	defer c.keys.unlock()
	// Another caller may have fetched while this one waited.
	if k := c.keys.fresh(c.now()); k != nil {
		return k, nil
	}
	if _, err := c.GetSystemInfo(ctx); err != nil {
		return nil, fmt.Errorf("authentication: EncryptPassword: fetch public keys: %w", err)
	}
	if k := c.keys.get(); k != nil {
		return k, nil
	}
	return nil, errors.New("authentication: EncryptPassword: no public keys")
}

// keyCache holds the parsed keys of the last /api/v3/system reply.
type keyCache struct {
	ttl   time.Duration
	fetch chan struct{} // one slot: held by the goroutine fetching the keys

	mu   sync.Mutex
	keys *parsedKeys
}

// parsedKeys is immutable once stored.
type parsedKeys struct {
	fetchedAt time.Time
	rsa       *rsa.PublicKey
	rsaErr    error
	sm2       *ecdsa.PublicKey
	sm2Err    error
}

func (kc *keyCache) init(ttl time.Duration) {
	kc.ttl = ttl
	kc.fetch = make(chan struct{}, 1)
}

// lock waits for the fetch slot, giving up when ctx ends.
func (kc *keyCache) lock(ctx context.Context) error {
	select {
	case kc.fetch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("authentication: fetch public keys: %w", ctx.Err())
	}
}

func (kc *keyCache) unlock() { <-kc.fetch }

func (kc *keyCache) get() *parsedKeys {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	return kc.keys
}

func (kc *keyCache) fresh(now time.Time) *parsedKeys {
	k := kc.get()
	if k == nil || now.Sub(k.fetchedAt) >= kc.ttl || now.Before(k.fetchedAt) {
		return nil
	}
	return k
}

// store parses and caches the keys of a successful /api/v3/system reply.
func (kc *keyCache) store(r *SystemInfoResp, now time.Time) {
	k := &parsedKeys{fetchedAt: now}
	k.rsa, k.rsaErr = parseRSAPublicKey(r.RSA.PublicKey)
	k.sm2, k.sm2Err = parseSM2PublicKey(r.SM2.PublicKey)
	kc.mu.Lock()
	kc.keys = k
	kc.mu.Unlock()
}

// parseRSAPublicKey reads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block; a
// PKCS #1 "RSA PUBLIC KEY" block or bare base64 DER is accepted too.
func parseRSAPublicKey(s string) (*rsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("authentication: the server sent no RSA public key")
	}
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, errors.New("authentication: the server's RSA public key is neither PEM nor base64")
		}
		der = b
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		if k, ok := pub.(*rsa.PublicKey); ok {
			return k, nil
		}
		return nil, fmt.Errorf("authentication: the server's RSA public key is a %T", pub)
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("authentication: parse the server's RSA public key: %w", err)
	}
	return k, nil
}

// parseSM2PublicKey reads the hex of an uncompressed SM2 point, 04‖x‖y (the
// 04 may be missing), and checks that it lies on the curve.
func parseSM2PublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sm2:")
	if s == "" {
		return nil, errors.New("authentication: the server sent no SM2 public key")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("authentication: the server's SM2 public key is not hex")
	}
	if len(b) == 64 {
		b = append([]byte{4}, b...)
	}
	if len(b) != 65 || b[0] != 4 {
		return nil, errors.New("authentication: the server's SM2 public key is not an uncompressed point (04‖x‖y)")
	}
	curve := sm2.P256()
	x, y := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
	if !curve.IsOnCurve(x, y) {
		return nil, errors.New("authentication: the server's SM2 public key is not on the SM2 curve")
	}
	return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
}

// encryptRSA produces what JSEncrypt produces. PKCS #1 v1.5 encryption is
// deprecated in Go, but it is the wire format GenAuth clients use; the
// password is also protected by TLS.
func encryptRSA(pub *rsa.PublicKey, password string) (string, error) {
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte(password))
	if err != nil {
		return "", fmt.Errorf("authentication: RSA-encrypt the password: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// sm2Opts makes gmsm emit C1 uncompressed (04‖x‖y) followed by C3 and C2.
var sm2Opts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2)

// encryptSM2 produces what sm-crypto's doEncrypt(msg, key, 1) produces: hex
// of C1‖C3‖C2 with the 04 prefix of C1 dropped.
func encryptSM2(pub *ecdsa.PublicKey, password string) (string, error) {
	ct, err := sm2.Encrypt(rand.Reader, pub, []byte(password), sm2Opts)
	if err != nil {
		return "", fmt.Errorf("authentication: SM2-encrypt the password: %w", err)
	}
	if len(ct) == 0 || ct[0] != 4 {
		return "", errors.New("authentication: SM2-encrypt the password: unexpected ciphertext layout")
	}
	return hex.EncodeToString(ct[1:]), nil
}
