package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/server"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// A refresh keeps the scope granted at sign-in (values the server does not
// know are ignored, OIDC Core §3.1.2.1) and never widens it; introspection
// knows refresh tokens; another app cannot revoke them.
func TestRefreshScopeIntrospectAndForeignRevoke(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("scope@example.com", oldPW)
	r := env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "scope@example.com", "password": oldPW},
		"options":         map[string]any{"scope": "openid profile address email roles email"}}).MustOK(t)
	rt := r.Str("refresh_token")
	call := func(app, secret, path string, v url.Values) (int, map[string]any) {
		return oidcForm(t, env, app, secret, path, v)
	}
	if code, m := call(env.AppID, env.AppSecret, "/oidc/token/introspection", url.Values{"token": {rt}}); code != 200 || m["active"] != true || m["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh token: %d %v", code, m)
	}
	if code, m := call(env.AppID, env.AppSecret, "/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"scope": {"openid profile email phone"}}); code != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("widening refresh: %d %v", code, m)
	}
	code, m := call(env.AppID, env.AppSecret, "/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if code != 200 || m["scope"] != "openid profile email" {
		t.Fatalf("refresh after a refused widening: %d %v", code, m)
	}
	rt = m["refresh_token"].(string)
	// App B cannot revoke app A's refresh token.
	b, secret := server.NewAppCredentials()
	if err := env.Server.Store.PutApp(t.Context(), store.App{ID: b, Name: "B", SecretHash: server.HashSecret(secret)}); err != nil {
		t.Fatal(err)
	}
	if code, _ := call(b, secret, "/oidc/token/revocation", url.Values{"token": {rt}}); code != 200 {
		t.Fatalf("foreign revoke: %d", code)
	}
	if _, m := call(b, secret, "/oidc/token/introspection", url.Values{"token": {rt}}); m["active"] != false {
		t.Fatalf("app B sees app A's token: %v", m)
	}
	if code, m := call(env.AppID, env.AppSecret, "/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"scope": {"openid"}}); code != 200 || m["scope"] != "openid" {
		t.Fatalf("A's token after B's revoke, narrowed: %d %v", code, m)
	}
}

// /oidc/me takes an explicit access_token parameter over the Authorization
// header: the Node SDK's getUserInfoByAccessToken(token) sends the token it
// was given as ?access_token= and may also send a stale stored one in the
// header.
func TestUserInfoPrefersAccessTokenParameter(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "me@example.com")
	// The email claim comes with the email scope only (OIDC Core §5.4).
	if code, m := userInfo(t, bearer(env, u.access)); code != 200 || m["sub"] == nil || m["email"] != nil {
		t.Fatalf("userinfo with scope openid profile: %d %v", code, m)
	}
	u.access = env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "me@example.com", "password": oldPW},
		"options":         map[string]any{"scope": "openid profile email"}}).MustOK(t).Str("access_token")
	stale := signUpIn(t, env, "stale@example.com") // a live token, but another user's
	for name, req := range map[string]func() *http.Request{
		"query": func() *http.Request {
			r, _ := http.NewRequest("GET", env.URL+"/oidc/me?access_token="+url.QueryEscape(u.access), nil)
			return r
		},
		"form": func() *http.Request {
			r, _ := http.NewRequest("POST", env.URL+"/oidc/me", strings.NewReader(url.Values{"access_token": {u.access}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
	} {
		for _, header := range []string{"", "Bearer " + stale.access, "Bearer not.a.token"} {
			r := req()
			if header != "" {
				r.Header.Set("Authorization", header)
			}
			code, m := userInfo(t, r)
			if code != 200 || m["email"] != "me@example.com" {
				t.Errorf("%s, header %.20q: %d %v", name, header, code, m)
			}
		}
	}
	// With no parameter, the header is used.
	if code, m := userInfo(t, bearer(env, u.access)); code != 200 || m["email"] != "me@example.com" {
		t.Fatalf("header only: %d %v", code, m)
	}
}

// bearer is GET /oidc/me with the access token in the header.
func bearer(env *khtest.Env, access string) *http.Request {
	r, _ := http.NewRequest("GET", env.URL+"/oidc/me", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	return r
}

// A refused bearer token gets a Bearer challenge (RFC 6750 §3), not the
// token endpoint's Basic one.
func TestUserInfoChallengeIsBearer(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	for name, header := range map[string]string{"bad token": "Bearer not.a.token", "no token": ""} {
		r, _ := http.NewRequest("GET", env.URL+"/oidc/me", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ch := resp.Header.Values("WWW-Authenticate")
		if resp.StatusCode != 401 || len(ch) != 1 || !strings.HasPrefix(ch[0], "Bearer ") {
			t.Errorf("%s: %d WWW-Authenticate %q", name, resp.StatusCode, ch)
			continue
		}
		// §3.1: no error code when the request carried no token at all.
		if got := strings.Contains(ch[0], `error="invalid_token"`); got != (header != "") {
			t.Errorf("%s: WWW-Authenticate %q", name, ch[0])
		}
	}
}

func userInfo(t *testing.T, r *http.Request) (int, map[string]any) {
	t.Helper()
	return khtest.DoJSON(t, r)
}

// A confidential app (every app by default) must send its secret to the
// token, introspection and revocation endpoints, so a stolen refresh token
// is no use without the app's secret; an app the operator marks public may
// send its id alone, and a wrong secret fails either way.
func TestConfidentialAppMustAuthenticate(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "conf@example.com")
	call := func(path string, v url.Values, withSecret string) (int, map[string]any) {
		return oidcForm(t, env, env.AppID, withSecret, path, v)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt}}
	for _, c := range []struct {
		path string
		v    url.Values
	}{
		{"/oidc/token", refresh},
		{"/oidc/token/introspection", url.Values{"token": {u.access}}},
		{"/oidc/token/revocation", url.Values{"token": {u.access}}},
	} {
		code, m := call(c.path, c.v, "")
		if code != 401 || m["error"] != "invalid_client" || !strings.Contains(m["error_description"].(string), "client_secret") {
			t.Fatalf("%s without a secret, confidential app: %d %v", c.path, code, m)
		}
	}
	// Nothing was spent or revoked by the refused calls.
	if code, m := call("/oidc/token/introspection", url.Values{"token": {u.access}}, env.AppSecret); code != 200 || m["active"] != true {
		t.Fatalf("access token after refused calls: %d %v", code, m)
	}

	if err := env.Server.Store.SetAppPublic(t.Context(), env.AppID, true); err != nil {
		t.Fatal(err)
	}
	code, m := call("/oidc/token", refresh, "")
	if code != 200 || m["access_token"] == nil {
		t.Fatalf("refresh without a secret, public app: %d %v", code, m)
	}
	rt := m["refresh_token"].(string)
	if code, m := call("/oidc/token/introspection", url.Values{"token": {rt}}, ""); code != 200 || m["active"] != true {
		t.Fatalf("introspect, public app: %d %v", code, m)
	}
	if code, m := call("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "wrong"); code != 401 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret, public app: %d %v", code, m)
	}
	// Basic with an empty secret (and no secret in the body): "none" for a
	// public app, a wrong secret for a confidential one.
	basic := func(secret string, body url.Values) int {
		v := url.Values{"token": {rt}}
		for k := range body {
			v.Set(k, body.Get(k))
		}
		req, err := http.NewRequest("POST", env.URL+"/oidc/token/introspection", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(env.AppID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := basic("", nil); code != 200 {
		t.Fatalf("Basic with an empty secret, public app: %d", code)
	}
	// Basic and a different secret in the body: one would go unchecked.
	if code := basic("", url.Values{"client_secret": {"wrong"}}); code != 400 {
		t.Fatalf("Basic and another client_secret in the body: %d", code)
	}
	if err := env.Server.Store.SetAppPublic(t.Context(), env.AppID, false); err != nil {
		t.Fatal(err)
	}
	if code := basic("", nil); code != 401 {
		t.Fatalf("Basic with an empty secret, confidential app: %d", code)
	}
	// The Node SDK set to client_secret_basic sends the secret both ways at
	// introspection and revocation: the same secret twice is one method.
	if code := basic(env.AppSecret, url.Values{"client_secret": {env.AppSecret}, "client_id": {env.AppID}}); code != 200 {
		t.Fatalf("Basic and the same secret in the body: %d", code)
	}
	if code := basic(env.AppSecret, url.Values{"client_id": {"app-other"}}); code != 400 {
		t.Fatalf("Basic and another client_id in the body: %d", code)
	}
	if code := basic("wrong", url.Values{"client_secret": {"wrong"}}); code != 401 {
		t.Fatalf("the same wrong secret twice: %d", code)
	}
	if err := env.Server.Store.SetAppPublic(t.Context(), env.AppID, true); err != nil {
		t.Fatal(err)
	}
	if code, _ := call("/oidc/token/revocation", url.Values{"token": {rt}}, ""); code != 200 {
		t.Fatalf("revoke, public app: %d", code)
	}
	if _, m := call("/oidc/token/introspection", url.Values{"token": {rt}}, ""); m["active"] != false {
		t.Fatalf("introspect after revoke: %v", m)
	}
}

// OIDC Discovery §4: the document is found under the issuer, the public
// URL's root, as well as under GenAuth's /oidc.
func TestDiscoveryUnderIssuer(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	for _, path := range []string{"/.well-known/openid-configuration", "/oidc/.well-known/openid-configuration"} {
		var disc map[string]any
		getJSON(t, env.URL+path, &disc)
		if disc["issuer"] != env.Config.Issuer() || disc["token_endpoint"] != env.URL+"/oidc/token" {
			t.Errorf("%s: %v", path, disc)
		}
	}
}

// The token endpoints read a form and say so; a missing grant_type is an
// invalid request, not an unsupported grant.
func TestTokenEndpointsWantAForm(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "form@example.com")
	body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt}, "token": {u.access},
		"client_id": {env.AppID}, "client_secret": {env.AppSecret}}.Encode()
	for _, path := range []string{"/oidc/token", "/oidc/token/introspection", "/oidc/token/revocation"} {
		for _, ct := range []string{"application/json", ""} {
			req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || m["error"] != "invalid_request" ||
				!strings.Contains(m["error_description"], "application/x-www-form-urlencoded") {
				t.Errorf("%s with Content-Type %q: %d %v", path, ct, resp.StatusCode, m)
			}
		}
	}
	code, m := oidcForm(t, env, env.AppID, env.AppSecret, "/oidc/token", url.Values{"refresh_token": {u.rt}})
	if code != http.StatusBadRequest || m["error"] != "invalid_request" || m["error_description"] != "grant_type is required" {
		t.Fatalf("no grant_type: %d %v", code, m)
	}
	// The refresh token was not spent by any of that.
	if code, m := oidcForm(t, env, env.AppID, env.AppSecret, "/oidc/token",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt}}); code != 200 {
		t.Fatalf("refresh after refused requests: %d %v", code, m)
	}
}

// RP-Initiated Logout §2: the end-session endpoint takes POST as well as
// GET; state goes into the query, before any fragment; without a hint it
// does not claim to have signed anyone out.
func TestEndSessionByPostStateAndNoHint(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "post-bye@example.com")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(env.URL+"/oidc/session/end", url.Values{"id_token_hint": {u.idt},
		"post_logout_redirect_uri": {"/bye?x=1#top"}, "state": {"s 3"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/bye?x=1&state=s+3#top" {
		t.Fatalf("POST logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := u.profile(); r.StatusCode != 401 {
		t.Fatalf("session survived a POST logout: %s", r.Raw)
	}
	resp, err = http.Get(env.URL + "/oidc/session/end")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(b), "signed out") || !strings.Contains(string(b), "no session was ended") {
		t.Fatalf("logout without a hint: %d %q", resp.StatusCode, b)
	}
}
