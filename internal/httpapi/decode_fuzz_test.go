package httpapi

import (
	"testing"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/apierr"
)

// FuzzDecodeRequest feeds arbitrary bodies to the strict decoder for every
// request type: it must never panic, and every refusal must be a 400 or 413
// envelope error whose message is valid UTF-8 (it is shown to clients).
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.co","channel":"CHANNEL_RESET_PASSWORD"}`,
		`{"verifyMethod":"EMAIL_PASSCODE","emailPassCodePayload":{"email":"a@b.co","passCode":"123456"}}`,
		`{"password":"x","passwordResetToken":"y","passwordEncryptType":"sm2"}`,
		`{"connection":"PASSWORD","passwordPayload":{"email":"a@b.co","password":"p"},"options":{"scope":"openid"}}`,
		`{"a":1,"a":2}`, `{"EMAIL":"x"}`, "{\"email\":\"\xff\"}", `[`, `{}`, `null`, `{"profile":{"customData":{"x":[1,{"y":null}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	targets := []func() any{
		func() any { return new(SendEmailDto) }, func() any { return new(SendSMSDto) },
		func() any { return new(VerifyResetPasswordRequestDto) }, func() any { return new(ResetPasswordDto) },
		func() any { return new(SignUpDto) }, func() any { return new(SigninByCredentialsDto) },
		func() any { return new(UpdateUserProfileDto) }, func() any { return new(VerifyDeleteAccountRequestDto) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newDst := range targets {
			err := decodeBytes(body, newDst())
			if err == nil {
				continue
			}
			ae, ok := apierr.As(err)
			if !ok || (ae.Status != 400 && ae.Status != 413) || !utf8.ValidString(ae.Message) {
				t.Fatalf("body %q: error %v", body, err)
			}
		}
	})
}
