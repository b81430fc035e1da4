package httpapi_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// jwtHeader decodes a compact JWT's header.
func jwtHeader(t *testing.T, raw string) map[string]string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatalf("header of %q: %v", raw, err)
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// fetchJWKS reads the published key set and checks each key: distinct RFC
// 7638 kids, alg and use=sig. It returns the keys by alg.
func fetchJWKS(t *testing.T, env *khtest.Env) map[string]jose.JSONWebKey {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, env.URL+"/oidc/.well-known/jwks.json", &set)
	byAlg := map[string]jose.JSONWebKey{}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		thumb, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if k.KeyID != base64.RawURLEncoding.EncodeToString(thumb) || kids[k.KeyID] || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("jwks key %s: kid %q (thumbprint %x), use %q, public %v", k.Algorithm, k.KeyID, thumb, k.Use, k.IsPublic())
		}
		kids[k.KeyID] = true
		byAlg[k.Algorithm] = k
	}
	if len(set.Keys) != 2 || byAlg["RS256"].KeyID == "" || byAlg["ES256"].KeyID == "" {
		t.Fatalf("jwks: want one RS256 and one ES256 key, got %+v", set.Keys)
	}
	return byAlg
}

// checkSigned fails unless raw's header says alg with that key's kid and
// raw verifies with the published key.
func checkSigned(t *testing.T, what, raw, alg string, keys map[string]jose.JSONWebKey) {
	t.Helper()
	if h := jwtHeader(t, raw); h["alg"] != alg || h["kid"] != keys[alg].KeyID {
		t.Errorf("%s header: %v, want alg %s, kid %s", what, h, alg, keys[alg].KeyID)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := jws.Verify(keys[alg]); err != nil {
		t.Errorf("%s does not verify with the published %s key: %v", what, alg, err)
	}
}

// Access tokens are ES256 unless KEYHAVEN_ACCESS_TOKEN_ALG says RS256; id
// tokens are RS256 either way; the server's own action tokens are ES256.
// Sign-in and refresh agree, and every token verifies with the JWKS.
func TestTokenAlgorithms(t *testing.T) {
	for _, tt := range []struct{ setting, access string }{{"", "ES256"}, {"RS256", "RS256"}, {"ES256", "ES256"}} {
		t.Run("setting="+tt.setting, func(t *testing.T) {
			env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(func(c *config.Config) {
				if tt.setting != "" {
					c.AccessTokenAlg = tt.setting
				}
			}))
			keys := fetchJWKS(t, env)
			var disc map[string]any
			getJSON(t, env.URL+"/oidc/.well-known/openid-configuration", &disc)
			if algs, _ := disc["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "RS256" {
				t.Errorf("discovery id_token_signing_alg_values_supported: %v", disc["id_token_signing_alg_values_supported"])
			}

			u := signUpIn(t, env, "alg@example.com")
			checkSigned(t, "sign-in access token", u.access, tt.access, keys)
			checkSigned(t, "sign-in id token", u.idt, "RS256", keys)
			u.profile().MustOK(t)

			resp, err := http.PostForm(env.URL+"/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt},
				"client_id": {env.AppID}, "client_secret": {env.AppSecret}})
			if err != nil {
				t.Fatal(err)
			}
			var ts struct {
				AccessToken string `json:"access_token"`
				IDToken     string `json:"id_token"`
			}
			err = json.NewDecoder(resp.Body).Decode(&ts)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("refresh: %d %v", resp.StatusCode, err)
			}
			checkSigned(t, "refreshed access token", ts.AccessToken, tt.access, keys)
			checkSigned(t, "refreshed id token", ts.IDToken, "RS256", keys)

			v := u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
				"passwordPayload": map[string]any{"password": oldPW}}).MustOK(t)
			checkSigned(t, "delete-account token", v.Str("deleteAccountToken"), "ES256", keys)
		})
	}
}

// A token whose header names one key but which another key signed is
// refused: here the server's own RSA key signs under an ES256 header, or
// under the ES256 key's kid.
func TestForgedAlgorithmRefused(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	keys := fetchJWKS(t, env)
	u := signUpIn(t, env, "forge@example.com")
	pemKey, err := env.Server.Store.Secret(t.Context(), "jwt_rs256")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemKey)
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := parsed.(*rsa.PrivateKey)
	payload := strings.Split(u.access, ".")[1] // the real claims: only header and signature change
	rsaSigned := func(header map[string]string) string {
		h, _ := json.Marshal(header)
		input := base64.RawURLEncoding.EncodeToString(h) + "." + payload
		d := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	rs, es := keys["RS256"].KeyID, keys["ES256"].KeyID
	// The control: the same claims, RSA-signed under an honest header, pass.
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", rsaSigned(map[string]string{"alg": "RS256", "kid": rs, "typ": "JWT"})); r.StatusCode != 200 {
		t.Fatalf("honest RS256 token refused: %s", r.Raw)
	}
	for name, header := range map[string]map[string]string{
		"ES256 header":                {"alg": "ES256", "kid": es, "typ": "JWT"},
		"ES256 header, RSA kid":       {"alg": "ES256", "kid": rs, "typ": "JWT"},
		"RS256 header, ES256 key kid": {"alg": "RS256", "kid": es, "typ": "JWT"},
	} {
		forged := rsaSigned(header)
		if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", forged); r.StatusCode != 401 {
			t.Errorf("%s: get-profile answered %d: %s", name, r.StatusCode, r.Raw)
		}
		req, _ := http.NewRequest("GET", env.URL+"/oidc/me", nil)
		req.Header.Set("Authorization", "Bearer "+forged)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: /oidc/me answered %d", name, resp.StatusCode)
		}
	}
}
