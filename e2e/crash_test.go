package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// kill -9 right after a reset: the new password, the keys and the queued
// "password changed" notice all survive the restart.
func TestCrashAfterResetLosesNothing(t *testing.T) {
	mail := mailsink.Start(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "k.db")
	p := StartProc(t, "KEYHAVEN_DATABASE_URL="+db, "KEYHAVEN_SMTP_URL="+mail.URL())
	keysBefore := p.MustCall("GET", "/api/v3/system", nil).Raw
	r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "crash@example.com", "password": "before the crash 1"}})
	if r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	p.MustCall("POST", "/api/v3/send-email", map[string]any{"email": "crash@example.com", "channel": "CHANNEL_RESET_PASSWORD"})
	code := mail.WaitFor(t, "crash@example.com", 10*time.Second).Code()
	v := p.MustCall("POST", "/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": "crash@example.com", "passCode": code}})
	tok, _ := v.Data["passwordResetToken"].(string)
	// Make delivery fail so the notice is still queued when the process dies.
	mail.SetFailures(1000)
	r = p.MustCall("POST", "/api/v3/reset-password", map[string]any{"password": "after the crash 2", "passwordResetToken": tok})
	if r.StatusCode != 200 {
		t.Fatalf("reset: %s", r.Raw)
	}
	p.Kill9()
	mail.SetFailures(0)
	p.Restart()
	if keysAfter := p.MustCall("GET", "/api/v3/system", nil).Raw; !sameKeys(keysBefore, keysAfter) {
		t.Fatalf("keys changed across the crash")
	}
	in := p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "crash@example.com", "password": "after the crash 2"}})
	if in.StatusCode != 200 {
		t.Fatalf("new password lost: %s", in.Raw)
	}
	notice := mail.WaitFor(t, "crash@example.com", 30*time.Second)
	if !strings.Contains(strings.ToLower(notice.Text), "password") {
		t.Fatalf("queued notice lost or wrong: %q", notice.Text)
	}
}

func sameKeys(a, b []byte) bool {
	cut := func(s string) string {
		i := strings.Index(s, `"requestId"`)
		if i < 0 {
			return s
		}
		return s[:i]
	}
	return cut(string(a)) == cut(string(b))
}
