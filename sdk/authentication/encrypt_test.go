package authentication

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

// testKeys is one server key pair set, as Keyhaven would publish it.
type testKeys struct {
	rsa    *rsa.PrivateKey
	rsaPEM string // SubjectPublicKeyInfo PEM
	sm2    *sm2.PrivateKey
	sm2Hex string // 04‖x‖y
}

func newTestKeys(t *testing.T) *testKeys {
	t.Helper()
	k, err := generateTestKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func generateTestKeys() (*testKeys, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, err
	}
	sk, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := make([]byte, 65)
	pub[0] = 4
	sk.X.FillBytes(pub[1:33])
	sk.Y.FillBytes(pub[33:])
	return &testKeys{
		rsa:    rk,
		rsaPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		sm2:    sk,
		sm2Hex: hex.EncodeToString(pub),
	}, nil
}

// sharedKeys avoids generating an RSA key in every test.
var sharedKeys = sync.OnceValue(func() *testKeys {
	k, err := generateTestKeys()
	if err != nil {
		panic(err)
	}
	return k
})

// open undoes EncryptPassword with the private keys, as the server does.
func (k *testKeys) open(typ PasswordEncryptType, ct string) (string, error) {
	switch typ {
	case PasswordEncryptTypeRSA:
		b, err := base64.StdEncoding.DecodeString(ct)
		if err != nil {
			return "", fmt.Errorf("rsa ciphertext is not standard base64: %w", err)
		}
		pt, err := rsa.DecryptPKCS1v15(nil, k.rsa, b)
		if err != nil {
			return "", fmt.Errorf("rsa decrypt: %w", err)
		}
		return string(pt), nil
	case PasswordEncryptTypeSM2:
		b, err := hex.DecodeString(ct)
		if err != nil {
			return "", fmt.Errorf("sm2 ciphertext is not hex: %w", err)
		}
		// sm-crypto's format drops the 04 of C1; put it back for gmsm.
		pt, err := k.sm2.Decrypt(nil, append([]byte{4}, b...), sm2.NewPlainDecrypterOpts(sm2.C1C3C2))
		if err != nil {
			return "", fmt.Errorf("sm2 decrypt: %w", err)
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("unknown type %q", typ)
}

// decrypt is open for the test goroutine.
func (k *testKeys) decrypt(t *testing.T, typ PasswordEncryptType, ct string) string {
	t.Helper()
	pt, err := k.open(typ, ct)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// systemServer stands in for GET /api/v3/system in these unit tests only
// (the rest of the SDK is tested against a real Keyhaven server). form picks
// the reply shape: "both" (what Keyhaven sends), "envelope" or "bare".
type systemServer struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	keys *testKeys
	form string
}

func newSystemServer(t *testing.T, keys *testKeys, form string) *systemServer {
	t.Helper()
	s := &systemServer{keys: keys, form: form}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v3/system" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("x-authing-app-id") != "app1" {
			t.Errorf("x-authing-app-id = %q", r.Header.Get("x-authing-app-id"))
		}
		s.hits.Add(1)
		s.mu.Lock()
		k, form := s.keys, s.form
		s.mu.Unlock()
		info := map[string]any{
			"rsa":       map[string]string{"publicKey": k.rsaPEM},
			"sm2":       map[string]string{"publicKey": k.sm2Hex},
			"version":   map[string]string{"server": "1.0.0", "console": "", "login": ""},
			"publicIps": []string{},
		}
		body := map[string]any{}
		if form != "bare" {
			body["statusCode"], body["message"], body["data"] = 200, "ok", info
		}
		if form != "envelope" {
			for key, v := range info {
				body[key] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *systemServer) setKeys(k *testKeys) {
	s.mu.Lock()
	s.keys = k
	s.mu.Unlock()
}

func newTestClient(t *testing.T, host string) *AuthenticationClient {
	t.Helper()
	c, err := NewAuthenticationClient(AuthenticationClientOptions{AppID: "app1", AppSecret: "secret1", AppHost: host})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEncryptPasswordRoundTrip(t *testing.T) {
	keys := sharedKeys()
	srv := newSystemServer(t, keys, "both")
	c := newTestClient(t, srv.URL)
	ctx := context.Background()
	passwords := []string{
		"correct horse battery staple",
		"xy", // not "x": see pwcrypto's TestRoundTrip on one-byte SM2 ciphertexts
		"pässwörd-密码-🔑",
		strings.Repeat("a", 200),
	}
	for _, typ := range []PasswordEncryptType{PasswordEncryptTypeRSA, PasswordEncryptTypeSM2} {
		for _, pw := range passwords {
			ct, err := c.EncryptPassword(ctx, pw, typ)
			if err != nil {
				t.Fatalf("%s %q: %v", typ, pw, err)
			}
			if got := keys.decrypt(t, typ, ct); got != pw {
				t.Errorf("%s: decrypted %q, want %q", typ, got, pw)
			}
			if typ == PasswordEncryptTypeSM2 {
				// C1 without 04 (64 bytes) + C3 (32) + C2 (len): the 04 is gone.
				if len(ct) != 2*(64+32+len(pw)) {
					t.Errorf("sm2 ciphertext is %d hex chars, want %d", len(ct), 2*(64+32+len(pw)))
				}
				if ct != strings.ToLower(ct) {
					t.Error("sm2 ciphertext is not lowercase hex")
				}
			}
			if typ == PasswordEncryptTypeRSA && len(ct) != base64.StdEncoding.EncodedLen(256) {
				t.Errorf("rsa ciphertext is %d base64 chars, want %d", len(ct), base64.StdEncoding.EncodedLen(256))
			}
		}
	}
	// Two encryptions of one password differ (randomised schemes).
	a, _ := c.EncryptPassword(ctx, "same", PasswordEncryptTypeSM2)
	b, _ := c.EncryptPassword(ctx, "same", PasswordEncryptTypeSM2)
	if a == b {
		t.Error("sm2 encryption is deterministic")
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("/api/v3/system fetched %d times, want 1 (cached)", n)
	}
}

func TestEncryptPasswordNoneAndErrors(t *testing.T) {
	srv := newSystemServer(t, sharedKeys(), "both")
	c := newTestClient(t, srv.URL)
	ctx := context.Background()
	for _, typ := range []PasswordEncryptType{PasswordEncryptTypeNone, ""} {
		got, err := c.EncryptPassword(ctx, "plain pw", typ)
		if err != nil || got != "plain pw" {
			t.Errorf("%q: got %q, %v; want the password unchanged", typ, got, err)
		}
	}
	if srv.hits.Load() != 0 {
		t.Error(`"none" fetched the keys`)
	}
	if _, err := c.EncryptPassword(ctx, "pw", "aes"); err == nil {
		t.Error("unknown type: no error")
	}
	if _, err := c.EncryptPassword(ctx, "", PasswordEncryptTypeSM2); err == nil {
		t.Error("empty password: no error")
	}
	// RSA PKCS #1 v1.5 limit for a 2048-bit key is 245 bytes.
	if _, err := c.EncryptPassword(ctx, strings.Repeat("a", 246), PasswordEncryptTypeRSA); err == nil {
		t.Error("over-long RSA message: no error")
	}
}

// TestSystemInfoReplyForms: the envelope form, the Node SDK's bare form and
// Keyhaven's combined form all give keys at both places.
func TestSystemInfoReplyForms(t *testing.T) {
	keys := sharedKeys()
	for _, form := range []string{"both", "envelope", "bare"} {
		t.Run(form, func(t *testing.T) {
			srv := newSystemServer(t, keys, form)
			c := newTestClient(t, srv.URL)
			r, err := c.GetSystemInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.RSA.PublicKey != keys.rsaPEM || r.SM2.PublicKey != keys.sm2Hex {
				t.Errorf("top-level keys not filled: %+v", r)
			}
			if r.Data == nil || r.Data.RSA.PublicKey != keys.rsaPEM || r.Data.SM2.PublicKey != keys.sm2Hex || r.Data.Version.Server != "1.0.0" {
				t.Errorf("data not filled: %+v", r.Data)
			}
			// GetSystemInfo primed the cache.
			ct, err := c.EncryptPassword(context.Background(), "pw", PasswordEncryptTypeSM2)
			if err != nil {
				t.Fatal(err)
			}
			if keys.decrypt(t, PasswordEncryptTypeSM2, ct) != "pw" || srv.hits.Load() != 1 {
				t.Errorf("hits = %d after GetSystemInfo + EncryptPassword, want 1", srv.hits.Load())
			}
		})
	}
}

// TestEncryptPasswordRefresh: keys are re-fetched after the TTL and on
// RefreshSystemInfo, so a key rotation on the server is picked up.
func TestEncryptPasswordRefresh(t *testing.T) {
	oldKeys, newKeys := sharedKeys(), newTestKeys(t)
	srv := newSystemServer(t, oldKeys, "both")
	c := newTestClient(t, srv.URL)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	encrypt := func() string {
		t.Helper()
		ct, err := c.EncryptPassword(ctx, "pw", PasswordEncryptTypeRSA)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	encrypt()
	srv.setKeys(newKeys)

	now = now.Add(DefaultSystemInfoTTL - time.Second)
	if oldKeys.decrypt(t, PasswordEncryptTypeRSA, encrypt()) != "pw" || srv.hits.Load() != 1 {
		t.Fatalf("within the TTL: hits = %d, want 1 and the old key", srv.hits.Load())
	}
	now = now.Add(2 * time.Second)
	if newKeys.decrypt(t, PasswordEncryptTypeRSA, encrypt()) != "pw" || srv.hits.Load() != 2 {
		t.Fatalf("after the TTL: hits = %d, want 2 and the new key", srv.hits.Load())
	}

	srv.setKeys(oldKeys)
	if err := c.RefreshSystemInfo(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.hits.Load() != 3 {
		t.Fatalf("RefreshSystemInfo: hits = %d, want 3", srv.hits.Load())
	}
	if oldKeys.decrypt(t, PasswordEncryptTypeSM2, mustEncrypt(t, c, PasswordEncryptTypeSM2)) != "pw" {
		t.Fatal("after RefreshSystemInfo the rotated key is not used")
	}
	if srv.hits.Load() != 3 {
		t.Errorf("hits = %d after refresh + encrypt, want 3", srv.hits.Load())
	}
}

func mustEncrypt(t *testing.T, c *AuthenticationClient, typ PasswordEncryptType) string {
	t.Helper()
	ct, err := c.EncryptPassword(context.Background(), "pw", typ)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// TestEncryptPasswordConcurrent: concurrent first callers share one fetch.
func TestEncryptPasswordConcurrent(t *testing.T) {
	keys := sharedKeys()
	srv := newSystemServer(t, keys, "both")
	c := newTestClient(t, srv.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			typ := PasswordEncryptTypeSM2
			if i%2 == 0 {
				typ = PasswordEncryptTypeRSA
			}
			ct, err := c.EncryptPassword(context.Background(), "pw", typ)
			if err == nil {
				var pt string
				if pt, err = keys.open(typ, ct); err == nil && pt != "pw" {
					err = errors.New("wrong plaintext")
				}
			}
			if err != nil {
				errs <- err
			}
			if i%8 == 0 {
				c.SetAccessToken("token")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("/api/v3/system fetched %d times, want 1", n)
	}
}

// TestEncryptPasswordBadKeys: a broken key fails only its own type, with a
// clear error, and a failed fetch is reported.
func TestEncryptPasswordBadKeys(t *testing.T) {
	keys := *sharedKeys()
	keys.sm2Hex = "04" + strings.Repeat("11", 64) // not on the curve
	srv := newSystemServer(t, &keys, "both")
	c := newTestClient(t, srv.URL)
	if _, err := c.EncryptPassword(context.Background(), "pw", PasswordEncryptTypeSM2); err == nil || !strings.Contains(err.Error(), "curve") {
		t.Errorf("bad SM2 key: err = %v", err)
	}
	if ct, err := c.EncryptPassword(context.Background(), "pw", PasswordEncryptTypeRSA); err != nil || keys.decrypt(t, PasswordEncryptTypeRSA, ct) != "pw" {
		t.Errorf("RSA with a bad SM2 key: %v", err)
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"statusCode":500,"message":"internal error","apiCode":1,"requestId":"r1"}`))
	}))
	defer down.Close()
	c2 := newTestClient(t, down.URL)
	_, err := c2.EncryptPassword(context.Background(), "pw", PasswordEncryptTypeRSA)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.RequestID != "r1" {
		t.Errorf("failed fetch: err = %v, want a wrapped *Error 500", err)
	}
}

func TestParsePublicKeys(t *testing.T) {
	keys := sharedKeys()
	der, _ := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&keys.rsa.PublicKey)})
	for name, s := range map[string]string{
		"spki pem":   keys.rsaPEM,
		"pkcs1 pem":  string(pkcs1),
		"bare b64":   base64.StdEncoding.EncodeToString(der),
		"padded pem": "\n  " + keys.rsaPEM + "\n",
	} {
		k, err := parseRSAPublicKey(s)
		if err != nil || !k.Equal(&keys.rsa.PublicKey) {
			t.Errorf("rsa %s: %v", name, err)
		}
	}
	for _, s := range []string{"", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, err := parseRSAPublicKey(s); err == nil {
			t.Errorf("rsa %q: no error", s)
		}
	}
	for name, s := range map[string]string{
		"04xy":   keys.sm2Hex,
		"xy":     keys.sm2Hex[2:],
		"upper":  strings.ToUpper(keys.sm2Hex),
		"prefix": "sm2:" + keys.sm2Hex,
	} {
		k, err := parseSM2PublicKey(s)
		if err != nil || k.X.Cmp(keys.sm2.X) != 0 || k.Y.Cmp(keys.sm2.Y) != 0 {
			t.Errorf("sm2 %s: %v", name, err)
		}
	}
	for _, s := range []string{"", "zz", "02" + keys.sm2Hex[2:66], "05" + keys.sm2Hex[2:]} {
		if _, err := parseSM2PublicKey(s); err == nil {
			t.Errorf("sm2 %q: no error", s)
		}
	}
}

// nodeDecryptScript decrypts with sm-crypto and Node's crypto, as a
// GenAuth-compatible server written in JavaScript would. RSA uses raw RSA
// and strips the PKCS #1 v1.5 type 2 padding by hand, because Node 20+
// refuses RSA_PKCS1_PADDING for private decryption (CVE-2023-46809).
const nodeDecryptScript = `
const crypto = require("crypto");
const { sm2 } = require("sm-crypto");
const sm2Plain = sm2.doDecrypt(process.env.SM2_CT, process.env.SM2_PRIV, 1);
const em = crypto.privateDecrypt(
  { key: process.env.RSA_PRIV, padding: crypto.constants.RSA_NO_PADDING },
  Buffer.from(process.env.RSA_CT, "base64"));
if (em[0] !== 0 || em[1] !== 2) throw new Error("not PKCS#1 v1.5 type 2 padding");
const sep = em.indexOf(0, 2);
if (sep < 10) throw new Error("padding string shorter than 8 bytes");
process.stdout.write(JSON.stringify({ sm2: sm2Plain, rsa: em.subarray(sep + 1).toString("utf8") }));
`

// TestEncryptPasswordNodeCompat decrypts this package's ciphertexts with
// sm-crypto (sm2.doDecrypt(cipherHex, privHex, 1)) and Node's crypto.
func TestEncryptPasswordNodeCompat(t *testing.T) {
	requireNodeModules(t)
	node := requireNode(t)
	keys := sharedKeys()
	srv := newSystemServer(t, keys, "both")
	c := newTestClient(t, srv.URL)
	for _, pw := range []string{"correct horse battery staple", "pässwörd-密码-🔑"} {
		sm2CT := mustEncryptPw(t, c, pw, PasswordEncryptTypeSM2)
		rsaCT := mustEncryptPw(t, c, pw, PasswordEncryptTypeRSA)
		privDER, err := x509.MarshalPKCS8PrivateKey(keys.rsa)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, "-e", nodeDecryptScript)
		cmd.Dir = e2eNodeDir // so require() finds node_modules
		cmd.Env = append(cmd.Environ(),
			"SM2_CT="+sm2CT,
			"SM2_PRIV="+hex.EncodeToString(keys.sm2.D.FillBytes(make([]byte, 32))),
			"RSA_CT="+rsaCT,
			"RSA_PRIV="+string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node (in %s): %v\n%s", filepath.Clean(e2eNodeDir), err, stderr.String())
		}
		var got struct{ SM2, RSA string }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("node output %q: %v", out, err)
		}
		if got.SM2 != pw {
			t.Errorf("sm-crypto decrypted %q, want %q", got.SM2, pw)
		}
		if got.RSA != pw {
			t.Errorf("node crypto decrypted %q, want %q", got.RSA, pw)
		}
	}
}

func mustEncryptPw(t *testing.T, c *AuthenticationClient, pw string, typ PasswordEncryptType) string {
	t.Helper()
	ct, err := c.EncryptPassword(context.Background(), pw, typ)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}
