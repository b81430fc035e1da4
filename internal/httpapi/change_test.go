package httpapi_test

import (
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

func TestResetTokenEndsWithACredentialChange(t *testing.T) {
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	u := signUpIn(t, env, "changer@example.com")
	// Someone with the mailbox for a while holds a reset token; the owner
	// then changes the password, which must end that token too.
	tok := env.ResetToken("changer@example.com")
	u.post("/api/v3/update-password", map[string]any{"newPassword": newPW, "oldPassword": oldPW}).MustOK(t)
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": "taken over 12345", "passwordResetToken": tok}); r.APICode != 40104 {
		t.Fatalf("a reset token from before update-password: %s", r.Raw)
	}
	env.SignIn("changer@example.com", newPW).MustOK(t)

	// The same for a token sent to an address the account no longer has.
	clock.Advance(61 * time.Second)
	tok = env.ResetToken("changer@example.com")
	code := sendEmail(t, env, "changer@example.com", "CHANNEL_UNBIND_EMAIL")
	bindPhone(t, u, "13700137000")
	u.post("/api/v3/unbind-email", map[string]any{"passCode": code}).MustOK(t)
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": "taken over 12345", "passwordResetToken": tok}); r.APICode != 40104 {
		t.Fatalf("a reset token sent to an unbound email: %s", r.Raw)
	}
}

func bindPhone(t *testing.T, u signedIn, phone string) {
	t.Helper()
	code := sendSMS(t, u.env, phone, "CHANNEL_BIND_PHONE")
	u.post("/api/v3/bind-phone", map[string]any{"phoneNumber": phone, "passCode": code}).MustOK(t)
}

func TestBindEmailTellsThePhone(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	const phone = "13600136000"
	code := sendSMS(t, env, phone, "CHANNEL_REGISTER")
	env.Post("/api/v3/signup", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"phone": phone, "passCode": code},
		"options":         map[string]any{"passwordForPhonePassCode": oldPW}}).MustOK(t)
	r := env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"phone": phone, "password": oldPW}}).MustOK(t)
	u := signedIn{env: env, access: r.Str("access_token")}
	// Whoever holds this session binds an address of their own: the phone,
	// the channel the account had, is told (NIST 6.1.2.1).
	code = sendEmail(t, env, "binder@example.com", "CHANNEL_BIND_EMAIL")
	u.post("/api/v3/bind-email", map[string]any{"email": "binder@example.com", "passCode": code}).MustOK(t)
	if m := env.SMS.WaitFor(t, phone, 10*time.Second); m.Code != "" || m.Text == "" {
		t.Fatalf("want a notice to the phone, got %+v", m)
	}
}

// update-password takes a passwordResetToken in place of oldPassword
// (GenAuth's UpdatePasswordDto): the token must be the caller's own and is
// spent with the change; other sessions end, this one stays; the new
// password follows the reset's rules.
func TestUpdatePasswordWithAResetToken(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(khtest.NewClock()))
	u := signUpIn(t, env, "forgot@example.com")
	other := env.SignIn("forgot@example.com", oldPW).MustOK(t).Str("access_token")
	env.SignUp("someone@example.com", oldPW)
	theirs := env.ResetToken("someone@example.com")
	mine := env.ResetToken("forgot@example.com")
	update := func(body map[string]any) khtest.Reply { return u.post("/api/v3/update-password", body) }

	for _, c := range []struct {
		name string
		body map[string]any
		code int
	}{
		{"another account's token", map[string]any{"newPassword": newPW, "passwordResetToken": theirs}, 40104},
		{"an unknown token", map[string]any{"newPassword": newPW, "passwordResetToken": "nope"}, 40104},
		{"both ways at once", map[string]any{"newPassword": newPW, "passwordResetToken": mine, "oldPassword": oldPW}, 40000},
		{"the current password", map[string]any{"newPassword": oldPW, "passwordResetToken": mine}, 40004},
	} {
		if r := update(c.body); r.APICode != c.code {
			t.Fatalf("%s: %s, want apiCode %d", c.name, r.Raw, c.code)
		}
	}
	// The refusals spent nothing: both tokens still work.
	update(map[string]any{"newPassword": newPW, "passwordResetToken": mine}).MustOK(t)
	if r := update(map[string]any{"newPassword": "yet another phrase 9", "passwordResetToken": mine}); r.APICode != 40104 {
		t.Fatalf("the token worked twice: %s", r.Raw)
	}
	env.SignIn("forgot@example.com", newPW).MustOK(t)
	if r := env.SignIn("forgot@example.com", oldPW); r.StatusCode != 401 {
		t.Fatalf("the old password still works: %s", r.Raw)
	}
	u.profile().MustOK(t) // this session stays
	if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", other); r.StatusCode != 401 {
		t.Fatalf("another session survived: %s", r.Raw)
	}
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": theirs}).MustOK(t)
}
