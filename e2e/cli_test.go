package e2e

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

func runCLI(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func TestCLIAdminCommandsPrintJSON(t *testing.T) {
	env := []string{"KEYHAVEN_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "cli.db"), "KEYHAVEN_LOG_LEVEL=error"}
	out, stderr, err := runCLI(t, env, "app", "create", "--name", "Shop")
	if err != nil {
		t.Fatalf("app create: %v %s", err, stderr)
	}
	var app struct {
		AppID, AppSecret, Name string
		Public                 bool
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.AppID == "" || len(app.AppSecret) < 32 || app.Name != "Shop" || app.Public {
		t.Fatalf("app create output: %q (%v)", out, err)
	}
	out, stderr, err = runCLI(t, env, "user", "create", "--email", "cli@example.com", "--password", "a fine passphrase 9")
	if err != nil {
		t.Fatalf("user create: %v %s", err, stderr)
	}
	var user map[string]string
	if err := json.Unmarshal([]byte(out), &user); err != nil || user["userId"] == "" || user["email"] != "cli@example.com" {
		t.Fatalf("user create output: %q (%v)", out, err)
	}
	// The policy applies here too, and the refusal is one clear line.
	_, stderr, err = runCLI(t, env, "user", "create", "--email", "weak@example.com", "--password", "password")
	if err == nil || !strings.Contains(stderr, "keyhaven: --password: ") {
		t.Fatalf("weak password accepted: %v %q", err, stderr)
	}
	if _, stderr, err = runCLI(t, env, "user", "create", "--email", "not-an-address", "--password", "a fine passphrase 9"); err == nil || !strings.Contains(stderr, "keyhaven: --email: ") {
		t.Fatalf("a bad address: %v %q", err, stderr)
	}
	out, _, err = runCLI(t, env, "migrate", "status")
	if err != nil || !strings.Contains(out, `"version": 1`) || !strings.Contains(out, "appliedAt") {
		t.Fatalf("migrate status: %v %q", err, out)
	}
}

// migrate status only reads; migrate up applies.
func TestCLIMigrateStatusChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fresh.db")
	env := []string{"KEYHAVEN_DATABASE_URL=sqlite://" + path}
	out, stderr, err := runCLI(t, env, "migrate", "status")
	if err != nil || strings.Contains(out, "appliedAt") || !strings.Contains(out, `"version": 1`) || !strings.Contains(stderr, "no database at") {
		t.Fatalf("status on a new database: %v %q %q", err, out, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("migrate status created the database (%v)", err)
	}
	out, _, err = runCLI(t, env, "migrate", "up")
	if err != nil || strings.Count(out, "appliedAt") != strings.Count(out, `"version"`) {
		t.Fatalf("migrate up: %v %q", err, out)
	}
}

func TestCLIBadConfigNamesTheSetting(t *testing.T) {
	for _, c := range []struct {
		env, want string
	}{
		{"KEYHAVEN_RATE_LIMIT_PER_IP=lots", "KEYHAVEN_RATE_LIMIT_PER_IP"},
		{"KEYHAVEN_DATABASE_URL=mysql://root:hunter2@db/x", "KEYHAVEN_DATABASE_URL"},
		{"KEYHAVEN_PASSWORD_HASH=md5", "KEYHAVEN_PASSWORD_HASH"},
		{"KEYHAVEN_CODE_TTL=1h", "KEYHAVEN_CODE_TTL"},
		{"KEYHAVEN_SMTP_URL=smtp://u:hunter2@mail:25?tls=maybe", "KEYHAVEN_SMTP_URL"},
	} {
		env := []string{"KEYHAVEN_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "bad.db"), c.env, "KEYHAVEN_LISTEN=127.0.0.1:0"}
		_, stderr, err := runCLI(t, env, "serve")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if err == nil || !strings.Contains(lines[len(lines)-1], c.want) || strings.Contains(stderr, "hunter2") {
			t.Errorf("%s: exit %v, stderr %q", c.env, err, stderr)
		}
	}
	_, stderr, err := runCLI(t, nil, "serve", "--listen", "nonsense")
	if err == nil || !strings.Contains(stderr, "KEYHAVEN_LISTEN") && !strings.Contains(stderr, "--listen") {
		t.Errorf("bad flag: %v %q", err, stderr)
	}
	// Every problem at once, the packages' own checks included, and
	// nothing created.
	path := filepath.Join(t.TempDir(), "all.db")
	_, stderr, err = runCLI(t, []string{"KEYHAVEN_DATABASE_URL=sqlite://" + path, "KEYHAVEN_CODE_TTL=-1m", "KEYHAVEN_PASSWORD_HASH=md5",
		"KEYHAVEN_SMTP_URL=http://x", "KEYHAVEN_SMS_WEBHOOK_URL=x"}, "serve")
	for _, want := range []string{"KEYHAVEN_CODE_TTL", "KEYHAVEN_PASSWORD_HASH", "KEYHAVEN_SMTP_URL", "KEYHAVEN_SMS_WEBHOOK_URL"} {
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("all at once: %s missing: %q", want, stderr)
		}
	}
	// A taken port stops start-up before the first run creates anything.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, stderr, err := runCLI(t, []string{"KEYHAVEN_DATABASE_URL=sqlite://" + path, "KEYHAVEN_LISTEN=" + ln.Addr().String()}, "serve")
	if err == nil || !strings.Contains(stderr, "KEYHAVEN_LISTEN") || strings.Contains(out, "secret") {
		t.Errorf("taken port: %v %q %q", err, out, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed start created the database (%v)", err)
	}
}

// An app made public with the CLI while the server runs may refresh
// without its secret at once; before that, as a confidential app, it may
// not.
func TestCLIAppUpdatePublicTakesEffectAtOnce(t *testing.T) {
	dbURL := "KEYHAVEN_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "apps.db")
	p := StartProc(t, dbURL)
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "spa@example.com", "password": "amber falcon ridge 71"}}); r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	in := p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "spa@example.com", "password": "amber falcon ridge 71"}})
	rt, _ := in.Data["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("signin: %s", in.Raw)
	}
	refresh := func(token string) (int, map[string]any) {
		t.Helper()
		return khtest.PostForm(t, p.URL+"/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {testAppID}})
	}
	if code, m := refresh(rt); code != 401 || m["error"] != "invalid_client" {
		t.Fatalf("refresh without the secret, confidential app: %d %v", code, m)
	}
	out, stderr, err := runKeyhaven(t, []string{dbURL}, "app", "update", "--id", testAppID, "--public")
	if err != nil || !strings.Contains(out, `"public": true`) {
		t.Fatalf("app update --public: %v %s %s", err, out, stderr)
	}
	if code, m := refresh(rt); code != 200 || m["refresh_token"] == nil {
		t.Fatalf("refresh without the secret, public app: %d %v", code, m)
	}
}

// Help asked for is help given: on stdout, exit 0.
func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"help", "app"}, {"app", "--help"}, {"user", "-h"}, {"help", "migrate"}} {
		out, stderr, err := runCLI(t, nil, args...)
		if err != nil || !strings.Contains(out+stderr, "sage") {
			t.Errorf("%v: %v %q %q", args, err, out, stderr)
		}
	}
	if out, _, _ := runCLI(t, nil, "help", "app"); !strings.Contains(out, "app update") {
		t.Errorf("help app: %q", out)
	}
	// A typo gets one line, not the whole list.
	if _, stderr, err := runCLI(t, nil, "serve", "--bogus"); err == nil || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "--help") {
		t.Errorf("serve --bogus: %v %q", err, stderr)
	}
}
