package httpapi_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

func TestSignUpAndSignInByCode(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	code := sendEmail(t, env, "coder@example.com", "CHANNEL_REGISTER")
	r := env.Post("/api/v3/signup", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"email": "coder@example.com", "passCode": code}}).MustOK(t)
	if r.Data["emailVerified"] != true {
		t.Fatalf("code sign-up: %s", r.Raw)
	}
	// The same address again: refused, and the code is not the reason.
	if r := env.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "CODER@example.com", "password": oldPW}}); r.StatusCode != 409 {
		t.Fatalf("duplicate sign-up: %s", r.Raw)
	}
	login := sendEmail(t, env, "coder@example.com", "CHANNEL_LOGIN")
	env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"email": "coder@example.com", "passCode": login}}).MustOK(t)
	// Phone sign-up with a password for later.
	sms := sendSMS(t, env, "13500135000", "CHANNEL_REGISTER")
	env.Post("/api/v3/signup", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"phone": "13500135000", "passCode": sms},
		"options":         map[string]any{"passwordForPhonePassCode": oldPW}}).MustOK(t)
	env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"account": "13500135000", "password": oldPW}}).MustOK(t)
}

func TestClientAuthentication(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("client@example.com", oldPW)
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"connection": "PASSWORD", "passwordPayload": map[string]any{"email": "client@example.com", "password": oldPW}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	env.Post("/api/v3/signin", body(map[string]any{"client_id": env.AppID, "client_secret": env.AppSecret})).MustOK(t)
	if r := env.Post("/api/v3/signin", body(map[string]any{"client_id": env.AppID, "client_secret": "wrong"})); r.StatusCode != 401 || r.APICode != 40102 {
		t.Fatalf("post with wrong secret: %s", r.Raw)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(env.AppID+":"+env.AppSecret))
	env.Post("/api/v3/signin", body(nil), "Authorization", basic).MustOK(t)
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte(env.AppID+":nope"))
	if r := env.Post("/api/v3/signin", body(nil), "Authorization", bad); r.StatusCode != 401 {
		t.Fatalf("basic with wrong secret: %s", r.Raw)
	}
	// Unknown account and wrong password: one answer.
	a := env.SignIn("nobody@example.com", oldPW)
	b := env.SignIn("client@example.com", "not the password")
	if a.StatusCode != 401 || a.Message != b.Message || a.APICode != b.APICode {
		t.Fatalf("answers differ: %s / %s", a.Raw, b.Raw)
	}
}

// Mail in the reader's language, and a slow mail server never slows the API.
func TestMailLanguageAndSlowServer(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("zh@example.com", oldPW)
	env.Post("/api/v3/send-email", map[string]any{"email": "zh@example.com", "channel": "CHANNEL_RESET_PASSWORD"},
		"Accept-Language", "zh-CN,zh;q=0.9").MustOK(t)
	m := env.Mail.WaitFor(t, "zh@example.com", 10*time.Second)
	if !strings.Contains(m.Text, "密码") || m.HTML == "" || m.Code() == "" {
		t.Fatalf("not a Chinese text+HTML mail: %q", m.Text)
	}
	env.SignUp("slow@example.com", oldPW)
	env.Mail.SetDelay(3 * time.Second)
	start := time.Now()
	env.Post("/api/v3/send-email", map[string]any{"email": "slow@example.com", "channel": "CHANNEL_RESET_PASSWORD"},
		"x-authing-lang", "en-US").MustOK(t)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("send-email took %s behind a slow mail server", d)
	}
	if m := env.Mail.WaitFor(t, "slow@example.com", 15*time.Second); !strings.Contains(m.Text, "password") {
		t.Fatalf("English mail: %q", m.Text)
	}
}

// GenAuth's options.autoRegister: an unknown email or username signing in
// with a password is registered first, as signup would; a known one signs
// in only with its password; a phone or account name is refused by name.
func TestSignInAutoRegister(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("auto@example.com", oldPW)
	signIn := func(payload map[string]any, auto any) khtest.Reply {
		b := map[string]any{"connection": "PASSWORD", "passwordPayload": payload}
		if auto != nil {
			b["options"] = map[string]any{"autoRegister": auto}
		}
		return env.Post("/api/v3/signin", b)
	}
	email := func(e, pw string) map[string]any { return map[string]any{"email": e, "password": pw} }
	// Without it, an unknown account is a wrong password, and nothing is made.
	if r := signIn(email("new-auto@example.com", oldPW), false); r.StatusCode != 401 {
		t.Fatalf("autoRegister false, unknown account: %s", r.Raw)
	}
	// A known account is not registered again, nor signed in without its password.
	if r := signIn(email("auto@example.com", "not the password"), true); r.StatusCode != 401 {
		t.Fatalf("autoRegister, known account, wrong password: %s", r.Raw)
	}
	signIn(email("auto@example.com", oldPW), true).MustOK(t)
	// An unknown one is registered, under the sign-up's rules.
	if r := signIn(email("new-auto@example.com", "short"), true); r.APICode != apierr.CodePasswordPolicy {
		t.Fatalf("autoRegister with a refused password: %s", r.Raw)
	}
	access := signIn(email("new-auto@example.com", newPW), true).MustOK(t).Str("access_token")
	p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t)
	if p.Str("email") != "new-auto@example.com" || p.Data["emailVerified"] != false {
		t.Fatalf("auto-registered profile: %s", p.Raw)
	}
	env.SignIn("new-auto@example.com", newPW).MustOK(t)
	signIn(map[string]any{"username": "autouser", "password": newPW}, true).MustOK(t)
	for _, payload := range []map[string]any{{"phone": "13800138000", "password": newPW}, {"account": "someone", "password": newPW}} {
		if r := signIn(payload, true); r.StatusCode != 400 || !strings.HasPrefix(r.Message, "options.autoRegister") {
			t.Fatalf("autoRegister with %v: %s", payload, r.Raw)
		}
	}
}

// A NUL in any string is refused naming its field, before anything is
// written: PostgreSQL's text cannot hold one, and it failed sign-ins there
// after the code was spent. The literal text \u0000 is an ordinary string.
func TestNULIsRefusedNamingTheField(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var opts []khtest.Option
			if db == "postgres" {
				url := pgtest.Fresh(t, "nul")
				opts = append(opts, khtest.WithConfig(func(c *config.Config) { c.DatabaseURL = config.Secret(url) }))
			}
			env := khtest.Start(t, append(opts, khtest.FastHash)...)
			const email = "nul@example.com"
			env.SignUp(email, oldPW)
			for _, c := range []struct{ path, body, field string }{
				{"/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"email":"nul@example.com","password":"` + oldPW + `"},"options":{"scope":"openid \u0000"}}`, "options.scope"},
				{"/api/v3/signup", `{"connection":"PASSWORD","passwordPayload":{"username":"nul\u0000user","password":"` + oldPW + `"}}`, "passwordPayload.username"},
				{"/api/v3/send-email", `{"email":"nul@example.com","channel":"CHANNEL_LOGIN\u0000"}`, "channel"},
			} {
				if r := env.Post(c.path, c.body); r.StatusCode != 400 || !strings.HasPrefix(r.Message, c.field+": must not contain a NUL") {
					t.Errorf("%s: %s", c.path, r.Raw)
				}
			}
			access := env.SignIn(email, oldPW).MustOK(t).Str("access_token")
			if r := env.Post("/api/v3/update-profile", `{"nickname":"a\u0000b"}`, "Authorization", access); r.StatusCode != 400 || !strings.HasPrefix(r.Message, "nickname:") {
				t.Errorf("update-profile: %s", r.Raw)
			}
			env.Post("/api/v3/update-profile", `{"nickname":"a\\u0000b"}`, "Authorization", access).MustOK(t)
			p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t)
			if p.Str("nickname") != `a\u0000b` || p.Data["loginsCount"] != float64(1) {
				t.Errorf("profile after: %s", p.Raw)
			}
		})
	}
}
