package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
	"github.com/keyhaven/keyhaven/sdk/authentication"
)

// cli runs the keyhaven command line in this process, as main does, with
// env as the whole environment. The runtime knobs are marked as set so that
// serve leaves the test process's runtime alone.
func cli(ctx context.Context, env map[string]string, stdout, stderr *khtest.Logs, args ...string) error {
	getenv := func(k string) string {
		switch k {
		case "GOMAXPROCS", "GOGC", "GOMEMLIMIT":
			return "set by the test"
		}
		return env[k]
	}
	return run(ctx, args, getenv, stdout, stderr)
}

// configFile writes a YAML config naming a new SQLite file; it returns both.
// The test then runs in another temporary directory, so that a command
// ignoring the file cannot write the default ./keyhaven-data here.
func configFile(t *testing.T, extra string) (file, db string) {
	t.Helper()
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	db = filepath.Join(dir, "from-config-file.db")
	file = filepath.Join(dir, "keyhaven.yaml")
	if err := os.WriteFile(file, []byte("database-url: sqlite://"+db+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, db
}

func TestAdminCommandsReadTheConfigFlag(t *testing.T) {
	ctx := context.Background()
	file, db := configFile(t, "")
	var out, errb khtest.Logs
	if err := cli(ctx, nil, &out, &errb, "migrate", "status", "--config", file); err != nil {
		t.Fatalf("migrate status --config: %v %s", err, errb.String())
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("migrate status created the database (%v)", err)
	}
	out, errb = khtest.Logs{}, khtest.Logs{}
	if err := cli(ctx, nil, &out, &errb, "migrate", "up", "--config", file); err != nil {
		t.Fatalf("migrate up --config: %v %s", err, errb.String())
	}
	if _, err := os.Stat(db); err != nil || !strings.Contains(out.String(), "appliedAt") {
		t.Fatalf("migrate up did not migrate the file the config names: %v %q", err, out.String())
	}
	out, errb = khtest.Logs{}, khtest.Logs{}
	if err := cli(ctx, nil, &out, &errb, "app", "create", "--config", file, "--name", "Shop"); err != nil {
		t.Fatalf("app create --config: %v %s", err, errb.String())
	}
	var app map[string]any
	if err := json.Unmarshal([]byte(out.String()), &app); err != nil || app["appId"] == "" || app["name"] != "Shop" || app["public"] != false {
		t.Fatalf("app create output: %q (%v)", out.String(), err)
	}
	// The file's settings are checked as serve checks them.
	bad, _ := configFile(t, "code-ttl: 1h\n")
	err := cli(ctx, nil, &out, &errb, "app", "create", "--name", "Shop", "--config", bad)
	if err == nil || !strings.Contains(err.Error(), "KEYHAVEN_CODE_TTL") {
		t.Fatalf("a bad config file was accepted: %v", err)
	}
}

// Apps are confidential unless created or updated as public; app update
// changes only that, reads it back, and refuses what it cannot do.
func TestAppCreateAndUpdatePublic(t *testing.T) {
	ctx := context.Background()
	file, _ := configFile(t, "")
	run := func(args ...string) (map[string]any, error) {
		t.Helper()
		var out, errb khtest.Logs
		err := cli(ctx, nil, &out, &errb, append([]string{"app"}, append(args, "--config", file)...)...)
		var reply map[string]any
		if err == nil {
			if jerr := json.Unmarshal([]byte(out.String()), &reply); jerr != nil {
				t.Fatalf("app %v output: %q (%v)", args, out.String(), jerr)
			}
		}
		return reply, err
	}
	spa, err := run("create", "--name", "SPA", "--public")
	if err != nil || spa["public"] != true || spa["appSecret"] == "" {
		t.Fatalf("app create --public: %v %v", spa, err)
	}
	id := spa["appId"].(string)
	got, err := run("update", "--id", id, "--public=false")
	if err != nil || got["public"] != false || got["appId"] != id || got["name"] != "SPA" || got["appSecret"] != nil {
		t.Fatalf("app update --public=false: %v %v", got, err)
	}
	if got, err = run("update", "--id", id, "--public"); err != nil || got["public"] != true {
		t.Fatalf("app update --public: %v %v", got, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"update", "--id", "no-such-app", "--public"}, "--id: no application"},
		{[]string{"update", "--public"}, "--id: is required"},
		{[]string{"update", "--id", id}, "give at least one"},
		{[]string{"update", "--id", id, "--logout-redirect-uri", "javascript:alert(1)"}, "not an absolute http(s) URL"},
		{[]string{"update", "--id", id, "--logout-redirect-uri", "https://app.example.com/#x"}, "not an absolute http(s) URL"},
		{[]string{"create", "--public"}, "--name: is required"},
		{[]string{"delete", "--id", id}, "usage: keyhaven app create"},
		{[]string{"update", "--id", id, "--public", "false"}, "unexpected argument"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("app %v: %v, want %q", c.args, err, c.want)
		}
	}
	// The refused calls changed nothing.
	if got, err = run("update", "--id", id, "--public=true"); err != nil || got["public"] != true {
		t.Fatalf("after refused calls: %v %v", got, err)
	}
	// Logout redirect URLs: the flag replaces the list, and leaves public.
	got, err = run("update", "--id", id, "--logout-redirect-uri", "https://app.example.com/bye", "--logout-redirect-uri", "http://localhost:3000/")
	if uris, _ := got["logoutRedirectUris"].([]any); err != nil || len(uris) != 2 || uris[0] != "https://app.example.com/bye" || got["public"] != true {
		t.Fatalf("app update --logout-redirect-uri: %v %v", got, err)
	}
	got, err = run("update", "--id", id, "--logout-redirect-uri", "")
	if uris, _ := got["logoutRedirectUris"].([]any); err != nil || uris == nil || len(uris) != 0 {
		t.Fatalf("app update --logout-redirect-uri '': %v %v", got, err)
	}
}

// A user create on an empty database creates the first application; its
// secret is printed there, since serve will not show it again.
func TestUserCreateOnAnEmptyDatabasePrintsTheFirstApp(t *testing.T) {
	ctx := context.Background()
	file, _ := configFile(t, "listen: 127.0.0.1:0\n")
	env := map[string]string{"KEYHAVEN_USER_PASSWORD": "password"}
	userCreate := func(email string) (map[string]string, error) {
		t.Helper()
		var out, errb khtest.Logs
		err := cli(ctx, env, &out, &errb, "user", "create", "--config", file, "--email", email)
		var reply map[string]string
		if out.String() != "" {
			if jerr := json.Unmarshal([]byte(out.String()), &reply); jerr != nil {
				t.Fatalf("user create output: %q (%v)", out.String(), jerr)
			}
		}
		return reply, err
	}

	// Refused by the password policy, after the app was made: the secret
	// is printed all the same.
	reply, err := userCreate("weak@example.com")
	if err == nil || reply["userId"] != "" {
		t.Fatalf("weak password accepted: %v %v", reply, err)
	}
	appID, appSecret := reply["appId"], reply["appSecret"]
	if appID == "" || len(appSecret) < 32 {
		t.Fatalf("first app not printed: %v", reply)
	}

	env["KEYHAVEN_USER_PASSWORD"] = "a fine passphrase 9"
	reply, err = userCreate("alice@example.com")
	if _, again := reply["appSecret"]; err != nil || reply["userId"] == "" || again {
		t.Fatalf("second user create: %v %v", reply, err)
	}

	// serve finds the app and prints nothing; the printed secret is the
	// app's secret.
	sctx, stop := context.WithCancel(ctx)
	var out, errb khtest.Logs
	done := make(chan error, 1)
	go func() { done <- cli(sctx, nil, &out, &errb, "serve", "--config", file) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	addr := regexp.MustCompile(`"msg":"keyhaven serving","addr":"([^"]+)"`)
	var host string
	for deadline := time.Now().Add(20 * time.Second); host == "" && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if m := addr.FindStringSubmatch(errb.String()); m != nil {
			host = m[1]
		}
	}
	if host == "" {
		t.Fatalf("serve did not start:\n%s", errb.String())
	}
	if strings.Contains(out.String(), "secret") {
		t.Errorf("serve printed a secret again: %q", out.String())
	}
	signIn := func(secret string) error {
		c, err := authentication.NewAuthenticationClient(authentication.AuthenticationClientOptions{
			AppID: appID, AppSecret: secret, AppHost: "http://" + host})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SignInByEmailPassword(ctx, &authentication.SignInByEmailPasswordParams{
			Email: "alice@example.com", Password: "a fine passphrase 9"})
		return err
	}
	if err := signIn(appSecret); err != nil {
		t.Errorf("sign-in with the printed secret: %v", err)
	}
	var apiErr *authentication.Error
	if err := signIn(appSecret + "0"); !errors.As(err, &apiErr) || apiErr.APICode != 40102 {
		t.Errorf("sign-in with a wrong secret: %v", err)
	}
}
