package e2e

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// TestBrowserForgotPassword walks the hosted forgot-password page in
// Debian's headless Chromium, as a person would: e2e/browser/flow.test.js
// (playwright-core, pinned in e2e/browser/package-lock.json, driving
// /usr/bin/chromium) types the address, reads the code from the mail the
// real SMTP sink caught (through a mailbox this test serves on loopback),
// types it and a new password; then this test signs in through the API
// with the new password. The script also covers a wrong code, an unknown
// address, the resend countdown and the Chinese page, and saves
// screenshots in e2e/browser/screenshots.
func TestBrowserForgotPassword(t *testing.T) {
	chromium := browserFind()
	if chromium == "" {
		needCI(t, "Chromium", "apt-get install chromium (or set KEYHAVEN_CHROMIUM)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		needCI(t, "node", "apt-get install nodejs npm")
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core", "package.json")); err != nil {
		needCI(t, "e2e/browser/node_modules", "(cd e2e/browser && npm ci)")
	}
	shots, err := filepath.Abs(filepath.Join("browser", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	mail := mailsink.Start(t)
	sms := smssink.Start(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "keyhaven.db")
	const signIn = "https://id.example.com/sign-in"
	p := StartProc(t, "KEYHAVEN_DATABASE_URL="+db, "KEYHAVEN_SMTP_URL="+mail.URL(), "KEYHAVEN_SMS_WEBHOOK_URL="+sms.URL(),
		"KEYHAVEN_PRODUCT_NAME=Acme ID", "KEYHAVEN_SIGN_IN_URL="+signIn,
		"KEYHAVEN_PASSWORD_HASH=argon2id:m=4096,t=1,p=1",
		"KEYHAVEN_SMS_HOURLY_CAP=2") // sign-up's text and the phone test's, then the budget's refusal

	const oldPassword = "Old harbour lantern 1947"
	const newPassword = "Quiet copper tides 2031"
	users := map[string]string{
		"RESET": "ann.reader@example.com", // resets her password
		"WRONG": "bob.typo@example.com",   // types a wrong code
		"WAIT":  "dan.patient@example.com",
		"ZH":    "chen.wei@example.com", // uses the Chinese page
	}
	for _, email := range users {
		r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": email, "password": oldPassword}})
		if r.StatusCode != 200 {
			t.Fatalf("signup %s: %s", email, r.Raw)
		}
	}
	// A phone-only account, signed up with a code as a phone user would.
	const phone = "13800138000"
	p.MustCall("POST", "/api/v3/send-sms", map[string]any{"phoneNumber": phone, "channel": "CHANNEL_REGISTER"})
	reg := sms.WaitFor(t, phone, 10*time.Second).Code
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSCODE",
		"passCodePayload": map[string]any{"phone": phone, "passCode": reg}}); r.StatusCode != 200 {
		t.Fatalf("signup %s: %s", phone, r.Raw)
	}
	box := httptest.NewServer(codeMailbox(mail, sms))
	t.Cleanup(box.Close)

	env := []string{"KEYHAVEN_URL=" + p.URL, "KEYHAVEN_APP_ID=" + testAppID, "MAILBOX_URL=" + box.URL,
		"SCREENSHOT_DIR=" + shots, "CHROMIUM_PATH=" + chromium, "SIGN_IN_URL=" + signIn,
		"NEW_PASSWORD=" + newPassword, "UNKNOWN_EMAIL=nobody.here@example.com", "PHONE=+86 138 0013 8000"}
	for k, v := range users {
		env = append(env, "EMAIL_"+k+"="+v)
	}
	runNode(t, node, "browser", 4*time.Minute, []string{"--test-reporter=spec", "flow.test.js"}, env)
	if t.Failed() {
		t.Logf("keyhaven output:\n%s", p.Output())
		return
	}
	// The README shows the wrong-code step: branding, a clear error and
	// the resend countdown in one picture.
	if err := browserCopy(filepath.Join(shots, "en-wrong-code.png"), filepath.Join("..", "docs", "img", "forgot-password.png")); err != nil {
		t.Errorf("README screenshot: %v", err)
	}

	// What the page did is real: the new password signs in, the old one
	// does not, and nobody else's password changed.
	signin := func(email, password string) Reply {
		return p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": email, "password": password}})
	}
	if r := signin(users["RESET"], newPassword); r.StatusCode != 200 || r.Data["access_token"] == nil {
		t.Errorf("sign-in with the password set on the page: %s", r.Raw)
	}
	if r := signin(users["RESET"], oldPassword); r.StatusCode != 401 {
		t.Errorf("the old password still signs in: %s", r.Raw)
	}
	if r := p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"phone": phone, "password": newPassword}}); r.StatusCode != 200 {
		t.Errorf("sign-in by phone with the password set on the page: %s", r.Raw)
	}
	for _, k := range []string{"WRONG", "WAIT", "ZH"} {
		if r := signin(users[k], oldPassword); r.StatusCode != 200 {
			t.Errorf("%s can no longer sign in with the old password: %s", users[k], r.Raw)
		}
	}
}

// browserCopy copies a screenshot, leaving dst alone when it is the same.
func browserCopy(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// browserFind returns the Chromium to drive: $KEYHAVEN_CHROMIUM, else
// Debian's, else "" when there is none.
func browserFind() string {
	if c := os.Getenv("KEYHAVEN_CHROMIUM"); c != "" {
		p, _ := exec.LookPath(c)
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
