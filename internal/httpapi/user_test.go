package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/server"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// signedIn is a user with a live session.
type signedIn struct {
	env    *khtest.Env
	access string
	rt     string
	idt    string
}

func (u signedIn) post(path string, body any) khtest.Reply {
	u.env.T().Helper()
	return u.env.Post(path, body, "Authorization", "Bearer "+u.access)
}

func signUpIn(t *testing.T, env *khtest.Env, email string) signedIn {
	t.Helper()
	env.SignUp(email, oldPW)
	r := env.SignIn(email, oldPW).MustOK(t)
	return signedIn{env: env, access: r.Str("access_token"), rt: r.Str("refresh_token"), idt: r.Str("id_token")}
}

func (u signedIn) profile() khtest.Reply {
	return u.env.Do("GET", "/api/v3/get-profile", nil, "Authorization", u.access)
}

func sendEmail(t *testing.T, env *khtest.Env, email, channel string) string {
	t.Helper()
	env.Post("/api/v3/send-email", map[string]any{"email": email, "channel": channel}).MustOK(t)
	return env.CodeFor(email)
}

func sendSMS(t *testing.T, env *khtest.Env, phone, channel string) string {
	t.Helper()
	env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": phone, "channel": channel}).MustOK(t)
	return env.SMS.WaitFor(t, phone, 10*time.Second).Code
}

func TestUpdateProfileAndSecurityInfo(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	signUpIn(t, env, "taken@example.com")
	env.Post("/api/v3/update-profile", map[string]any{"username": "takenname"},
		"Authorization", signUpIn(t, env, "other@example.com").access).MustOK(t)
	u := signUpIn(t, env, "prof@example.com")
	r := u.post("/api/v3/update-profile", map[string]any{"nickname": "Prof", "gender": "F", "username": "prof1",
		"customData": map[string]any{"team": "blue"}}).MustOK(t)
	if r.Str("nickname") != "Prof" || r.Str("gender") != "F" || r.Str("username") != "prof1" {
		t.Fatalf("profile: %s", r.Raw)
	}
	if p := u.profile().MustOK(t); p.Str("nickname") != "Prof" || p.Data["customData"] != nil {
		t.Fatalf("profile not stored, or customData sent unasked: %s", p.Raw)
	}
	p := env.Do("GET", "/api/v3/get-profile?withCustomData=true", nil, "Authorization", u.access).MustOK(t)
	if cd, _ := p.Data["customData"].(map[string]any); cd["team"] != "blue" {
		t.Fatalf("customData: %s", p.Raw)
	}
	if r := u.post("/api/v3/update-profile", map[string]any{"username": "TakenName"}); r.StatusCode != 409 {
		t.Fatalf("taken username: %s", r.Raw)
	}
	if r := u.post("/api/v3/update-profile", map[string]any{"gender": "X"}); r.StatusCode != 400 || !strings.Contains(r.Message, "gender") {
		t.Fatalf("bad gender: %s", r.Raw)
	}
	if r := env.Post("/api/v3/update-profile", map[string]any{"nickname": "x"}); r.StatusCode != 401 {
		t.Fatalf("no token: %s", r.Raw)
	}
	si := env.Do("GET", "/api/v3/get-security-info", nil, "Authorization", u.access).MustOK(t)
	if si.Data["emailBinded"] != true || si.Data["phoneBinded"] != false || si.Data["passwordSet"] != true || si.Data["securityScore"] != float64(70) {
		t.Fatalf("security info: %s", si.Raw)
	}
}

func TestBindAndUnbind(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	signUpIn(t, env, "owner@example.com")
	u := signUpIn(t, env, "bind@example.com")

	// Phone: bind needs a CHANNEL_BIND_PHONE code sent to that number.
	wrongChannel := sendSMS(t, env, "13900139000", "CHANNEL_REGISTER")
	if r := u.post("/api/v3/bind-phone", map[string]any{"phoneNumber": "13900139000", "passCode": wrongChannel}); r.StatusCode != 400 {
		t.Fatalf("bound with a register code: %s", r.Raw)
	}
	code := sendSMS(t, env, "13900139000", "CHANNEL_BIND_PHONE")
	u.post("/api/v3/bind-phone", map[string]any{"phoneNumber": "13900139000", "passCode": code}).MustOK(t)
	if p := u.profile().MustOK(t); p.Str("phone") != "13900139000" || p.Data["phoneVerified"] != true {
		t.Fatalf("phone not bound: %s", p.Raw)
	}
	// A number another account holds is refused before any code is spent.
	other := signUpIn(t, env, "other@example.com")
	clock.Advance(61 * time.Second)
	code = sendSMS(t, env, "13900139000", "CHANNEL_BIND_PHONE")
	if r := other.post("/api/v3/bind-phone", map[string]any{"phoneNumber": "13900139000", "passCode": code}); r.StatusCode != 409 {
		t.Fatalf("bound a taken number: %s", r.Raw)
	}

	// Email: unbind, then bind another; a taken address is refused.
	code = sendEmail(t, env, "bind@example.com", "CHANNEL_UNBIND_EMAIL")
	u.post("/api/v3/unbind-email", map[string]any{"passCode": code}).MustOK(t)
	if p := u.profile().MustOK(t); p.Str("email") != "" {
		t.Fatalf("email still bound: %s", p.Raw)
	}
	if n := env.Mail.WaitFor(t, "bind@example.com", 10*time.Second); n.Code() != "" {
		t.Fatalf("expected an unbind notice, got %q", n.Text)
	}
	code = sendEmail(t, env, "owner@example.com", "CHANNEL_BIND_EMAIL")
	if r := u.post("/api/v3/bind-email", map[string]any{"email": "owner@example.com", "passCode": code}); r.StatusCode != 409 {
		t.Fatalf("bound a taken email: %s", r.Raw)
	}
	code = sendEmail(t, env, "new-bind@example.com", "CHANNEL_BIND_EMAIL")
	u.post("/api/v3/bind-email", map[string]any{"email": "new-bind@example.com", "passCode": code}).MustOK(t)
	if p := u.profile().MustOK(t); p.Str("email") != "new-bind@example.com" || p.Data["emailVerified"] != true {
		t.Fatalf("email not bound: %s", p.Raw)
	}
	if m := env.SMS.WaitFor(t, "13900139000", 10*time.Second); m.Code != "" {
		t.Fatalf("want the bind notice on the account's phone, got a code")
	}
	// The phone cannot go while... it can: the email remains an identifier.
	code = sendSMS(t, env, "13900139000", "CHANNEL_UNBIND_PHONE")
	u.post("/api/v3/unbind-phone", map[string]any{"passCode": code}).MustOK(t)
	if p := u.profile().MustOK(t); p.Str("phone") != "" {
		t.Fatalf("phone still bound: %s", p.Raw)
	}
}

func TestUpdatePasswordEndsOtherSessions(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "pw@example.com")
	second := env.SignIn("pw@example.com", oldPW).MustOK(t).Str("access_token")
	if r := u.post("/api/v3/update-password", map[string]any{"newPassword": newPW, "oldPassword": "not it at all"}); r.StatusCode != 400 || !strings.Contains(r.Message, "oldPassword") {
		t.Fatalf("wrong old password: %s", r.Raw)
	}
	if r := u.post("/api/v3/update-password", map[string]any{"newPassword": newPW}); r.StatusCode != 400 || !strings.Contains(r.Message, "oldPassword") {
		t.Fatalf("missing old password: %s", r.Raw)
	}
	if r := u.post("/api/v3/update-password", map[string]any{"newPassword": "short", "oldPassword": oldPW}); r.APICode != 40003 {
		t.Fatalf("policy: %s", r.Raw)
	}
	u.post("/api/v3/update-password", map[string]any{"newPassword": newPW, "oldPassword": oldPW}).MustOK(t)
	u.profile().MustOK(t) // this session stays
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", second); r.StatusCode != 401 {
		t.Fatalf("other session survived a password change: %s", r.Raw)
	}
	env.SignIn("pw@example.com", newPW).MustOK(t)
	if n := env.Mail.WaitFor(t, "pw@example.com", 10*time.Second); !strings.Contains(strings.ToLower(n.Text), "password") {
		t.Fatalf("notice: %q", n.Text)
	}
}

func TestChangeEmailNeedsOldAndNew(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	u := signUpIn(t, env, "old@example.com")
	oldCode := sendEmail(t, env, "old@example.com", "CHANNEL_UPDATE_EMAIL")
	newCode := sendEmail(t, env, "new@example.com", "CHANNEL_UPDATE_EMAIL")
	// Without the old address's proof: refused.
	if r := u.post("/api/v3/verify-update-email-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"newEmail": "new@example.com", "newEmailPassCode": newCode}}); r.StatusCode != 400 {
		t.Fatalf("change without old proof: %s", r.Raw)
	}
	v := u.post("/api/v3/verify-update-email-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"newEmail": "new@example.com", "newEmailPassCode": newCode,
			"oldEmail": "old@example.com", "oldEmailPassCode": oldCode}}).MustOK(t)
	tok := v.Str("updateEmailToken")
	// Another user cannot spend it.
	other := signUpIn(t, env, "someone@example.com")
	if r := other.post("/api/v3/update-email", map[string]any{"updateEmailToken": tok}); r.StatusCode != 400 {
		t.Fatalf("another user spent the token: %s", r.Raw)
	}
	u.post("/api/v3/update-email", map[string]any{"updateEmailToken": tok}).MustOK(t)
	if r := u.post("/api/v3/update-email", map[string]any{"updateEmailToken": tok}); r.StatusCode != 400 {
		t.Fatalf("token spent twice: %s", r.Raw)
	}
	if p := u.profile().MustOK(t); p.Str("email") != "new@example.com" {
		t.Fatalf("email not changed: %s", p.Raw)
	}
	if n := env.Mail.WaitFor(t, "old@example.com", 10*time.Second); n.Code() != "" || !strings.Contains(strings.ToLower(n.Text), "email") {
		t.Fatalf("old address not notified: %q", n.Text)
	}
	env.SignIn("new@example.com", oldPW).MustOK(t)
	if r := env.SignIn("old@example.com", oldPW); r.StatusCode != 401 {
		t.Fatalf("old email still signs in: %s", r.Raw)
	}
}

func TestChangePhone(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	if _, err := env.Server.Accounts.CreateUser(t.Context(), "", "13700137000", "", oldPW); err != nil {
		t.Fatal(err)
	}
	r := env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"phone": "13700137000", "password": oldPW}}).MustOK(t)
	u := signedIn{env: env, access: r.Str("access_token")}
	oldCode := sendSMS(t, env, "13700137000", "CHANNEL_UNBIND_PHONE")
	newCode := sendSMS(t, env, "13600136000", "CHANNEL_BIND_PHONE")
	v := u.post("/api/v3/verify-update-phone-request", map[string]any{"verifyMethod": "PHONE_PASSCODE",
		"phonePassCodePayload": map[string]any{"newPhoneNumber": "13600136000", "newPhonePassCode": newCode,
			"oldPhoneNumber": "13700137000", "oldPhonePassCode": oldCode}}).MustOK(t)
	u.post("/api/v3/update-phone", map[string]any{"updatePhoneToken": v.Str("updatePhoneToken")}).MustOK(t)
	if p := u.profile().MustOK(t); p.Str("phone") != "13600136000" {
		t.Fatalf("phone not changed: %s", p.Raw)
	}
	if n := env.SMS.WaitFor(t, "13700137000", 10*time.Second); n.Code != "" {
		t.Fatalf("old number not notified: %+v", n)
	}
}

func TestDeleteAccount(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "gone@example.com")
	if r := u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
		"passwordPayload": map[string]any{"password": "wrong password x"}}); r.StatusCode != 400 {
		t.Fatalf("wrong password: %s", r.Raw)
	}
	v := u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
		"passwordPayload": map[string]any{"password": oldPW}}).MustOK(t)
	u.post("/api/v3/delete-account", map[string]any{"deleteAccountToken": v.Str("deleteAccountToken")}).MustOK(t)
	if r := u.profile(); r.StatusCode != 401 {
		t.Fatalf("deleted account's session lives: %s", r.Raw)
	}
	if r := env.SignIn("gone@example.com", oldPW); r.StatusCode != 401 {
		t.Fatalf("deleted account signs in: %s", r.Raw)
	}
	if code := refreshStatus(t, env, u.rt); code != 400 {
		t.Fatalf("deleted account's refresh token: HTTP %d", code)
	}
	env.SignUp("gone@example.com", newPW) // the address is free again
	// By email code too.
	w := signUpIn(t, env, "gone2@example.com")
	code := sendEmail(t, env, "gone2@example.com", "CHANNEL_DELETE_ACCOUNT")
	v = w.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"passCode": code}}).MustOK(t)
	w.post("/api/v3/delete-account", map[string]any{"deleteAccountToken": v.Str("deleteAccountToken")}).MustOK(t)
}

// A deleteAccountToken (as the update-email and update-phone tokens) works
// only in the session that asked for it: not in the user's other session
// (as one opened after a reset would be), nor another app's.
func TestActionTokensStayInTheirSession(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	other := store.App{ID: "app-other-0001", Name: "other", SecretHash: server.HashSecret("other-secret-0123456789"), CreatedAt: time.Now()}
	if err := env.Server.Store.PutApp(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	const email = "action@example.com"
	u := signUpIn(t, env, email)
	tok := u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
		"passwordPayload": map[string]any{"password": oldPW}}).MustOK(t).Str("deleteAccountToken")
	second := env.SignIn(email, oldPW).MustOK(t).Str("access_token")
	inOtherApp := env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": oldPW}}, "x-authing-app-id", other.ID).MustOK(t).Str("access_token")
	for name, as := range map[string][]string{
		"the user's other session": {"Authorization", second},
		"another app's session":    {"Authorization", inOtherApp, "x-authing-app-id", other.ID},
	} {
		if r := env.Post("/api/v3/delete-account", map[string]any{"deleteAccountToken": tok}, as...); r.StatusCode != 400 {
			t.Fatalf("spent in %s: %s", name, r.Raw)
		}
	}
	u.post("/api/v3/delete-account", map[string]any{"deleteAccountToken": tok}).MustOK(t)
}

func TestTokensRefreshIntrospectRevoke(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "tok@example.com")
	form := func(path string, vals url.Values) (int, map[string]any) {
		return oidcForm(t, env, env.AppID, env.AppSecret, path, vals)
	}
	code, m := form("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt}})
	if code != 200 || m["refresh_token"] == u.rt || m["access_token"] == nil {
		t.Fatalf("refresh: %d %v", code, m)
	}
	newAccess, newRT := m["access_token"].(string), m["refresh_token"].(string)
	// Replaying the rotated token ends the whole session.
	if code, m := form("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.rt}}); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", code, m)
	}
	if code, _ := form("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRT}}); code != 400 {
		t.Fatalf("session survived a replayed refresh token: %d", code)
	}
	if _, m := form("/oidc/token/introspection", url.Values{"token": {newAccess}}); m["active"] != false {
		t.Fatalf("introspect after replay: %v", m)
	}
	v := signUpIn(t, env, "tok2@example.com")
	if _, m := form("/oidc/token/introspection", url.Values{"token": {v.access}}); m["active"] != true || m["sub"] == nil {
		t.Fatalf("introspect: %v", m)
	}
	if code, _ := form("/oidc/token/revocation", url.Values{"token": {v.access}}); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if _, m := form("/oidc/token/introspection", url.Values{"token": {v.access}}); m["active"] != false {
		t.Fatalf("introspect after revoke: %v", m)
	}
	// Wrong client secret.
	resp, err := http.PostForm(env.URL+"/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {v.rt},
		"client_id": {env.AppID}, "client_secret": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong client secret: %d", resp.StatusCode)
	}
	// Discovery agrees with the JWKS and the issuer.
	var disc map[string]any
	getJSON(t, env.URL+"/oidc/.well-known/openid-configuration", &disc)
	if disc["issuer"] != env.Config.Issuer() || disc["jwks_uri"] != env.URL+"/oidc/.well-known/jwks.json" {
		t.Fatalf("discovery: %v", disc)
	}
	var jwks struct{ Keys []map[string]any }
	getJSON(t, disc["jwks_uri"].(string), &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0]["kid"] == "" || jwks.Keys[0]["alg"] != "RS256" { // and ES256: see TestTokenAlgorithms
		t.Fatalf("jwks: %v", jwks)
	}
}

func TestLogoutEndsSessionAndRedirectsOnlyHome(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "bye@example.com")
	get := func(q url.Values) *http.Response { return endSession(t, env, q) }
	// Browsers read a backslash as a slash, so "/\evil.example" is
	// "//evil.example": another host.
	for _, target := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "/\\/evil.example"} {
		if resp := get(url.Values{"post_logout_redirect_uri": {target}}); resp.StatusCode == http.StatusFound {
			t.Errorf("open redirect for %q to %s", target, resp.Header.Get("Location"))
		}
	}
	if resp := get(url.Values{"post_logout_redirect_uri": {"/signed-out"}}); resp.StatusCode != http.StatusFound ||
		resp.Header.Get("Location") != "/signed-out" {
		t.Fatalf("relative redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp := get(url.Values{"id_token_hint": {u.idt}, "post_logout_redirect_uri": {env.URL + "/bye"}, "state": {"s1"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != env.URL+"/bye?state=s1" {
		t.Fatalf("logout redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := u.profile(); r.StatusCode != 401 {
		t.Fatalf("session survived logout: %s", r.Raw)
	}
}

// Another origin is a logout target only as one of the app's registered
// URLs, exactly, and only with an id_token_hint naming that app.
func TestLogoutRedirectsToRegisteredURLs(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	const bye = "https://app.example.com/signed-out"
	if err := env.Server.Store.SetAppLogoutRedirects(t.Context(), env.AppID, []string{bye}); err != nil {
		t.Fatal(err)
	}
	end := func(q url.Values) *http.Response { return endSession(t, env, q) }
	u := signUpIn(t, env, "registered-bye@example.com")
	for _, q := range []url.Values{
		{"post_logout_redirect_uri": {bye}}, // no hint: which app's list?
		{"id_token_hint": {u.idt}, "post_logout_redirect_uri": {bye + "/more"}},
		{"id_token_hint": {u.idt}, "post_logout_redirect_uri": {"https://app.example.com.evil.example/signed-out"}},
	} {
		if resp := end(q); resp.StatusCode == http.StatusFound {
			t.Errorf("redirected to %s for %v", resp.Header.Get("Location"), q)
		}
	}
	u = signUpIn(t, env, "registered-bye2@example.com")
	resp := end(url.Values{"id_token_hint": {u.idt}, "post_logout_redirect_uri": {bye}, "state": {"s2"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != bye+"?state=s2" {
		t.Fatalf("registered redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := u.profile(); r.StatusCode != 401 {
		t.Fatalf("session survived logout: %s", r.Raw)
	}
}

// endSession calls /oidc/session/end without following its redirect.
func endSession(t *testing.T, env *khtest.Env, q url.Values) *http.Response {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(env.URL + "/oidc/session/end?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// A token belongs to the app that issued it: presented with another app's
// id it is refused, on the read that loads session and user together and on
// the routes that only check the session.
func TestTokenOfAnotherAppIsRefused(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "apps@example.com")
	other := store.App{ID: "app-other-0001", Name: "other", SecretHash: server.HashSecret("other-secret-0123456789"), CreatedAt: time.Now()}
	if err := env.Server.Store.PutApp(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	as := []string{"Authorization", u.access, "x-authing-app-id", other.ID}
	if r := env.Do("GET", "/api/v3/get-profile", nil, as...); r.StatusCode != 401 {
		t.Fatalf("get-profile with another app's id: %d %s", r.StatusCode, r.Raw)
	}
	if r := env.Post("/api/v3/update-profile", map[string]any{"nickname": "x"}, as...); r.StatusCode != 401 {
		t.Fatalf("update-profile with another app's id: %d %s", r.StatusCode, r.Raw)
	}
	if r := u.profile().MustOK(t); r.Str("email") != "apps@example.com" {
		t.Fatalf("own app: %s", r.Raw)
	}
}

// An id token names the session too, but it is not an access token: the
// API refuses it.
func TestIDTokenIsNotAnAccessToken(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "idtoken@example.com")
	if u.idt == "" {
		t.Fatal("no id token")
	}
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", u.idt); r.StatusCode != 401 {
		t.Fatalf("get-profile with an id token: %d %s", r.StatusCode, r.Raw)
	}
	if r := env.Post("/api/v3/update-profile", map[string]any{"nickname": "x"}, "Authorization", u.idt); r.StatusCode != 401 {
		t.Fatalf("update-profile with an id token: %d %s", r.StatusCode, r.Raw)
	}
	u.profile().MustOK(t)
}

// Apps keep the id token from sign-in, so a logout usually comes after it
// has expired (OIDC RP-Initiated Logout §2: the OP should accept it). Such a
// hint still ends the session; a hint that is not our id token says so
// instead of "signed out".
func TestLogoutWithAnExpiredIDToken(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	u := signUpIn(t, env, "late-bye@example.com")
	other := signUpIn(t, env, "stays@example.com")
	clock.Advance(env.Config.AccessTokenTTL + time.Minute)
	end := func(hint string) (int, string) {
		resp, err := http.Get(env.URL + "/oidc/session/end?" + url.Values{"id_token_hint": {hint}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	refresh := func(v signedIn) int {
		code, _ := oidcForm(t, env, env.AppID, env.AppSecret, "/oidc/token",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {v.rt}})
		return code
	}
	// A forged hint: our header and claims, someone else's signature.
	parts := strings.Split(other.idt, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Split(u.idt, ".")[2]
	// An access token names the session too, but is not an id token.
	for _, hint := range []string{"not-a-token", forged, other.access} {
		if code, body := end(hint); code != http.StatusBadRequest || strings.Contains(body, "signed out.") {
			t.Fatalf("bad hint %.20q: %d %q", hint, code, body)
		}
	}
	if code := refresh(other); code != 200 {
		t.Fatalf("a bad hint ended a session: refresh %d", code)
	}
	if code, body := end(u.idt); code != 200 || !strings.Contains(body, "signed out") {
		t.Fatalf("logout with the expired id token: %d %q", code, body)
	}
	if code := refresh(u); code != http.StatusBadRequest {
		t.Fatalf("refresh after logout: %d, want 400 invalid_grant", code)
	}
}

// A success carries its requestId too; identities and departmentIds are
// sent, as empty arrays, when asked for (UserDto types them as arrays).
func TestSuccessEnvelopeAndAskedForArrays(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "arrays@example.com")
	p := env.Do("GET", "/api/v3/get-profile?withIdentities=true&withDepartmentIds=true", nil, "Authorization", u.access).MustOK(t)
	if p.RequestID == "" || p.RequestID != p.Header.Get("X-Request-Id") {
		t.Errorf("success requestId %q, X-Request-Id %q", p.RequestID, p.Header.Get("X-Request-Id"))
	}
	if sys := env.Do("GET", "/api/v3/system", nil).MustOK(t); sys.RequestID == "" || sys.RequestID != sys.Header.Get("X-Request-Id") {
		t.Errorf("system: requestId %q, X-Request-Id %q", sys.RequestID, sys.Header.Get("X-Request-Id"))
	}
	for _, k := range []string{"identities", "departmentIds"} {
		if a, ok := p.Data[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s: %#v, want []", k, p.Data[k])
		}
	}
	if p := u.profile().MustOK(t); p.Data["identities"] != nil || p.Data["departmentIds"] != nil {
		t.Errorf("identities or departmentIds sent unasked: %s", p.Raw)
	}
}

// GenAuth's sign-up profile completion: profile.email or profile.phone is
// added, verified, with the code sent to it on CHANNEL_COMPLETE_*; without
// that code, or beside the connection's own email or phone, it is refused
// naming the field, and a refusal creates nothing.
func TestSignUpProfileCompletion(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	signUp := func(payload, profile, options map[string]any) khtest.Reply {
		return env.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD", "passwordPayload": payload,
			"profile": profile, "options": options})
	}
	refused := func(r khtest.Reply, field string) {
		t.Helper()
		if r.StatusCode != 400 || !strings.HasPrefix(r.Message, field) {
			t.Errorf("want 400 naming %s: %s", field, r.Raw)
		}
	}
	const addr = "completed@example.com"
	named := map[string]any{"username": "completer", "password": oldPW}
	refused(signUp(named, map[string]any{"email": addr}, nil), "options.emailPassCodeForInformationCompletion")
	refused(signUp(map[string]any{"email": "own@example.com", "password": oldPW}, map[string]any{"email": addr},
		map[string]any{"emailPassCodeForInformationCompletion": "123456"}), "profile.email")
	refused(signUp(named, map[string]any{"phoneCountryCode": "+86"}, nil), "profile.phoneCountryCode")

	code := sendEmail(t, env, addr, "CHANNEL_COMPLETE_EMAIL")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if r := signUp(named, map[string]any{"email": addr}, map[string]any{"emailPassCodeForInformationCompletion": wrong}); r.APICode != 40103 {
		t.Fatalf("a wrong completion code: %s", r.Raw)
	}
	u := signUp(named, map[string]any{"email": addr}, map[string]any{"emailPassCodeForInformationCompletion": code}).MustOK(t)
	if u.Str("email") != addr || u.Data["emailVerified"] != true || u.Str("username") != "completer" {
		t.Fatalf("completed sign-up: %s", u.Raw)
	}
	env.SignIn(addr, oldPW).MustOK(t)

	const phone = "13900139123"
	pcode := sendSMS(t, env, phone, "CHANNEL_COMPLETE_PHONE")
	p := signUp(map[string]any{"email": "with-phone@example.com", "password": oldPW}, map[string]any{"phone": phone},
		map[string]any{"phonePassCodeForInformationCompletion": pcode}).MustOK(t)
	if p.Str("phone") != phone || p.Data["phoneVerified"] != true || p.Data["emailVerified"] != false {
		t.Fatalf("sign-up with a completed phone: %s", p.Raw)
	}
}

// GenAuth channels no Keyhaven flow takes a code of are refused, naming
// the channel, and nothing is sent.
func TestUnservedChannelsAreRefused(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	for _, ch := range []string{"CHANNEL_VERIFY_EMAIL_LINK", "CHANNEL_VERIFY_MFA", "CHANNEL_UNLOCK_ACCOUNT"} {
		r := env.Post("/api/v3/send-email", map[string]any{"email": "mfa@example.com", "channel": ch})
		if r.StatusCode != 400 || !strings.HasPrefix(r.Message, "channel: "+ch) {
			t.Errorf("send-email %s: %s", ch, r.Raw)
		}
	}
	for _, ch := range []string{"CHANNEL_BIND_MFA", "CHANNEL_VERIFY_MFA", "CHANNEL_UNBIND_MFA", "CHANNEL_IDENTITY_VERIFICATION"} {
		r := env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "13800138000", "channel": ch})
		if r.StatusCode != 400 || !strings.HasPrefix(r.Message, "channel: "+ch) {
			t.Errorf("send-sms %s: %s", ch, r.Raw)
		}
	}
	// A served channel's message, once delivered, is the only one there.
	env.Post("/api/v3/send-email", map[string]any{"email": "mfa@example.com", "channel": "CHANNEL_BIND_EMAIL"}).MustOK(t)
	env.Mail.WaitFor(t, "mfa@example.com", 10*time.Second)
	if n, m := len(env.Mail.Messages()), len(env.SMS.Messages()); n != 1 || m != 0 {
		t.Errorf("%d emails and %d SMS sent, want the one served email", n, m)
	}
}

// A username signs in only with a password, so an account signed up by
// code keeps its email even after it took a username.
func TestUnbindKeepsAWayToSignIn(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	const email = "by-code@example.com"
	code := sendEmail(t, env, email, "CHANNEL_REGISTER")
	r := env.Post("/api/v3/signup", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"email": email, "passCode": code}}).MustOK(t)
	code = sendEmail(t, env, email, "CHANNEL_LOGIN")
	r = env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"email": email, "passCode": code}}).MustOK(t)
	u := signedIn{env: env, access: r.Str("access_token")}
	u.post("/api/v3/update-profile", map[string]any{"username": "by-code"}).MustOK(t)
	code = sendEmail(t, env, email, "CHANNEL_UNBIND_EMAIL")
	if r := u.post("/api/v3/unbind-email", map[string]any{"passCode": code}); r.StatusCode != 400 || !strings.Contains(r.Message, "only way to sign in") {
		t.Fatalf("unbound the email of an account without a password: %s", r.Raw)
	}
	if p := u.profile().MustOK(t); p.Str("email") != email {
		t.Fatalf("email gone: %s", p.Raw)
	}
}

// A rotated refresh token presented by another app is refused without
// ending the session it belonged to: only its own app's replay is theft.
func TestAnotherAppsReplayEndsNothing(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	other := store.App{ID: "app-other-0001", Name: "other", SecretHash: server.HashSecret("other-secret-0123456789"), CreatedAt: time.Now()}
	if err := env.Server.Store.PutApp(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	u := signUpIn(t, env, "replay@example.com")
	refresh := func(app, secret, rt string) (int, map[string]any) {
		return oidcForm(t, env, app, secret, "/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	st, m := refresh(env.AppID, env.AppSecret, u.rt)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, m)
	}
	if st, m := refresh(other.ID, "other-secret-0123456789", u.rt); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("another app's replay: %d %v", st, m)
	}
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", m["access_token"].(string)); r.StatusCode != 200 {
		t.Fatalf("the session ended: %s", r.Raw)
	}
	if st, m := refresh(env.AppID, env.AppSecret, m["refresh_token"].(string)); st != 200 {
		t.Fatalf("the owner's next refresh: %d %v", st, m)
	}
	// Its own app's replay is theft: the session ends.
	if st, _ := refresh(env.AppID, env.AppSecret, u.rt); st != 400 {
		t.Fatalf("replay: %d", st)
	}
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", m["access_token"].(string)); r.StatusCode != 401 {
		t.Fatalf("the session lives after a replay: %s", r.Raw)
	}
}

// A profile is copied into every id token: its fields are bounded, and a
// refused update changes nothing.
func TestProfileBounds(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "bounds@example.com")
	long := strings.Repeat("名", 1025)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"nickname": "kept", "name": long}, "name:"},
		{map[string]any{"photo": "javascript:alert(1)"}, "photo:"},
		{map[string]any{"customData": "a string"}, "customData: must be an object"},
		{map[string]any{"customData": map[string]any{"k": strings.Repeat("x", 16<<10)}}, "customData: must be at most"},
	} {
		if r := u.post("/api/v3/update-profile", c.body); r.StatusCode != 400 || !strings.HasPrefix(r.Message, c.field) {
			t.Errorf("%v: %s", c.field, r.Raw)
		}
	}
	if p := u.profile().MustOK(t); p.Str("nickname") != "" {
		t.Fatalf("a refused update changed the profile: %s", p.Raw)
	}
	u.post("/api/v3/update-profile", map[string]any{"name": long[:3*1024], "photo": "https://example.com/a.png",
		"customData": map[string]any{"k": "v"}}).MustOK(t)
	r := env.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "bounds2@example.com", "password": oldPW}, "profile": map[string]any{"nickname": long}})
	if r.StatusCode != 400 || !strings.HasPrefix(r.Message, "profile.nickname:") {
		t.Fatalf("sign-up with a long nickname: %s", r.Raw)
	}
	// A profile stored before the bounds does not block other fields.
	stored, err := env.Server.Store.GetUserByEmail(t.Context(), "bounds@example.com")
	if err != nil {
		t.Fatal(err)
	}
	stored.Profile = []byte(`{"name":"` + long + long + `","photo":"/avatars/me.png"}`)
	if err := env.Server.Store.UpdateUser(t.Context(), stored, store.FieldProfile); err != nil {
		t.Fatal(err)
	}
	u.post("/api/v3/update-profile", map[string]any{"nickname": "later"}).MustOK(t)
}

// A refused password is named by the field that carried it.
func TestPasswordErrorsNameTheirField(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	u := signUpIn(t, env, "fields@example.com")
	for _, c := range []struct {
		path   string
		body   map[string]any
		prefix string
	}{
		{"/api/v3/update-password", map[string]any{"oldPassword": oldPW, "newPassword": "short"}, "newPassword: must be at least"},
		{"/api/v3/update-password", map[string]any{"oldPassword": oldPW, "newPassword": oldPW}, "newPassword: must differ"},
		{"/api/v3/update-password", map[string]any{"oldPassword": oldPW, "newPassword": "AAAA", "passwordEncryptType": "rsa"}, "newPassword: could not be decrypted"},
		{"/api/v3/signup", map[string]any{"connection": "PASSWORD", "passwordPayload": map[string]any{"email": "f2@example.com", "password": "short"}}, "passwordPayload.password: must be at least"},
	} {
		if r := u.post(c.path, c.body); r.StatusCode != 400 || !strings.HasPrefix(r.Message, c.prefix) {
			t.Errorf("%s %v: %s", c.path, c.body, r.Raw)
		}
	}
	r := env.Post("/api/v3/reset-password", map[string]any{"password": "short", "passwordResetToken": env.ResetToken("fields@example.com")})
	if r.StatusCode != 400 || !strings.HasPrefix(r.Message, "password: must be at least") {
		t.Errorf("reset: %s", r.Raw)
	}
}
