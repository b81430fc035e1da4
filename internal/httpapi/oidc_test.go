package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/keyhaven/keyhaven/internal/server"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// A refresh keeps the scope granted at sign-in and never widens it;
// introspection knows refresh tokens; another app cannot revoke them.
func TestRefreshScopeIntrospectAndForeignRevoke(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("scope@example.com", oldPW)
	r := env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "scope@example.com", "password": oldPW},
		"options":         map[string]any{"scope": "openid profile email"}}).MustOK(t)
	rt := r.Str("refresh_token")
	call := func(app, secret, path string, v url.Values) (int, map[string]any) {
		v.Set("client_id", app)
		v.Set("client_secret", secret)
		resp, err := http.PostForm(env.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m
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
