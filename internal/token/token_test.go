package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/token"
)

const issuer = "https://id.example.com"

type keys struct {
	signer *token.Signer
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	kid    map[string]string // alg -> kid, from the JWKS
}

func newKeys(t *testing.T) keys {
	t.Helper()
	rsaPEM, err := token.GenerateKey(token.RS256)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSigner(rsaPEM, ecPEM, issuer)
	if err != nil {
		t.Fatal(err)
	}
	k := keys{signer: s, rsa: parsePEM(t, rsaPEM).(*rsa.PrivateKey), ec: parsePEM(t, ecPEM).(*ecdsa.PrivateKey), kid: map[string]string{}}
	var set struct {
		Keys []struct{ Kid, Alg, Use, Kty string }
	}
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, j := range set.Keys {
		k.kid[j.Alg] = j.Kid
	}
	return k
}

func parsePEM(t *testing.T, b []byte) any {
	t.Helper()
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge builds a compact JWS by hand, so a test can pair any header with any
// signature.
func forge(t *testing.T, header map[string]string, claims any, sign func(input []byte) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(p)
	return input + "." + b64(sign([]byte(input)))
}

func signRSA(t *testing.T, k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// signEC gives the JWS form of an ES256 signature: r‖s, 32 bytes each.
func signEC(t *testing.T, k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func TestSignVerifyBothAlgorithms(t *testing.T) {
	k := newKeys(t)
	now := time.Now()
	for _, alg := range []token.Alg{token.RS256, token.ES256} {
		raw, err := k.signer.Sign(alg, k.signer.NewCommon("user-1", "app-1", "jti-1", now, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]string
		hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		if err := json.Unmarshal(hb, &h); err != nil {
			t.Fatal(err)
		}
		if h["alg"] != string(alg) || h["kid"] != k.kid[string(alg)] || h["typ"] != "JWT" {
			t.Errorf("%s header: %v", alg, h)
		}
		var c token.Common
		if err := k.signer.Verify(raw, now, &c); err != nil || c.Subject != "user-1" {
			t.Errorf("%s: verify: %v %+v", alg, err, c)
		}
		if err := k.signer.Verify(raw, now.Add(2*time.Hour), &c); err == nil {
			t.Errorf("%s: expired token verified", alg)
		}
	}
	if _, err := k.signer.Sign("HS256", token.Common{}); err == nil {
		t.Error("signed with HS256")
	}
}

// A token verifies only with the key its header names by alg and kid.
func TestVerifyRefusesMismatchedAlgAndKey(t *testing.T) {
	k := newKeys(t)
	now := time.Now()
	claims := k.signer.NewCommon("user-1", "app-1", "jti-1", now, time.Hour)
	rsaPub, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, secret); m.Write(in); return m.Sum(nil) }
	}
	rs, es := k.kid["RS256"], k.kid["ES256"]
	if rs == "" || es == "" || rs == es {
		t.Fatalf("kids: %v", k.kid)
	}
	for _, tt := range []struct {
		name   string
		header map[string]string
		sign   func([]byte) []byte
		ok     bool
	}{
		{"RS256 as issued", map[string]string{"alg": "RS256", "kid": rs}, signRSA(t, k.rsa), true},
		{"ES256 as issued", map[string]string{"alg": "ES256", "kid": es}, signEC(t, k.ec), true},
		{"ES256 header, RSA signature", map[string]string{"alg": "ES256", "kid": es}, signRSA(t, k.rsa), false},
		{"ES256 header with the RSA kid, RSA signature", map[string]string{"alg": "ES256", "kid": rs}, signRSA(t, k.rsa), false},
		{"ES256 header with the RSA kid, EC signature", map[string]string{"alg": "ES256", "kid": rs}, signEC(t, k.ec), false},
		{"RS256 header with the EC kid, RSA signature", map[string]string{"alg": "RS256", "kid": es}, signRSA(t, k.rsa), false},
		{"RS256 header, EC signature", map[string]string{"alg": "RS256", "kid": rs}, signEC(t, k.ec), false},
		{"no kid", map[string]string{"alg": "ES256"}, signEC(t, k.ec), false},
		{"unknown kid", map[string]string{"alg": "ES256", "kid": "someone-elses"}, signEC(t, k.ec), false},
		{"none", map[string]string{"alg": "none", "kid": es}, func([]byte) []byte { return nil }, false},
		{"HS256 keyed with the RSA public key", map[string]string{"alg": "HS256", "kid": rs}, hs256(rsaPub), false},
		{"HS256 keyed with the kid", map[string]string{"alg": "HS256", "kid": es}, hs256([]byte(es)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.header["typ"] = "JWT"
			raw := forge(t, tt.header, claims, tt.sign)
			var c token.Common
			err := k.signer.Verify(raw, now, &c)
			if tt.ok && err != nil {
				t.Fatalf("refused a good token: %v", err)
			}
			if !tt.ok && err != token.ErrInvalid {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// Another server's keys verify nothing of ours, whatever the kid says.
func TestVerifyRefusesOtherKeys(t *testing.T) {
	ours, theirs := newKeys(t), newKeys(t)
	now := time.Now()
	claims := ours.signer.NewCommon("user-1", "app-1", "jti-1", now, time.Hour)
	for _, alg := range []token.Alg{token.RS256, token.ES256} {
		sign := signRSA(t, theirs.rsa)
		if alg == token.ES256 {
			sign = signEC(t, theirs.ec)
		}
		raw := forge(t, map[string]string{"alg": string(alg), "kid": ours.kid[string(alg)], "typ": "JWT"}, claims, sign)
		var c token.Common
		if err := ours.signer.Verify(raw, now, &c); err != token.ErrInvalid {
			t.Errorf("%s with a foreign key and our kid: %v", alg, err)
		}
	}
}

func TestNewSignerChecksKeyTypes(t *testing.T) {
	rsaPEM, _ := token.GenerateKey(token.RS256)
	ecPEM, _ := token.GenerateKey(token.ES256)
	for name, in := range map[string][2][]byte{
		"swapped":  {ecPEM, rsaPEM},
		"two RSA":  {rsaPEM, rsaPEM},
		"not PEM":  {[]byte("x"), ecPEM},
		"empty EC": {rsaPEM, nil},
	} {
		if _, err := token.NewSigner(in[0], in[1], issuer); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
