package authentication_test

// These tests start the real Keyhaven server in-process on loopback (real
// HTTP, a real SQLite file, real SMTP into a sink, the SMS webhook into a
// sink) and drive it only through the SDK; the internal packages are used
// solely to start the server, seed accounts and read its keys.

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
	"github.com/keyhaven/keyhaven/sdk/authentication"
)

const (
	srvOldPW = "correct horse battery"
	srvNewPW = "staple orbit velvet 42"
	// sinkWait bounds every wait for a mail or SMS.
	sinkWait = 10 * time.Second
)

var encryptTypes = []authentication.PasswordEncryptType{
	authentication.PasswordEncryptTypeNone,
	authentication.PasswordEncryptTypeRSA,
	authentication.PasswordEncryptTypeSM2,
}

// newClient returns a client of env's bootstrap application.
func newClient(t *testing.T, env *khtest.Env, opts ...func(*authentication.AuthenticationClientOptions)) *authentication.AuthenticationClient {
	t.Helper()
	o := authentication.AuthenticationClientOptions{AppID: env.AppID, AppSecret: env.AppSecret, AppHost: env.URL}
	for _, f := range opts {
		f(&o)
	}
	c, err := authentication.NewAuthenticationClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantAPIError checks that err is an envelope refusal with this statusCode
// and apiCode, a message and a request id, and returns it.
func wantAPIError(t *testing.T, err error, status, apiCode int) *authentication.Error {
	t.Helper()
	var e *authentication.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *authentication.Error (statusCode %d, apiCode %d), got %v", status, apiCode, err)
	}
	if e.StatusCode != status || e.APICode != apiCode || e.Message == "" || e.RequestID == "" || e.OAuthError != "" {
		t.Fatalf("want statusCode %d apiCode %d with message and requestId, got %+v", status, apiCode, *e)
	}
	return e
}

// wantOAuthError checks that err is an /oidc refusal with this HTTP status
// and OAuth error code.
func wantOAuthError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *authentication.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *authentication.Error (HTTP %d %s), got %v", status, code, err)
	}
	if e.StatusCode != status || e.OAuthError != code || e.RequestID == "" {
		t.Fatalf("want HTTP %d %s with requestId, got %+v", status, code, *e)
	}
}

// mailCode waits for the next mail to addr that carries a code, skipping
// notices ("your password was changed"). Unlike env.CodeFor it fails the
// calling (sub)test.
func mailCode(t *testing.T, env *khtest.Env, addr string) string {
	t.Helper()
	deadline := time.Now().Add(sinkWait)
	for time.Now().Before(deadline) {
		if c := env.Mail.WaitFor(t, addr, time.Until(deadline)).Code(); c != "" {
			return c
		}
	}
	t.Fatalf("no code reached %s", addr)
	return ""
}

// smsCode waits for the next SMS to number on channel and returns its code.
func smsCode(t *testing.T, env *khtest.Env, number string, channel authentication.Channel) string {
	t.Helper()
	m := env.SMS.WaitFor(t, number, sinkWait)
	if m.Channel != string(channel) || len(m.Code) != 6 {
		t.Fatalf("SMS to %s: channel %q code %q, want channel %s and 6 digits", number, m.Channel, m.Code, channel)
	}
	return m.Code
}

// otherCode returns a well-formed code that differs from code.
func otherCode(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string(rune('0'+(last-'0'+1)%10))
}

func encrypt(t *testing.T, c *authentication.AuthenticationClient, pw string, typ authentication.PasswordEncryptType) string {
	t.Helper()
	enc, err := c.EncryptPassword(t.Context(), pw, typ)
	if err != nil {
		t.Fatalf("EncryptPassword(%s): %v", typ, err)
	}
	if (typ == authentication.PasswordEncryptTypeNone) != (enc == pw) {
		t.Fatalf("EncryptPassword(%s) = %q", typ, enc)
	}
	return enc
}

func signUp(t *testing.T, c *authentication.AuthenticationClient, email, pw string) authentication.UserDto {
	t.Helper()
	r, err := c.SignUpByEmailPassword(t.Context(), &authentication.SignUpByEmailPasswordParams{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("SignUpByEmailPassword(%s): %v", email, err)
	}
	if r.StatusCode != 200 || r.Data.UserID == "" || !strings.EqualFold(r.Data.Email, email) {
		t.Fatalf("SignUpByEmailPassword(%s) = %+v", email, r)
	}
	return r.Data
}

func signIn(t *testing.T, c *authentication.AuthenticationClient, email, pw string) authentication.LoginTokenResponseDataDto {
	t.Helper()
	r, err := c.SignInByEmailPassword(t.Context(), &authentication.SignInByEmailPasswordParams{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("SignInByEmailPassword(%s): %v", email, err)
	}
	d := r.Data
	if d.AccessToken == "" || d.RefreshToken == "" || d.IDToken == "" || d.TokenType != "Bearer" || d.ExpireIn <= 0 {
		t.Fatalf("SignInByEmailPassword(%s) data = %+v", email, d)
	}
	return d
}

// resetTokenByEmail mails a reset code to email and trades it for a token,
// through c.
func resetTokenByEmail(t *testing.T, env *khtest.Env, c *authentication.AuthenticationClient, email string) string {
	t.Helper()
	ctx := t.Context()
	if _, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: authentication.ChannelResetPassword}); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
		VerifyMethod:         authentication.VerifyMethodEmailPassCode,
		EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: email, PassCode: mailCode(t, env, email)},
	})
	if err != nil {
		t.Fatalf("VerifyResetPasswordRequest: %v", err)
	}
	return v.Data.PasswordResetToken
}

// resetByEmail runs the whole forgot-password flow through c.
func resetByEmail(t *testing.T, env *khtest.Env, c *authentication.AuthenticationClient, email, pw string, typ authentication.PasswordEncryptType) {
	t.Helper()
	tok := resetTokenByEmail(t, env, c, email)
	r, err := c.ResetPassword(t.Context(), &authentication.ResetPasswordDto{
		Password: encrypt(t, c, pw, typ), PasswordResetToken: tok, PasswordEncryptType: typ})
	if err != nil || !r.Data.Success {
		t.Fatalf("ResetPassword: %+v, %v", r, err)
	}
}

// The forgot-password flow of the package example, with each transport
// encryption: sign up, email a code, trade it for a token, reset, sign in.
func TestServerResetPasswordByEmail(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	for _, typ := range encryptTypes {
		t.Run(string(typ), func(t *testing.T) {
			ctx := t.Context()
			c := newClient(t, env)
			email := "reset-" + string(typ) + "@example.com"
			withType := &authentication.SignInOptionsDto{PasswordEncryptType: typ}
			signInWith := func(pw string) (*authentication.LoginTokenRespDto, error) {
				return c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{
					Email: email, Password: encrypt(t, c, pw, typ), Options: withType})
			}

			su, err := c.SignUpByEmailPassword(ctx, &authentication.SignUpByEmailPasswordParams{
				Email: email, Password: encrypt(t, c, srvOldPW, typ),
				Options: &authentication.SignUpOptionsDto{PasswordEncryptType: typ}})
			if err != nil || su.Data.Email != email || su.Data.UserID == "" {
				t.Fatalf("SignUpByEmailPassword: %+v, %v", su, err)
			}
			if _, err := signInWith(srvOldPW); err != nil {
				t.Fatalf("sign-in before the reset: %v", err)
			}

			sent, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: authentication.ChannelResetPassword})
			if err != nil || sent.StatusCode != 200 {
				t.Fatalf("SendEmail: %+v, %v", sent, err)
			}
			v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
				VerifyMethod:         authentication.VerifyMethodEmailPassCode,
				EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: email, PassCode: mailCode(t, env, email)},
			})
			if err != nil {
				t.Fatalf("VerifyResetPasswordRequest: %v", err)
			}
			tok := v.Data.PasswordResetToken
			if len(tok) < 32 || v.Data.TokenExpiresIn != 900 {
				t.Fatalf("VerifyResetPasswordRequest data = %+v, want a token valid 900 s", v.Data)
			}

			r, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{
				Password: encrypt(t, c, srvNewPW, typ), PasswordResetToken: tok, PasswordEncryptType: typ})
			if err != nil || r.StatusCode != 200 || !r.Data.Success {
				t.Fatalf("ResetPassword: %+v, %v", r, err)
			}

			if res, err := signInWith(srvNewPW); err != nil || res.Data.AccessToken == "" {
				t.Fatalf("sign-in with the new password: %+v, %v", res, err)
			}
			_, err = signInWith(srvOldPW)
			wantAPIError(t, err, 401, apierr.CodeBadCredentials)

			_, err = c.ResetPassword(ctx, &authentication.ResetPasswordDto{
				Password: encrypt(t, c, "another fine phrase 7", typ), PasswordResetToken: tok, PasswordEncryptType: typ})
			wantAPIError(t, err, 400, apierr.CodeResetTokenInvalid)
		})
	}
}

// The same flow by SMS for an account that has only a phone number.
func TestServerResetPasswordByPhone(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	ctx := t.Context()
	const phone = "13800138000"
	if _, err := env.Server.Accounts.CreateUser(ctx, "", phone, "", srvOldPW); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	signInWith := func(pw string) (*authentication.LoginTokenRespDto, error) {
		return c.SignInByPhonePassword(ctx, &authentication.SignInByPhonePasswordParams{Phone: phone, Password: pw})
	}
	if _, err := signInWith(srvOldPW); err != nil {
		t.Fatalf("sign-in before the reset: %v", err)
	}

	if _, err := c.SendSms(ctx, &authentication.SendSMSDto{
		PhoneNumber: phone, PhoneCountryCode: "+86", Channel: authentication.ChannelResetPassword}); err != nil {
		t.Fatalf("SendSms: %v", err)
	}
	code := smsCode(t, env, phone, authentication.ChannelResetPassword)
	v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
		VerifyMethod: authentication.VerifyMethodPhonePassCode,
		PhonePassCodePayload: &authentication.ResetPasswordByPhonePassCodeDto{
			PhoneNumber: phone, PassCode: code, PhoneCountryCode: "+86"},
	})
	if err != nil || v.Data.PasswordResetToken == "" || v.Data.TokenExpiresIn != 900 {
		t.Fatalf("VerifyResetPasswordRequest: %+v, %v", v, err)
	}
	r, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{
		Password:            encrypt(t, c, srvNewPW, authentication.PasswordEncryptTypeSM2),
		PasswordResetToken:  v.Data.PasswordResetToken,
		PasswordEncryptType: authentication.PasswordEncryptTypeSM2,
	})
	if err != nil || !r.Data.Success {
		t.Fatalf("ResetPassword: %+v, %v", r, err)
	}
	if res, err := signInWith(srvNewPW); err != nil || res.Data.AccessToken == "" {
		t.Fatalf("sign-in with the new password: %+v, %v", res, err)
	}
	_, err = signInWith(srvOldPW)
	wantAPIError(t, err, 401, apierr.CodeBadCredentials)
}

// GET /api/v3/system carries the keys at the top level and in data, and
// what EncryptPassword makes of them the server decrypts.
func TestServerSystemInfo(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	ctx := t.Context()
	c := newClient(t, env)

	si, err := c.GetSystemInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.StatusCode != 200 || si.Data == nil || si.RSA.PublicKey == "" || si.SM2.PublicKey == "" ||
		si.Data.RSA != si.RSA || si.Data.SM2 != si.SM2 || si.Version.Server == "" || si.PublicIPs == nil {
		t.Fatalf("GetSystemInfo = %+v (data %+v)", si, si.Data)
	}
	if !strings.HasPrefix(si.RSA.PublicKey, "-----BEGIN PUBLIC KEY-----") || len(si.SM2.PublicKey) != 130 || !strings.HasPrefix(si.SM2.PublicKey, "04") {
		t.Errorf("key formats: rsa %.40q, sm2 %q", si.RSA.PublicKey, si.SM2.PublicKey)
	}

	// The SDK copies between the two forms, so check that the server
	// itself sends both.
	raw := rawSystemInfo(t, env)
	if raw.RSA.PublicKey != si.RSA.PublicKey || raw.SM2.PublicKey != si.SM2.PublicKey || raw.Data == nil ||
		raw.Data.RSA != raw.RSA || raw.Data.SM2 != raw.SM2 || raw.Data.Version != raw.Version {
		t.Errorf("server reply: top level %+v %+v, data %+v", raw.RSA, raw.SM2, raw.Data)
	}

	// EncryptPassword uses these keys: the server's own key ring decrypts
	// its output (BMP and non-BMP characters alike), and each call is
	// freshly randomised.
	for _, typ := range []authentication.PasswordEncryptType{authentication.PasswordEncryptTypeRSA, authentication.PasswordEncryptTypeSM2} {
		for _, pw := range []string{"correct horse battery", "pässwörd 密码 🔑"} {
			a, b := encrypt(t, c, pw, typ), encrypt(t, c, pw, typ)
			if a == b {
				t.Errorf("%s: two encryptions of %q are equal", typ, pw)
			}
			got, err := env.Server.Keys.Transport.Decrypt(string(typ), a)
			if err != nil || got != pw {
				t.Errorf("%s: server decrypts %q to %q, %v", typ, pw, got, err)
			}
		}
	}
}

// rawSystemInfo reads GET /api/v3/system without the SDK.
func rawSystemInfo(t *testing.T, env *khtest.Env) authentication.SystemInfoResp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+"/api/v3/system", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-authing-app-id", env.AppID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out authentication.SystemInfoResp
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.StatusCode != 200 {
		t.Fatalf("GET /api/v3/system: HTTP %d, %+v, %v", resp.StatusCode, out, err)
	}
	return out
}

// Refusals reach the caller as *authentication.Error with the server's
// statusCode, apiCode, message and request id.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	ctx := t.Context()
	c := newClient(t, env)
	const email = "errors@example.com"
	signUp(t, c, email, srvOldPW)

	t.Run("wrong code", func(t *testing.T) {
		if _, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: authentication.ChannelResetPassword}); err != nil {
			t.Fatal(err)
		}
		code := mailCode(t, env, email)
		verify := func(code string) (*authentication.PasswordResetVerifyResp, error) {
			return c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
				VerifyMethod:         authentication.VerifyMethodEmailPassCode,
				EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: email, PassCode: code},
			})
		}
		r, err := verify(otherCode(code))
		e := wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
		if !strings.Contains(e.Message, "tries left") {
			t.Errorf("wrong code message %q does not say how many tries are left", e.Message)
		}
		// The decoded envelope comes back next to the error.
		if r == nil || r.StatusCode != 400 || r.APICode != e.APICode || r.RequestID != e.RequestID {
			t.Errorf("reply next to the error: %+v", r)
		}
		// One wrong try does not kill the code.
		if v, err := verify(code); err != nil || v.Data.PasswordResetToken == "" {
			t.Fatalf("right code after a wrong one: %+v, %v", v, err)
		}
		_, err = verify(code)
		wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
	})

	t.Run("one code a minute", func(t *testing.T) {
		// "wrong code" above sent one this minute.
		send := func() error {
			_, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: authentication.ChannelResetPassword})
			return err
		}
		wantAPIError(t, send(), 429, apierr.CodeCodeThrottled)
		clock.Advance(61 * time.Second)
		if err := send(); err != nil {
			t.Fatalf("SendEmail a minute later: %v", err)
		}
		mailCode(t, env, email)
	})

	t.Run("unknown app", func(t *testing.T) {
		nope := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.AppID = "nope" })
		_, err := nope.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: authentication.ChannelResetPassword})
		wantAPIError(t, err, 400, apierr.CodeAppUnknown)
		_, err = nope.GetSystemInfo(ctx)
		wantAPIError(t, err, 400, apierr.CodeAppUnknown)
		// EncryptPassword wraps the refusal of its key fetch.
		_, err = nope.EncryptPassword(ctx, srvNewPW, authentication.PasswordEncryptTypeRSA)
		wantAPIError(t, err, 400, apierr.CodeAppUnknown)
	})

	t.Run("no token", func(t *testing.T) {
		_, err := c.GetProfile(ctx, nil)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		bad := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.AccessToken = "not.a.token" })
		_, err = bad.GetProfile(ctx, nil)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
	})

	t.Run("bad client secret", func(t *testing.T) {
		for _, m := range []string{authentication.AuthMethodClientSecretPost, authentication.AuthMethodClientSecretBasic} {
			bad := newClient(t, env, func(o *authentication.AuthenticationClientOptions) {
				o.AppSecret, o.TokenEndPointAuthMethod = "wrong-secret", m
			})
			_, err := bad.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: email, Password: srvOldPW})
			wantAPIError(t, err, 401, apierr.CodeBadClient)
			_, err = bad.GetNewAccessTokenByRefreshToken(ctx, "whatever")
			wantOAuthError(t, err, 401, "invalid_client")
		}
	})

	t.Run("expired or unknown reset token", func(t *testing.T) {
		// As in ExampleError.
		_, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{Password: srvNewPW, PasswordResetToken: "an-expired-token"})
		wantAPIError(t, err, 400, apierr.CodeResetTokenInvalid)
	})

	t.Run("undecryptable password", func(t *testing.T) {
		const garbage = "bm90IGEgY2lwaGVydGV4dA=="
		// Reset answers it for what it is, once the token checked out...
		const u2 = "undecryptable@example.com"
		signUp(t, c, u2, srvOldPW)
		if _, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: u2, Channel: authentication.ChannelResetPassword}); err != nil {
			t.Fatal(err)
		}
		v, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
			VerifyMethod:         authentication.VerifyMethodEmailPassCode,
			EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: u2, PassCode: mailCode(t, env, u2)},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ResetPassword(ctx, &authentication.ResetPasswordDto{Password: garbage,
			PasswordResetToken: v.Data.PasswordResetToken, PasswordEncryptType: authentication.PasswordEncryptTypeRSA})
		wantAPIError(t, err, 400, apierr.CodeDecryptFailed)
		// So do sign-up and update-password...
		_, err = c.SignUpByEmailPassword(ctx, &authentication.SignUpByEmailPasswordParams{Email: "undecryptable-2@example.com",
			Password: garbage, Options: &authentication.SignUpOptionsDto{PasswordEncryptType: authentication.PasswordEncryptTypeSM2}})
		wantAPIError(t, err, 400, apierr.CodeDecryptFailed)
		s := signIn(t, c, u2, srvOldPW)
		sc := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.AccessToken = s.AccessToken })
		_, err = sc.UpdatePassword(ctx, &authentication.UpdatePasswordDto{NewPassword: garbage, OldPassword: garbage,
			PasswordEncryptType: authentication.PasswordEncryptTypeRSA})
		wantAPIError(t, err, 400, apierr.CodeDecryptFailed)
		// ...while sign-in answers exactly as for a wrong password, so that
		// it is no decryption oracle.
		_, err = c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: u2, Password: garbage,
			Options: &authentication.SignInOptionsDto{PasswordEncryptType: authentication.PasswordEncryptTypeRSA}})
		wantAPIError(t, err, 401, apierr.CodeBadCredentials)
	})

	// Input the SDK's types let through but the server refuses: 400 and a
	// message naming the field.
	bad := []struct {
		name, field string
		call        func() error
	}{
		{"sign-up email", "passwordPayload.email", func() error {
			_, err := c.SignUpByEmailPassword(ctx, &authentication.SignUpByEmailPasswordParams{Email: "not-an-email", Password: srvOldPW})
			return err
		}},
		{"send-email email", "email", func() error {
			_, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: "not-an-email", Channel: authentication.ChannelResetPassword})
			return err
		}},
		{"send-email channel", "channel", func() error {
			_, err := c.SendEmail(ctx, &authentication.SendEmailDto{Email: email, Channel: "CHANNEL_NOPE"})
			return err
		}},
		{"send-sms channel for email only", "channel", func() error {
			_, err := c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: "13800138001", Channel: authentication.ChannelBindEmail})
			return err
		}},
		{"send-sms phone", "phoneNumber", func() error {
			_, err := c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: "12", Channel: authentication.ChannelResetPassword})
			return err
		}},
		{"verify method", "verifyMethod", func() error {
			_, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{VerifyMethod: authentication.VerifyMethodPassword})
			return err
		}},
		{"verify payload missing", "emailPassCodePayload", func() error {
			_, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{VerifyMethod: authentication.VerifyMethodEmailPassCode})
			return err
		}},
		{"verify code format", "emailPassCodePayload.passCode", func() error {
			_, err := c.VerifyResetPasswordRequest(ctx, &authentication.VerifyResetPasswordRequestDto{
				VerifyMethod:         authentication.VerifyMethodEmailPassCode,
				EmailPassCodePayload: &authentication.ResetPasswordByEmailPassCodeDto{Email: email, PassCode: "12ab"}})
			return err
		}},
		{"reset encrypt type", "passwordEncryptType", func() error {
			_, err := c.ResetPassword(ctx, &authentication.ResetPasswordDto{Password: srvNewPW, PasswordResetToken: "x", PasswordEncryptType: "aes"})
			return err
		}},
		{"sign-in encrypt type", "options.passwordEncryptType", func() error {
			_, err := c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: email, Password: srvOldPW,
				Options: &authentication.SignInOptionsDto{PasswordEncryptType: "aes"}})
			return err
		}},
		{"sign-up gender", "profile.gender", func() error {
			_, err := c.SignUpByEmailPassword(ctx, &authentication.SignUpByEmailPasswordParams{Email: "gender@example.com", Password: srvOldPW,
				Profile: &authentication.SignUpProfileDto{Gender: "X"}})
			return err
		}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			e := wantAPIError(t, b.call(), 400, apierr.CodeBadRequest)
			if !strings.HasPrefix(e.Message, b.field+":") {
				t.Errorf("message %q does not name %s", e.Message, b.field)
			}
		})
	}
}

// Sign-in, profile, refresh (with rotation and replay detection),
// introspection, revocation and logout, under each client authentication
// method.
func TestServerProfileAndTokens(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	const email = "tokens@example.com"
	user := signUp(t, newClient(t, env), email, srvOldPW)

	for _, m := range []string{authentication.AuthMethodClientSecretPost, authentication.AuthMethodClientSecretBasic, authentication.AuthMethodNone} {
		t.Run(m, func(t *testing.T) {
			ctx := t.Context()
			c := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.TokenEndPointAuthMethod = m })
			if m == authentication.AuthMethodNone {
				// Every app is confidential until the operator marks it
				// public: without the secret the refresh is refused.
				s := signIn(t, c, email, srvOldPW)
				var e *authentication.Error
				if _, err := c.GetNewAccessTokenByRefreshToken(ctx, s.RefreshToken); !errors.As(err, &e) || e.OAuthError != "invalid_client" {
					t.Fatalf("refresh without a secret, confidential app: %v, want invalid_client", err)
				}
				if err := env.Server.Store.SetAppPublic(ctx, env.AppID, true); err != nil {
					t.Fatal(err)
				}
			}
			active := func(tok string) bool {
				t.Helper()
				info, err := c.IntrospectToken(ctx, tok)
				if err != nil {
					t.Fatalf("IntrospectToken: %v", err)
				}
				if info.Active && (info.Sub != user.UserID || info.ClientID != env.AppID || info.Exp <= time.Now().Unix()) {
					t.Errorf("IntrospectToken = %+v, want sub %s client_id %s", info, user.UserID, env.AppID)
				}
				return info.Active
			}
			profile := func(tok string) error {
				t.Helper()
				c.SetAccessToken(tok)
				defer c.SetAccessToken("")
				p, err := c.GetProfile(ctx, &authentication.GetProfileParams{WithCustomData: true})
				if err == nil && (p.Data.Email != email || p.Data.UserID != user.UserID) {
					t.Errorf("GetProfile data = %+v, want %s", p.Data, email)
				}
				return err
			}

			// Rotation: the refresh answers new tokens, both work, the old
			// refresh token does not.
			s := signIn(t, c, email, srvOldPW)
			if err := profile(s.AccessToken); err != nil {
				t.Fatalf("GetProfile: %v", err)
			}
			ts, err := c.GetNewAccessTokenByRefreshToken(ctx, s.RefreshToken)
			if err != nil {
				t.Fatalf("GetNewAccessTokenByRefreshToken: %v", err)
			}
			if ts.AccessToken == "" || ts.AccessToken == s.AccessToken || ts.RefreshToken == "" || ts.RefreshToken == s.RefreshToken ||
				ts.TokenType != "Bearer" || ts.ExpiresIn <= 0 {
				t.Fatalf("refreshed tokens = %+v", ts)
			}
			if !active(ts.AccessToken) {
				t.Fatal("refreshed access token is not active")
			}
			if err := profile(ts.AccessToken); err != nil {
				t.Fatalf("GetProfile with the refreshed token: %v", err)
			}
			_, err = c.GetNewAccessTokenByRefreshToken(ctx, s.RefreshToken)
			wantOAuthError(t, err, 400, "invalid_grant")
			// A rotated refresh token that comes back means a copy was
			// stolen: the server ends the session (RFC 9700 §4.14.2).
			if active(ts.AccessToken) {
				t.Error("session survived the replay of a rotated refresh token")
			}
			_, err = c.GetNewAccessTokenByRefreshToken(ctx, ts.RefreshToken)
			wantOAuthError(t, err, 400, "invalid_grant")

			// Revoking the access token ends its session.
			s = signIn(t, c, email, srvOldPW)
			ts, err = c.GetNewAccessTokenByRefreshToken(ctx, s.RefreshToken)
			if err != nil {
				t.Fatalf("GetNewAccessTokenByRefreshToken: %v", err)
			}
			if !active(ts.AccessToken) {
				t.Fatal("refreshed access token is not active")
			}
			if ok, err := c.RevokeToken(ctx, ts.AccessToken); err != nil || !ok {
				t.Fatalf("RevokeToken: %v, %v", ok, err)
			}
			if active(ts.AccessToken) {
				t.Error("revoked access token is still active")
			}
			wantAPIError(t, profile(ts.AccessToken), 401, apierr.CodeUnauthorized)
			_, err = c.GetNewAccessTokenByRefreshToken(ctx, ts.RefreshToken)
			wantOAuthError(t, err, 400, "invalid_grant")
			// Revoking again, or revoking nonsense, is accepted (RFC 7009).
			if ok, err := c.RevokeToken(ctx, ts.AccessToken); err != nil || !ok {
				t.Errorf("RevokeToken again: %v, %v", ok, err)
			}

			// Revoking the refresh token (as the example does) ends it too.
			s = signIn(t, c, email, srvOldPW)
			if ok, err := c.RevokeToken(ctx, s.RefreshToken); err != nil || !ok {
				t.Fatalf("RevokeToken(refresh): %v, %v", ok, err)
			}
			if active(s.AccessToken) {
				t.Error("access token active after its refresh token was revoked")
			}

			// The logout URL ends the session named by the ID token. It
			// redirects only within the server's origin: a foreign URI (as
			// in the example) gets a plain 200.
			for _, tc := range []struct {
				redirect, location string
				status             int
			}{
				{"https://app.example.com/", "", http.StatusOK},
				{env.URL + "/signed-out", env.URL + "/signed-out?state=st-1", http.StatusFound},
			} {
				s = signIn(t, c, email, srvOldPW)
				logout := c.BuildLogoutURL(authentication.LogoutParams{IDToken: s.IDToken, RedirectURI: tc.redirect, State: "st-1"})
				status, location := getNoRedirect(t, logout)
				if status != tc.status || location != tc.location {
					t.Errorf("GET %s: HTTP %d Location %q, want %d %q", logout, status, location, tc.status, tc.location)
				}
				if active(s.AccessToken) {
					t.Errorf("access token active after logout to %s", tc.redirect)
				}
			}
		})
	}
}

// getNoRedirect GETs url and returns the status and Location header without
// following a redirect.
func getNoRedirect(t *testing.T, url string) (int, string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// A reset ends every session: tokens issued before it stop working.
func TestServerResetEndsSessions(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	ctx := t.Context()
	c := newClient(t, env)
	const email = "sessions@example.com"
	signUp(t, c, email, srvOldPW)

	first := signIn(t, c, email, srvOldPW)
	second := signIn(t, c, email, srvOldPW)
	rotated, err := c.GetNewAccessTokenByRefreshToken(ctx, second.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first.AccessToken, rotated.AccessToken} {
		c.SetAccessToken(tok)
		if _, err := c.GetProfile(ctx, nil); err != nil {
			t.Fatalf("GetProfile before the reset: %v", err)
		}
	}

	resetByEmail(t, env, c, email, srvNewPW, authentication.PasswordEncryptTypeRSA)

	for _, tok := range []string{first.AccessToken, rotated.AccessToken} {
		c.SetAccessToken(tok)
		_, err := c.GetProfile(ctx, nil)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		info, err := c.IntrospectToken(ctx, tok)
		if err != nil || info.Active {
			t.Errorf("IntrospectToken after the reset: %+v, %v", info, err)
		}
	}
	for _, rt := range []string{first.RefreshToken, rotated.RefreshToken} {
		_, err := c.GetNewAccessTokenByRefreshToken(ctx, rt)
		wantOAuthError(t, err, 400, "invalid_grant")
	}

	// A new session works.
	c.SetAccessToken(signIn(t, c, email, srvNewPW).AccessToken)
	if p, err := c.GetProfile(ctx, nil); err != nil || p.Data.Email != email {
		t.Fatalf("GetProfile after signing in again: %+v, %v", p, err)
	}
}

// session is a signed-in user with its own client.
type session struct {
	c      *authentication.AuthenticationClient
	tokens authentication.LoginTokenResponseDataDto
	email  string
	phone  string
}

// newSession creates an account (admin path) with the given email and/or
// phone and signs it in through a fresh client holding its access token.
func newSession(t *testing.T, env *khtest.Env, email, phone string) *session {
	t.Helper()
	ctx := t.Context()
	if _, err := env.Server.Accounts.CreateUser(ctx, email, phone, "", srvOldPW); err != nil {
		t.Fatalf("CreateUser(%q, %q): %v", email, phone, err)
	}
	c := newClient(t, env)
	var r *authentication.LoginTokenRespDto
	var err error
	if email != "" {
		r, err = c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: email, Password: srvOldPW})
	} else {
		r, err = c.SignInByPhonePassword(ctx, &authentication.SignInByPhonePasswordParams{Phone: phone, Password: srvOldPW})
	}
	if err != nil {
		t.Fatalf("sign in %q %q: %v", email, phone, err)
	}
	c.SetAccessToken(r.Data.AccessToken)
	return &session{c: c, tokens: r.Data, email: email, phone: phone}
}

func (s *session) profile(t *testing.T) authentication.UserDto {
	t.Helper()
	p, err := s.c.GetProfile(t.Context(), nil)
	if err != nil {
		t.Fatalf("GetProfile: %v", err)
	}
	return p.Data
}

// anonymous returns a client of the same app without an access token.
func anonymous(t *testing.T, env *khtest.Env) *authentication.AuthenticationClient {
	return newClient(t, env)
}

// The user-information endpoints, each with a success and a refusal,
// through the SDK.
func TestServerUserInfo(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)

	t.Run("update-profile", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "profile@example.com", "")
		r, err := s.c.UpdateProfile(ctx, &authentication.UpdateUserProfileDto{Nickname: "Ally", Gender: authentication.GenderFemale,
			City: "Hangzhou", CustomData: map[string]string{"team": "blue"}})
		if err != nil || r.Data.Nickname != "Ally" || r.Data.Gender != authentication.GenderFemale || r.Data.City != "Hangzhou" {
			t.Fatalf("UpdateProfile: %+v, %v", r, err)
		}
		if p := s.profile(t); p.Nickname != "Ally" || p.Email != s.email {
			t.Errorf("profile after update: %+v", p)
		}
		_, err = anonymous(t, env).UpdateProfile(ctx, &authentication.UpdateUserProfileDto{Nickname: "Mallory"})
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		_, err = s.c.UpdateProfile(ctx, &authentication.UpdateUserProfileDto{Gender: "X"})
		if e := wantAPIError(t, err, 400, apierr.CodeBadRequest); !strings.HasPrefix(e.Message, "gender:") {
			t.Errorf("message %q does not name gender", e.Message)
		}
	})

	t.Run("bind-email", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "", "13800138011")
		const addr = "bound@example.com"
		if _, err := s.c.SendEmail(ctx, &authentication.SendEmailDto{Email: addr, Channel: authentication.ChannelBindEmail}); err != nil {
			t.Fatal(err)
		}
		code := mailCode(t, env, addr)
		_, err := s.c.BindEmail(ctx, &authentication.BindEmailDto{Email: addr, PassCode: otherCode(code)})
		wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
		_, err = anonymous(t, env).BindEmail(ctx, &authentication.BindEmailDto{Email: addr, PassCode: code})
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		if r, err := s.c.BindEmail(ctx, &authentication.BindEmailDto{Email: addr, PassCode: code}); err != nil || r.StatusCode != 200 {
			t.Fatalf("BindEmail: %+v, %v", r, err)
		}
		if p := s.profile(t); p.Email != addr || !p.EmailVerified {
			t.Errorf("profile after bind-email: email %q verified %v", p.Email, p.EmailVerified)
		}
		signIn(t, anonymous(t, env), addr, srvOldPW)
	})

	t.Run("unbind-email", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "unbind@example.com", "13800138012")
		if _, err := s.c.SendEmail(ctx, &authentication.SendEmailDto{Email: s.email, Channel: authentication.ChannelUnbindEmail}); err != nil {
			t.Fatal(err)
		}
		code := mailCode(t, env, s.email)
		_, err := s.c.UnbindEmail(ctx, &authentication.UnbindEmailDto{PassCode: otherCode(code)})
		wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
		if _, err := s.c.UnbindEmail(ctx, &authentication.UnbindEmailDto{PassCode: code}); err != nil {
			t.Fatalf("UnbindEmail: %v", err)
		}
		if p := s.profile(t); p.Email != "" || p.EmailVerified {
			t.Errorf("profile after unbind-email: %+v", p)
		}
		_, err = anonymous(t, env).SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: s.email, Password: srvOldPW})
		wantAPIError(t, err, 401, apierr.CodeBadCredentials)

		// An account keeps one sign-in identifier.
		only := newSession(t, env, "only-email@example.com", "")
		_, err = only.c.UnbindEmail(ctx, &authentication.UnbindEmailDto{PassCode: "123456"})
		wantAPIError(t, err, 400, apierr.CodeBadRequest)
	})

	t.Run("bind-phone", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "bind-phone@example.com", "")
		const number = "13800138013"
		if _, err := s.c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: number, PhoneCountryCode: "+86", Channel: authentication.ChannelBindPhone}); err != nil {
			t.Fatal(err)
		}
		code := smsCode(t, env, number, authentication.ChannelBindPhone)
		_, err := s.c.BindPhone(ctx, &authentication.BindPhoneDto{PhoneNumber: number, PhoneCountryCode: "+86", PassCode: otherCode(code)})
		wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
		if _, err := s.c.BindPhone(ctx, &authentication.BindPhoneDto{PhoneNumber: number, PhoneCountryCode: "+86", PassCode: code}); err != nil {
			t.Fatalf("BindPhone: %v", err)
		}
		if p := s.profile(t); p.Phone != number || p.PhoneCountryCode != "+86" || !p.PhoneVerified {
			t.Errorf("profile after bind-phone: phone %q %q verified %v", p.PhoneCountryCode, p.Phone, p.PhoneVerified)
		}
		if _, err := anonymous(t, env).SignInByPhonePassword(ctx, &authentication.SignInByPhonePasswordParams{Phone: number, Password: srvOldPW}); err != nil {
			t.Errorf("sign-in by the bound phone: %v", err)
		}
	})

	t.Run("unbind-phone", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "unbind-phone@example.com", "13800138014")
		if _, err := s.c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: s.phone, Channel: authentication.ChannelUnbindPhone}); err != nil {
			t.Fatal(err)
		}
		code := smsCode(t, env, s.phone, authentication.ChannelUnbindPhone)
		_, err := s.c.UnbindPhone(ctx, &authentication.UnbindPhoneDto{PassCode: otherCode(code)})
		wantAPIError(t, err, 400, apierr.CodeCodeInvalid)
		if _, err := s.c.UnbindPhone(ctx, &authentication.UnbindPhoneDto{PassCode: code}); err != nil {
			t.Fatalf("UnbindPhone: %v", err)
		}
		if p := s.profile(t); p.Phone != "" || p.PhoneVerified {
			t.Errorf("profile after unbind-phone: %+v", p)
		}
		only := newSession(t, env, "", "13800138015")
		_, err = only.c.UnbindPhone(ctx, &authentication.UnbindPhoneDto{PassCode: "123456"})
		wantAPIError(t, err, 400, apierr.CodeBadRequest)
	})

	t.Run("get-security-info", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "security@example.com", "")
		r, err := s.c.GetSecurityLevel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := r.Data; !d.PasswordSet || !d.EmailBinded || d.PhoneBinded || d.MfaEnrolled || d.SecurityScore <= 0 {
			t.Errorf("GetSecurityLevel = %+v", d)
		}
		_, err = anonymous(t, env).GetSecurityLevel(ctx)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
	})

	t.Run("update-password", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "update-pw@example.com", "")
		other := signIn(t, anonymous(t, env), s.email, srvOldPW)
		sm2 := authentication.PasswordEncryptTypeSM2
		_, err := s.c.UpdatePassword(ctx, &authentication.UpdatePasswordDto{NewPassword: encrypt(t, s.c, srvNewPW, sm2),
			OldPassword: encrypt(t, s.c, "not the password", sm2), PasswordEncryptType: sm2})
		wantAPIError(t, err, 400, apierr.CodeBadCredentials)
		_, err = anonymous(t, env).UpdatePassword(ctx, &authentication.UpdatePasswordDto{NewPassword: srvNewPW, OldPassword: srvOldPW})
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		if _, err := s.c.UpdatePassword(ctx, &authentication.UpdatePasswordDto{NewPassword: encrypt(t, s.c, srvNewPW, sm2),
			OldPassword: encrypt(t, s.c, srvOldPW, sm2), PasswordEncryptType: sm2}); err != nil {
			t.Fatalf("UpdatePassword: %v", err)
		}
		signIn(t, anonymous(t, env), s.email, srvNewPW)
		_, err = anonymous(t, env).SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: s.email, Password: srvOldPW})
		wantAPIError(t, err, 401, apierr.CodeBadCredentials)
		// This session stays; the others end.
		s.profile(t)
		oc := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.AccessToken = other.AccessToken })
		_, err = oc.GetProfile(ctx, nil)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
	})

	t.Run("update-email", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "old-address@example.com", "")
		const next = "new-address@example.com"
		for _, a := range []string{s.email, next} {
			if _, err := s.c.SendEmail(ctx, &authentication.SendEmailDto{Email: a, Channel: authentication.ChannelUpdateEmail}); err != nil {
				t.Fatal(err)
			}
		}
		oldCode, newCode := mailCode(t, env, s.email), mailCode(t, env, next)
		_, err := s.c.VerifyUpdateEmailRequest(ctx, &authentication.VerifyUpdateEmailRequestDto{
			VerifyMethod: authentication.VerifyMethodEmailPassCode,
			EmailPassCodePayload: authentication.UpdateEmailByEmailPassCodeDto{NewEmail: next, NewEmailPassCode: newCode,
				OldEmail: "someone-else@example.com", OldEmailPassCode: oldCode}})
		if e := wantAPIError(t, err, 400, apierr.CodeBadRequest); !strings.HasPrefix(e.Message, "emailPassCodePayload.oldEmail:") {
			t.Errorf("message %q does not name emailPassCodePayload.oldEmail", e.Message)
		}
		v, err := s.c.VerifyUpdateEmailRequest(ctx, &authentication.VerifyUpdateEmailRequestDto{
			VerifyMethod: authentication.VerifyMethodEmailPassCode,
			EmailPassCodePayload: authentication.UpdateEmailByEmailPassCodeDto{NewEmail: next, NewEmailPassCode: newCode,
				OldEmail: s.email, OldEmailPassCode: oldCode}})
		if err != nil || v.Data.UpdateEmailToken == "" || v.Data.TokenExpiresIn <= 0 {
			t.Fatalf("VerifyUpdateEmailRequest: %+v, %v", v, err)
		}
		r, err := s.c.UpdateEmail(ctx, &authentication.UpdateEmailDto{UpdateEmailToken: v.Data.UpdateEmailToken})
		if err != nil || !r.Data.Success {
			t.Fatalf("UpdateEmail: %+v, %v", r, err)
		}
		if p := s.profile(t); p.Email != next {
			t.Errorf("email after update-email: %q", p.Email)
		}
		_, err = s.c.UpdateEmail(ctx, &authentication.UpdateEmailDto{UpdateEmailToken: v.Data.UpdateEmailToken})
		wantAPIError(t, err, 400, apierr.CodeResetTokenInvalid)
	})

	t.Run("update-phone", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "update-phone@example.com", "13800138016")
		const next = "13800138017"
		if _, err := s.c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: s.phone, Channel: authentication.ChannelUnbindPhone}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.c.SendSms(ctx, &authentication.SendSMSDto{PhoneNumber: next, Channel: authentication.ChannelBindPhone}); err != nil {
			t.Fatal(err)
		}
		oldCode := smsCode(t, env, s.phone, authentication.ChannelUnbindPhone)
		newCode := smsCode(t, env, next, authentication.ChannelBindPhone)
		payload := authentication.UpdatePhoneByPhonePassCodeDto{NewPhoneNumber: next, NewPhonePassCode: newCode,
			NewPhoneCountryCode: "+86", OldPhoneNumber: "13800138099", OldPhonePassCode: oldCode, OldPhoneCountryCode: "+86"}
		_, err := s.c.VerifyUpdatePhoneRequest(ctx, &authentication.VerifyUpdatePhoneRequestDto{
			VerifyMethod: authentication.VerifyMethodPhonePassCode, PhonePassCodePayload: payload})
		if e := wantAPIError(t, err, 400, apierr.CodeBadRequest); !strings.HasPrefix(e.Message, "phonePassCodePayload.oldPhoneNumber:") {
			t.Errorf("message %q does not name phonePassCodePayload.oldPhoneNumber", e.Message)
		}
		payload.OldPhoneNumber = s.phone
		v, err := s.c.VerifyUpdatePhoneRequest(ctx, &authentication.VerifyUpdatePhoneRequestDto{
			VerifyMethod: authentication.VerifyMethodPhonePassCode, PhonePassCodePayload: payload})
		if err != nil || v.Data.UpdatePhoneToken == "" || v.Data.TokenExpiresIn <= 0 {
			t.Fatalf("VerifyUpdatePhoneRequest: %+v, %v", v, err)
		}
		r, err := s.c.UpdatePhone(ctx, &authentication.UpdatePhoneDto{UpdatePhoneToken: v.Data.UpdatePhoneToken})
		if err != nil || !r.Data.Success {
			t.Fatalf("UpdatePhone: %+v, %v", r, err)
		}
		if p := s.profile(t); p.Phone != next {
			t.Errorf("phone after update-phone: %q", p.Phone)
		}
		_, err = s.c.UpdatePhone(ctx, &authentication.UpdatePhoneDto{UpdatePhoneToken: v.Data.UpdatePhoneToken})
		wantAPIError(t, err, 400, apierr.CodeResetTokenInvalid)
	})

	t.Run("delete-account", func(t *testing.T) {
		ctx := t.Context()
		s := newSession(t, env, "delete-me@example.com", "")
		rsa := authentication.PasswordEncryptTypeRSA
		verify := func(pw string) (*authentication.VerifyDeleteAccountRequestRespDto, error) {
			return s.c.VerifyDeleteAccountRequest(ctx, &authentication.VerifyDeleteAccountRequestDto{
				VerifyMethod:    authentication.VerifyMethodPassword,
				PasswordPayload: &authentication.DeleteAccountByPasswordDto{Password: encrypt(t, s.c, pw, rsa), PasswordEncryptType: rsa}})
		}
		_, err := verify("not the password")
		wantAPIError(t, err, 400, apierr.CodeBadCredentials)
		v, err := verify(srvOldPW)
		if err != nil || v.Data.DeleteAccountToken == "" || v.Data.TokenExpiresIn <= 0 {
			t.Fatalf("VerifyDeleteAccountRequest: %+v, %v", v, err)
		}
		_, err = s.c.DeleteAccount(ctx, &authentication.DeleteAccounDto{DeleteAccountToken: v.Data.DeleteAccountToken + "x"})
		wantAPIError(t, err, 400, apierr.CodeResetTokenInvalid)
		r, err := s.c.DeleteAccount(ctx, &authentication.DeleteAccounDto{DeleteAccountToken: v.Data.DeleteAccountToken})
		if err != nil || !r.Data.Success {
			t.Fatalf("DeleteAccount: %+v, %v", r, err)
		}
		_, err = s.c.GetProfile(ctx, nil)
		wantAPIError(t, err, 401, apierr.CodeUnauthorized)
		_, err = anonymous(t, env).SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{Email: s.email, Password: srvOldPW})
		wantAPIError(t, err, 401, apierr.CodeBadCredentials)
		// The address is free again.
		signUp(t, anonymous(t, env), s.email, srvNewPW)
	})
}

// UpdatePassword with PasswordResetToken in place of OldPassword: a
// signed-in user who forgot the password proves the address instead; the
// token works once.
func TestServerUpdatePasswordWithResetToken(t *testing.T) {
	t.Parallel()
	env := khtest.Start(t, khtest.FastHash)
	ctx := t.Context()
	c := newClient(t, env)
	const email = "forgot-signed-in@example.com"
	signUp(t, c, email, srvOldPW)
	s := signIn(t, c, email, srvOldPW)
	sc := newClient(t, env, func(o *authentication.AuthenticationClientOptions) { o.AccessToken = s.AccessToken })
	tok := resetTokenByEmail(t, env, sc, email)
	update := func() error {
		_, err := sc.UpdatePassword(ctx, &authentication.UpdatePasswordDto{NewPassword: encrypt(t, c, srvNewPW, authentication.PasswordEncryptTypeSM2),
			PasswordEncryptType: authentication.PasswordEncryptTypeSM2, PasswordResetToken: tok})
		return err
	}
	if err := update(); err != nil {
		t.Fatalf("UpdatePassword with the token: %v", err)
	}
	wantAPIError(t, update(), 400, apierr.CodeResetTokenInvalid)
	signIn(t, c, email, srvNewPW)
}
