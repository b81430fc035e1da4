package httpapi_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/pwcrypto"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

const (
	oldPW = "correct horse battery"
	newPW = "staple orbit velvet 42"
)

// The whole forgot-password flow over HTTP with real SMTP: code by mail,
// token, reset; every session ends, the old password stops working, the
// new one works, a notice arrives, and the token is single-use.
func TestResetFlowByEmail(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("Reset.Me@Example.com", oldPW)
	signin := env.SignIn("reset.me@example.com", oldPW).MustOK(t)
	access, refresh := signin.Str("access_token"), signin.Str("refresh_token")
	env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t)

	// Asked for with another spelling, the code goes to the stored address.
	env.Post("/api/v3/send-email", map[string]any{"email": "RESET.ME@example.com", "channel": "CHANNEL_RESET_PASSWORD"}).MustOK(t)
	msg := env.Mail.WaitFor(t, "Reset.Me@Example.com", 10*time.Second)
	code := msg.Code()
	if len(code) != 6 || strings.Contains(msg.Subject, code) {
		t.Fatalf("code %q, subject %q", code, msg.Subject)
	}
	v := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "reset.me@example.com", "passCode": code}}).MustOK(t)
	tok := v.Str("passwordResetToken")
	if len(tok) < 32 || v.Data["tokenExpiresIn"] != float64(900) {
		t.Fatalf("verify data: %v", v.Data)
	}
	if cc := v.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token reply Cache-Control = %q, want no-store", cc)
	}
	// The code was used up.
	again := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "reset.me@example.com", "passCode": code}})
	if again.StatusCode != 400 || again.APICode != 40103 {
		t.Fatalf("reused code: %s", again.Raw)
	}

	r := env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}).MustOK(t)
	if r.Data["success"] != true {
		t.Fatalf("reset data: %v", r.Data)
	}
	if p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access); p.StatusCode != 401 {
		t.Errorf("old session still works after reset: %s", p.Raw)
	}
	if code := refreshStatus(t, env, refresh); code != 400 {
		t.Errorf("old refresh token after reset: HTTP %d, want 400", code)
	}
	if r := env.SignIn("reset.me@example.com", oldPW); r.StatusCode != 401 {
		t.Errorf("old password still signs in: %s", r.Raw)
	}
	env.SignIn("reset.me@example.com", newPW).MustOK(t)
	notice := env.Mail.WaitFor(t, "Reset.Me@Example.com", 10*time.Second)
	if !strings.Contains(strings.ToLower(notice.Text), "password") || notice.Code() != "" {
		t.Errorf("notice: %q", notice.Text)
	}
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": "another fine phrase 7", "passwordResetToken": tok}); r.StatusCode != 400 || r.APICode != 40104 {
		t.Fatalf("token reuse: %s", r.Raw)
	}
	for _, line := range strings.Split(env.Logs.String(), "\n") {
		for _, secret := range []string{code, tok, newPW, oldPW, access, refresh} {
			if strings.Contains(line, secret) {
				t.Fatalf("a secret reached the log: %s", line)
			}
		}
	}
}

func refreshStatus(t *testing.T, env *khtest.Env, refresh string) int {
	t.Helper()
	resp, err := httpPostForm(env.URL+"/oidc/token", "grant_type=refresh_token&refresh_token="+refresh+
		"&client_id="+env.AppID+"&client_secret="+env.AppSecret)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Reset by SMS code, with the number typed three ways.
func TestResetFlowByPhone(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	if _, err := env.Server.Accounts.CreateUser(t.Context(), "", "+86 138 0013 8000", "", oldPW); err != nil {
		t.Fatal(err)
	}
	env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "13800138000", "channel": "CHANNEL_RESET_PASSWORD"}).MustOK(t)
	sms := env.SMS.WaitFor(t, "13800138000", 10*time.Second)
	if sms.PhoneCountryCode != "+86" || sms.Channel != "CHANNEL_RESET_PASSWORD" || !strings.Contains(sms.Text, sms.Code) {
		t.Fatalf("sms: %+v", sms)
	}
	v := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "PHONE_PASSCODE",
		"phonePassCodePayload": map[string]any{"phoneNumber": "13800138000", "phoneCountryCode": "+86", "passCode": sms.Code}}).MustOK(t)
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": v.Str("passwordResetToken")}).MustOK(t)
	env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"phone": "+8613800138000", "password": newPW}}).MustOK(t)
}

// rsa and sm2 transport encryption on sign-up, sign-in and reset.
func TestEncryptedPasswords(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	sys := env.Do("GET", "/api/v3/system", nil).MustOK(t)
	var top struct {
		RSA struct{ PublicKey string } `json:"rsa"`
		SM2 struct{ PublicKey string } `json:"sm2"`
	}
	mustJSON(t, sys.Raw, &top)
	data := sys.Data["sm2"].(map[string]any)["publicKey"].(string)
	if top.SM2.PublicKey == "" || top.SM2.PublicKey != data || !strings.HasPrefix(top.RSA.PublicKey, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("system keys: %s", sys.Raw)
	}
	enc := map[string]func(string) string{
		"rsa": func(pw string) string { c, err := pwcrypto.EncryptRSA(top.RSA.PublicKey, pw); must(t, err); return c },
		"sm2": func(pw string) string { c, err := pwcrypto.EncryptSM2(top.SM2.PublicKey, pw); must(t, err); return c },
	}
	for kind, e := range enc {
		t.Run(kind, func(t *testing.T) {
			email := kind + "@example.com"
			env.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD",
				"passwordPayload": map[string]any{"email": email, "password": e(oldPW)},
				"options":         map[string]any{"passwordEncryptType": kind}}).MustOK(t)
			env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
				"passwordPayload": map[string]any{"email": email, "password": e(oldPW)},
				"options":         map[string]any{"passwordEncryptType": kind}}).MustOK(t)
			tok := env.ResetToken(email)
			env.Post("/api/v3/reset-password", map[string]any{"password": e(newPW), "passwordResetToken": tok,
				"passwordEncryptType": kind}).MustOK(t)
			env.SignIn(email, newPW).MustOK(t)
			// Garbage ciphertext: one message, whatever is wrong with it.
			clock.Advance(61 * time.Second)
			tok = env.ResetToken(email)
			var msgs []string
			for _, bad := range []string{"", "%%%", "AAAA", e(newPW)[:20], strings.Repeat("0", 300)} {
				if bad == "" {
					continue
				}
				r := env.Post("/api/v3/reset-password", map[string]any{"password": bad, "passwordResetToken": tok, "passwordEncryptType": kind})
				if r.StatusCode != 400 || r.APICode != 40002 {
					t.Fatalf("garbage %q: %s", bad, r.Raw)
				}
				msgs = append(msgs, r.Message)
			}
			for _, m := range msgs {
				if m != msgs[0] {
					t.Fatalf("decryption failures differ: %q", msgs)
				}
			}
		})
	}
}

// An unknown address gets the same answer as a known one, and no mail.
func TestUnknownAddressAnswersAlike(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("known@example.com", oldPW)
	strip := func(r khtest.Reply) string {
		return strings.Replace(string(r.Raw), r.RequestID, "", 1)
	}
	known := env.Post("/api/v3/send-email", map[string]any{"email": "known@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	unknown := env.Post("/api/v3/send-email", map[string]any{"email": "nobody@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	if strip(known) != strip(unknown) || known.StatusCode != 200 {
		t.Fatalf("answers differ:\n%s\n%s", known.Raw, unknown.Raw)
	}
	// Throttled alike too.
	known = env.Post("/api/v3/send-email", map[string]any{"email": "known@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	unknown = env.Post("/api/v3/send-email", map[string]any{"email": "nobody@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	if strip(known) != strip(unknown) || known.StatusCode != 429 {
		t.Fatalf("throttled answers differ:\n%s\n%s", known.Raw, unknown.Raw)
	}
	env.Mail.WaitFor(t, "known@example.com", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	for _, m := range env.Mail.Messages() {
		for _, to := range m.To {
			if strings.Contains(to, "nobody") {
				t.Fatalf("mail went to an unknown address: %v", m.To)
			}
		}
	}
	// Guessing codes for an unknown address looks like guessing for a known one.
	a := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "nobody@example.com", "passCode": "000000"}})
	b := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "known@example.com", "passCode": "000000"}})
	if a.Message != b.Message || a.APICode != b.APICode {
		t.Fatalf("wrong-code answers differ: %s / %s", a.Raw, b.Raw)
	}
}

// Codes: one a minute, five wrong tries, bound to their channel, expire.
func TestCodeLimits(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	env.SignUp("limits@example.com", oldPW)
	verify := func(code string) khtest.Reply {
		return env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
			"emailPassCodePayload": map[string]any{"email": "limits@example.com", "passCode": code}})
	}
	code := env.ResetCode("limits@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 4; i >= 1; i-- {
		r := verify(wrong)
		if r.StatusCode != 400 || !strings.Contains(r.Message, "tries left") || !strings.Contains(r.Message, string(rune('0'+i))) {
			t.Fatalf("wrong try: %s", r.Raw)
		}
	}
	verify(wrong)
	if r := verify(code); r.StatusCode != 400 {
		t.Fatalf("code works after 5 wrong tries: %s", r.Raw)
	}
	// A register code does not reset a password.
	clock.Advance(61 * time.Second)
	env.Post("/api/v3/send-email", map[string]any{"email": "limits@example.com", "channel": "CHANNEL_REGISTER"}).MustOK(t)
	reg := env.CodeFor("limits@example.com")
	if r := verify(reg); r.StatusCode == 200 {
		t.Fatalf("register code reset a password")
	}
	// Expiry after five minutes.
	code = env.ResetCode("limits@example.com")
	clock.Advance(5*time.Minute + time.Second)
	if r := verify(code); r.StatusCode != 400 || r.APICode != 40103 {
		t.Fatalf("expired code: %s", r.Raw)
	}
	// The reset token expires after 15 minutes.
	clock.Advance(time.Minute)
	tok := env.ResetToken("limits@example.com")
	clock.Advance(15*time.Minute + time.Second)
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}); r.APICode != 40104 {
		t.Fatalf("expired token: %s", r.Raw)
	}
}

// The hourly cap and the daily wrong-try cap answer like any throttle.
func TestDailyAndHourlyCaps(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock), khtest.WithConfig(func(c *config.Config) {
		c.CodeHourlyCap, c.CodeDailyFailures = 3, 4
	}))
	// Start at the top of an hour so the windows do not roll over mid-test.
	now := clock.Now()
	clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Second).Sub(now))
	send := func() khtest.Reply {
		return env.Post("/api/v3/send-email", map[string]any{"email": "cap@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	}
	for i := 0; i < 3; i++ {
		send().MustOK(t)
		clock.Advance(61 * time.Second)
	}
	if r := send(); r.StatusCode != 429 || !strings.Contains(r.Message, "in the last hour") {
		t.Fatalf("4th code in an hour: %s", r.Raw)
	}
	for i := 0; i < 4; i++ {
		env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
			"emailPassCodePayload": map[string]any{"email": "cap@example.com", "passCode": "123456"}})
	}
	r := env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "cap@example.com", "passCode": "123456"}})
	if r.StatusCode != 429 {
		t.Fatalf("past the daily cap: %s", r.Raw)
	}
}

// The hourly cap is over the last hour, not the clock hour: the cap's worth
// of codes just before the hour turns leaves no room just after it, and
// room comes back as they age.
func TestHourlyCodeCapSlidesAcrossTheHour(t *testing.T) {
	clock := khtest.NewClock()
	now := clock.Now()
	clock.Advance(now.Truncate(time.Hour).Add(time.Hour - 4*time.Minute).Sub(now)) // hh:56
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	send := func(channel string) khtest.Reply {
		return env.Post("/api/v3/send-email", map[string]any{"email": "hourly@example.com", "channel": channel})
	}
	channels := []string{"CHANNEL_LOGIN", "CHANNEL_RESET_PASSWORD", "CHANNEL_REGISTER", "CHANNEL_BIND_EMAIL", "CHANNEL_UPDATE_EMAIL"}
	sent := 0
	for range 3 { // hh:56 to hh:58, then hh:59 to hh:01, then hh:02 to hh:04
		for _, ch := range channels {
			if send(ch).StatusCode == 200 {
				sent++
			}
			clock.Advance(13 * time.Second)
		}
		clock.Advance(61 * time.Second)
	}
	if sent != 10 {
		t.Fatalf("%d codes within 9 minutes across the hour, want the cap of 10", sent)
	}
	clock.Advance(40 * time.Minute) // 42 minutes into the new hour: most of the old codes have aged out
	if r := send("CHANNEL_LOGIN"); r.StatusCode != 200 {
		t.Fatalf("no room 45 minutes into the next hour: %s", r.Raw)
	}
}

// The daily wrong-code cap is over the last 24 hours, not the UTC day:
// the cap's worth of wrong codes just before midnight leaves none just
// after it.
func TestDailyCodeCapSlidesAcrossMidnight(t *testing.T) {
	clock := khtest.NewClock()
	now := clock.Now()
	clock.Advance(now.Truncate(24 * time.Hour).Add(24*time.Hour - 10*time.Minute).Sub(now))
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock), khtest.WithConfig(func(c *config.Config) {
		c.CodeInterval, c.CodeHourlyCap, c.CodeDailyFailures = 0, 1000, 4
	}))
	const email = "midnight@example.com"
	env.SignUp(email, oldPW)
	verify := func(code string) khtest.Reply {
		return env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
			"emailPassCodePayload": map[string]any{"email": email, "passCode": code}})
	}
	code := env.ResetCode(email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 4 {
		if r := verify(wrong); r.StatusCode != 400 {
			t.Fatalf("wrong code: %s", r.Raw)
		}
	}
	clock.Advance(11 * time.Minute) // past UTC midnight
	code = env.ResetCode(email)
	if r := verify(code); r.StatusCode != 429 {
		t.Fatalf("the right code just after midnight, after the day's wrong codes: %s", r.Raw)
	}
	clock.Advance(12 * time.Hour) // half of them still count: 2 of 4
	code = env.ResetCode(email)
	verify(code).MustOK(t)
}

// Twelve concurrent resets with one token: exactly one wins.
func TestConcurrentResetSingleUse(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("race@example.com", oldPW)
	tok := env.ResetToken("race@example.com")
	var wg sync.WaitGroup
	results := make([]khtest.Reply, 12)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = env.Post("/api/v3/reset-password", map[string]any{
				"password": "race winner phrase " + string(rune('a'+i)), "passwordResetToken": tok})
		}()
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		switch {
		case r.StatusCode == 200:
			wins++
		case r.APICode != 40104:
			t.Errorf("loser got %s", r.Raw)
		}
	}
	if wins != 1 {
		t.Fatalf("%d resets won, want exactly 1", wins)
	}
}

// The policy: too short, common, the current password.
func TestResetPasswordPolicy(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("policy@example.com", oldPW)
	tok := env.ResetToken("policy@example.com")
	for _, c := range []struct {
		pw   string
		code int
	}{{"short", 40003}, {"password1", 40003}, {strings.Repeat("x", 129), 40003}, {oldPW, 40004}} {
		r := env.Post("/api/v3/reset-password", map[string]any{"password": c.pw, "passwordResetToken": tok})
		if r.StatusCode != 400 || r.APICode != c.code || !strings.HasPrefix(r.Message, "password") {
			t.Errorf("%q: %s", c.pw, r.Raw)
		}
	}
	// A refused password does not burn the token.
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}).MustOK(t)
}

// "Must differ from the current password" must not let one reset token
// test guesses at the current password without end: each comparison counts
// with the account's password failures, and past the limit the reset goes
// through rather than answer.
func TestResetReuseCheckIsCounted(t *testing.T) {
	const limit = 3
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock),
		khtest.WithConfig(func(c *config.Config) { c.PasswordFailures = limit }))
	env.SignUp("guess@example.com", oldPW)
	tok := env.ResetToken("guess@example.com")
	// A password the policy refuses is never compared: not a try.
	for range 2 * limit {
		if r := env.Post("/api/v3/reset-password", map[string]any{"password": "short", "passwordResetToken": tok}); r.APICode != 40003 {
			t.Fatalf("short password: %s", r.Raw)
		}
	}
	for i := range limit {
		if r := env.Post("/api/v3/reset-password", map[string]any{"password": oldPW, "passwordResetToken": tok}); r.APICode != 40004 {
			t.Fatalf("current password, try %d: %s", i+1, r.Raw)
		}
	}
	// Past the limit the answer says nothing: the reset is done.
	env.Post("/api/v3/reset-password", map[string]any{"password": oldPW, "passwordResetToken": tok}).MustOK(t)
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}); r.APICode != 40104 {
		t.Fatalf("the token outlived its reset: %s", r.Raw)
	}
	// The reset cleared the count: sign-in and the check work again.
	env.SignIn("guess@example.com", oldPW).MustOK(t)
	clock.Advance(2 * time.Minute) // past the resend interval
	tok = env.ResetToken("guess@example.com")
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": oldPW, "passwordResetToken": tok}); r.APICode != 40004 {
		t.Fatalf("current password after the reset: %s", r.Raw)
	}
}

// Bad input: a 400 naming the field, never a 500, nothing written.
func TestBadInput(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	cases := []struct {
		name, path, body, field string
		status                  int
	}{
		{"malformed", "/api/v3/send-email", `{"email":`, "JSON", 400},
		{"not an object", "/api/v3/send-email", `[1,2]`, "", 400},
		{"empty", "/api/v3/send-email", ``, "JSON object", 400},
		{"wrong type", "/api/v3/send-email", `{"email":5,"channel":"CHANNEL_LOGIN"}`, "email", 400},
		{"unknown enum", "/api/v3/send-email", `{"email":"a@b.co","channel":"CHANNEL_NOPE"}`, "channel", 400},
		{"missing enum", "/api/v3/send-email", `{"email":"a@b.co"}`, "channel", 400},
		{"missing email", "/api/v3/send-email", `{"channel":"CHANNEL_LOGIN"}`, "email", 400},
		{"bad email", "/api/v3/send-email", `{"email":"nope","channel":"CHANNEL_LOGIN"}`, "email", 400},
		{"case-folded key", "/api/v3/send-email", `{"EMAIL":"a@b.co","channel":"CHANNEL_LOGIN"}`, "EMAIL", 400},
		{"duplicate key", "/api/v3/send-email", `{"email":"a@b.co","email":"c@d.co","channel":"CHANNEL_LOGIN"}`, "email", 400},
		{"invalid utf-8", "/api/v3/send-email", "{\"email\":\"a\xff@b.co\",\"channel\":\"CHANNEL_LOGIN\"}", "UTF-8", 400},
		{"trailing data", "/api/v3/send-email", `{"email":"a@b.co","channel":"CHANNEL_LOGIN"} {}`, "JSON", 400},
		{"bad phone", "/api/v3/send-sms", `{"phoneNumber":"12","channel":"CHANNEL_LOGIN"}`, "phoneNumber", 400},
		{"verify no method", "/api/v3/verify-reset-password-request", `{}`, "verifyMethod", 400},
		{"verify no payload", "/api/v3/verify-reset-password-request", `{"verifyMethod":"EMAIL_PASSCODE"}`, "emailPassCodePayload", 400},
		{"verify bad code", "/api/v3/verify-reset-password-request", `{"verifyMethod":"EMAIL_PASSCODE","emailPassCodePayload":{"email":"a@b.co","passCode":"12ab"}}`, "passCode", 400},
		{"nested wrong type", "/api/v3/verify-reset-password-request", `{"verifyMethod":"EMAIL_PASSCODE","emailPassCodePayload":{"email":"a@b.co","passCode":123456}}`, "emailPassCodePayload.passCode", 400},
		{"reset bad enum", "/api/v3/reset-password", `{"password":"x","passwordResetToken":"y","passwordEncryptType":"aes"}`, "passwordEncryptType", 400},
		{"reset no token", "/api/v3/reset-password", `{"password":"long enough pw"}`, "passwordResetToken", 400},
		{"signup no connection", "/api/v3/signup", `{}`, "connection", 400},
		{"signin bad connection", "/api/v3/signin", `{"connection":"MAGIC"}`, "connection", 400},
		{"too large", "/api/v3/send-email", `{"email":"` + strings.Repeat("a", 1<<20) + `"}`, "1 MiB", 413},
		{"null body", "/api/v3/send-email", `null`, "JSON object", 400},
		{"ends early", "/api/v3/signin", `{"connection":"PASSWORD","options":{"autoRegister":fa`, "ends early", 400},
		{"lone surrogate", "/api/v3/send-email", `{"email":"\ud800@b.co","channel":"CHANNEL_LOGIN"}`, "email: is not valid UTF-8", 400},
		{"deep nesting", "/api/v3/signup", `{"connection":"PASSWORD","profile":{"customData":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`, "profile.customData", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Post(c.path, c.body)
			if r.StatusCode != c.status || r.HTTPStatus != 200 || !strings.Contains(r.Message, c.field) || r.RequestID == "" || len(r.Message) > 300 {
				t.Errorf("%s → HTTP %d %s", c.body[:min(len(c.body), 80)], r.HTTPStatus, r.Raw[:min(len(r.Raw), 300)])
			}
		})
	}
	if r := env.Do("GET", "/api/v3/send-email", nil); r.StatusCode != 404 || !strings.Contains(r.Message, "takes POST") {
		t.Errorf("GET of a POST endpoint: %s", r.Raw)
	}
	if r := env.Post("/api/v3/send-email", `{"email":"a@b.co","channel":"CHANNEL_LOGIN"}`, "Content-Encoding", "gzip"); r.StatusCode != 400 || !strings.Contains(r.Message, "Content-Encoding") {
		t.Errorf("a compressed body: %s", r.Raw)
	}
	if n, _, err := env.Server.Store.OutboxStats(t.Context()); err != nil || n != 0 {
		t.Fatalf("bad input queued %d messages (%v)", n, err)
	}
	// No app header, unknown app.
	for _, app := range []string{"", "no-such-app"} {
		r := env.Do("GET", "/api/v3/system", nil, "x-authing-app-id", app)
		if r.StatusCode != 400 || r.APICode != 40001 {
			t.Errorf("app %q: %s", app, r.Raw)
		}
	}
}

// The per-IP limit applies to the code, verify, sign-in and reset endpoints.
func TestPerIPLimit(t *testing.T) {
	// A stopped clock keeps the four requests in one minute's window; on the
	// real clock, a minute boundary between them reset the count.
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(khtest.NewClock()),
		khtest.WithConfig(func(c *config.Config) { c.RateLimitPerIP = 3 }))
	for i := 0; i < 3; i++ {
		env.Post("/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"email":"x@example.com","password":"whatever pw"}}`)
	}
	r := env.Post("/api/v3/reset-password", `{"password":"whatever pw","passwordResetToken":"x"}`)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: %s", r.Raw)
	}
	env.Do("GET", "/api/v3/system", nil).MustOK(t) // not a limited endpoint
}

// A backend that proves the app's secret (as the Node SDK does on the
// server) names each user's address in options.clientIp: the per-IP limit
// and lastIp count that address, not the backend's. Without the secret the
// option is not believed.
func TestSignInClientIPFromAProvenBackend(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(khtest.NewClock()),
		khtest.WithConfig(func(c *config.Config) { c.RateLimitPerIP = 3 }))
	env.SignUp("backend@example.com", oldPW) // one of the connection's three
	signIn := func(secret, ip string) khtest.Reply {
		body := map[string]any{"connection": "PASSWORD", "options": map[string]any{"clientIp": ip},
			"passwordPayload": map[string]any{"email": "backend@example.com", "password": oldPW}}
		if secret != "" {
			body["client_id"], body["client_secret"] = env.AppID, secret
		}
		return env.Post("/api/v3/signin", body)
	}
	for i := range 5 {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		access := signIn(env.AppSecret, ip).MustOK(t).Str("access_token")
		if p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t); p.Data["lastIp"] != ip {
			t.Fatalf("lastIp %v, want %s", p.Data["lastIp"], ip)
		}
	}
	if r := signIn(env.AppSecret, "fe80::1%eth0"); r.StatusCode != 400 || !strings.HasPrefix(r.Message, "options.clientIp") {
		t.Fatalf("a bad clientIp: %s", r.Raw)
	}
	// Unproven: not believed. The connection has used two of its three
	// (the sign-up and the bad clientIp), so the next is its third, and
	// lastIp is the connection's; the one after is over the limit.
	access := signIn("", "203.0.113.99").MustOK(t).Str("access_token")
	if p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t); p.Data["lastIp"] == "203.0.113.99" {
		t.Fatal("clientIp without the app's secret was believed for lastIp")
	}
	if r := signIn("", "203.0.113.98"); r.StatusCode != 429 {
		t.Fatalf("clientIp without the app's secret was believed for the limit: %s", r.Raw)
	}
}

// An IPv6 holder is usually given a whole /64: the limit counts the prefix,
// or every address of it would have a budget of its own. IPv4 addresses,
// mapped or not, still count one by one.
func TestPerIPLimitCountsIPv6By64(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(khtest.NewClock()),
		khtest.WithConfig(func(c *config.Config) {
			c.RateLimitPerIP = 3
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}))
	from := func(client string) khtest.Reply {
		return env.Post("/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"email":"x@example.com","password":"whatever pw"}}`,
			"X-Forwarded-For", client)
	}
	for _, client := range []string{"2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3"} {
		if r := from(client); r.StatusCode == 429 {
			t.Fatalf("%s limited early: %s", client, r.Raw)
		}
	}
	if r := from("2001:db8:0:1:abcd::4"); r.StatusCode != 429 {
		t.Fatalf("4th request from the same /64: %s", r.Raw)
	}
	if r := from("2001:db8:0:2::1"); r.StatusCode == 429 {
		t.Fatalf("the next /64 shares the budget: %s", r.Raw)
	}
	for range 3 {
		from("192.0.2.1")
	}
	if r := from("::ffff:192.0.2.1"); r.StatusCode != 429 {
		t.Fatalf("4th request from 192.0.2.1, mapped: %s", r.Raw)
	}
	if r := from("192.0.2.2"); r.StatusCode == 429 {
		t.Fatalf("IPv4 neighbours share the budget: %s", r.Raw)
	}
}

func mustJSON(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := jsonUnmarshal(bytes.TrimSpace(raw), v); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// SMS pumping: the server's texts an hour are capped (codes asked for an
// unknown number count as any other, so the cap says nothing of accounts),
// and an operator may limit the regions texted.
func TestSMSBudgetAndRegions(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock), khtest.WithConfig(func(c *config.Config) {
		c.SMSHourlyCap, c.SMSRegions = 3, []string{"CN"}
	}))
	send := func(number, cc, channel string) khtest.Reply {
		return env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": number, "phoneCountryCode": cc, "channel": channel})
	}
	if r := send("2015550123", "+1", "CHANNEL_REGISTER"); r.StatusCode != 400 || !strings.Contains(r.Message, "phoneNumber") {
		t.Fatalf("a number outside the regions: %s", r.Raw)
	}
	send("13900139001", "", "CHANNEL_REGISTER").MustOK(t)
	send("13900139002", "+86", "CHANNEL_RESET_PASSWORD").MustOK(t) // nobody's: not texted, but counted
	send("13900139003", "", "CHANNEL_REGISTER").MustOK(t)
	if r := send("13900139004", "", "CHANNEL_REGISTER"); r.StatusCode != 429 {
		t.Fatalf("past the hourly budget: %s", r.Raw)
	}
	if r := env.Post("/api/v3/send-email", map[string]any{"email": "still@example.com", "channel": "CHANNEL_REGISTER"}); r.StatusCode != 200 {
		t.Fatalf("email is not in the SMS budget: %s", r.Raw)
	}
	clock.Advance(2 * time.Hour)
	send("13900139004", "", "CHANNEL_REGISTER").MustOK(t)
}

// A bad country code is told as such, not as a bad number.
func TestBadCountryCodeIsNamed(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	for _, cc := range []string{"+ 86", "99999", "-86", "+999"} {
		r := env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "13800138000", "phoneCountryCode": cc, "channel": "CHANNEL_REGISTER"})
		if r.StatusCode != 400 || !strings.Contains(r.Message, "country code") {
			t.Errorf("%q: %s", cc, r.Raw)
		}
	}
	if r := env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "+1 201 555 0123", "phoneCountryCode": "+86", "channel": "CHANNEL_REGISTER"}); r.StatusCode != 400 || !strings.Contains(r.Message, "other than") {
		t.Errorf("a number and a country code that disagree: %s", r.Raw)
	}
	env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "13800138000", "phoneCountryCode": "+86", "channel": "CHANNEL_REGISTER"}).MustOK(t)
	env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": "+8613800138001", "phoneCountryCode": "+86", "channel": "CHANNEL_REGISTER"}).MustOK(t)
}
