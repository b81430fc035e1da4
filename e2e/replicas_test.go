package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store/postgres"
	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// apiCode values the checks below expect (the documented, stable ones).
const (
	codeAppUnknown   = 40001
	codeUnauthorized = 40100
	codeCodeInvalid  = 40103
	codeResetToken   = 40104
	codeRateLimited  = 42900
	codeThrottled    = 42901
)

// Two `keyhaven serve` processes on one PostgreSQL database behave as one
// server: whatever one replica writes or counts, the other sees at once.
func TestReplicasBehaveAsOne(t *testing.T) {
	db := freshPostgres(t)
	mail := mailsink.Start(t)
	// Replicas behind one load balancer share its public URL: it is the
	// issuer of every token, so each accepts the others' tokens.
	env := []string{"KEYHAVEN_DATABASE_URL=" + db, "KEYHAVEN_SMTP_URL=" + mail.URL(),
		"KEYHAVEN_PUBLIC_URL=http://keyhaven.test", "KEYHAVEN_RATE_LIMIT_PER_IP=0", "KEYHAVEN_DB_MAX_CONNS=6"}

	// Both start at the same moment on an empty database, with no app
	// configured: they must migrate once and agree on one bootstrap app and
	// one set of keys.
	pa, pb := launch(t, env...), launch(t, env...)
	pa.waitReady(t)
	pb.waitReady(t)
	var appID, appSecret string
	printed := 0
	for _, p := range []*Proc{pa, pb} {
		if id, secret, ok := bootstrapCredentials(p); ok {
			appID, appSecret = id, secret
			printed++
		}
	}
	if printed != 1 {
		t.Fatalf("%d replicas printed a new application, want exactly 1\nA:\n%s\nB:\n%s", printed, pa.Output(), pb.Output())
	}
	if n := sqlCount(t, db, "SELECT COUNT(*) FROM apps"); n != 1 {
		t.Fatalf("%d applications in the database, want 1", n)
	}
	migs, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if n := sqlCount(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != len(migs) {
		t.Fatalf("schema_migrations has %d rows for %d migrations: two replicas migrated", n, len(migs))
	}
	a := replica{Proc: pa, name: "A", app: appID, secret: appSecret}
	b := replica{Proc: pb, name: "B", app: appID, secret: appSecret}
	sysA, sysB := a.must(t, "GET", "/api/v3/system", nil), b.must(t, "GET", "/api/v3/system", nil)
	if sysA.StatusCode != 200 || sysB.StatusCode != 200 {
		t.Fatalf("the bootstrap app is not known to both replicas:\nA: %s\nB: %s", sysA.Raw, sysB.Raw)
	}
	if rsa, _ := sysA.Data["rsa"].(map[string]any); rsa == nil || rsa["publicKey"] == "" {
		t.Fatalf("no RSA key in %s", sysA.Raw)
	}
	if !reflect.DeepEqual(sysA.Data, sysB.Data) {
		t.Fatalf("the replicas serve different transport keys:\nA: %s\nB: %s", sysA.Raw, sysB.Raw)
	}
	if ja, jb := a.get(t, "/oidc/.well-known/jwks.json"), b.get(t, "/oidc/.well-known/jwks.json"); !bytes.Equal(ja, jb) {
		t.Fatalf("the replicas sign with different keys:\nA: %s\nB: %s", ja, jb)
	}
	both := []replica{a, b}

	t.Run("a code sent through A verifies through B", func(t *testing.T) {
		email := "across@example.com"
		signUp(t, a, email, pw("first"))
		sendResetCode(t, a, email)
		code := mail.WaitFor(t, email, 15*time.Second).Code()
		tok := verify(t, b, email, code)
		r := a.must(t, "POST", "/api/v3/reset-password", map[string]any{"password": pw("second"), "passwordResetToken": tok})
		if r.StatusCode != 200 {
			t.Fatalf("reset on A with B's token: %s", r.Raw)
		}
		if r := signIn(t, b, email, pw("second")); r.StatusCode != 200 {
			t.Fatalf("B does not know the password set through A: %s", r.Raw)
		}
	})

	t.Run("one code a minute counts across replicas", func(t *testing.T) {
		email := "throttle@example.com"
		signUp(t, b, email, pw("throttle"))
		sendResetCode(t, a, email)
		for _, r := range both {
			got := r.must(t, "POST", "/api/v3/send-email", map[string]any{"email": email, "channel": "CHANNEL_RESET_PASSWORD"})
			if got.StatusCode != 429 || got.APICode != codeThrottled {
				t.Errorf("second code within the minute through %s: %s", r.name, got.Raw)
			}
		}
		mail.WaitFor(t, email, 15*time.Second)
	})

	t.Run("five wrong tries count across replicas", func(t *testing.T) {
		email := "guess@example.com"
		signUp(t, a, email, pw("guess"))
		sendResetCode(t, b, email)
		code := mail.WaitFor(t, email, 15*time.Second).Code()
		wrong := code[:5] + string(rune('0'+(code[5]-'0'+1)%10))
		for i := range 5 {
			r := both[i%2]
			got := r.must(t, "POST", "/api/v3/verify-reset-password-request", verifyBody(email, wrong))
			if got.StatusCode != 400 || got.APICode != codeCodeInvalid {
				t.Fatalf("wrong try %d through %s: %s", i+1, r.name, got.Raw)
			}
			if left := 4 - i; left > 0 && !strings.Contains(got.Message, fmt.Sprintf("%d tries left", left)) {
				t.Fatalf("wrong try %d through %s: %q, want %d tries left", i+1, r.name, got.Message, left)
			}
		}
		for _, r := range both {
			got := r.must(t, "POST", "/api/v3/verify-reset-password-request", verifyBody(email, code))
			if got.StatusCode != 400 || got.APICode != codeCodeInvalid {
				t.Fatalf("the right code after five wrong tries worked through %s: %s", r.name, got.Raw)
			}
		}
	})

	t.Run("twelve concurrent resets with one token: exactly one wins", func(t *testing.T) {
		email := "race@example.com"
		signUp(t, b, email, pw("race"))
		sendResetCode(t, a, email)
		tok := verify(t, b, email, mail.WaitFor(t, email, 15*time.Second).Code())
		const n = 12
		replies := make([]Reply, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				replies[i], errs[i] = both[i%2].call("POST", "/api/v3/reset-password",
					map[string]any{"password": pw(fmt.Sprint("winner", i)), "passwordResetToken": tok})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i := range n {
			switch {
			case errs[i] != nil:
				t.Fatalf("reset %d: %v", i, errs[i])
			case replies[i].StatusCode == 200:
				if winner >= 0 {
					t.Fatalf("resets %d and %d both succeeded with one token", winner, i)
				}
				winner = i
			case replies[i].StatusCode != 400 || replies[i].APICode != codeResetToken:
				t.Errorf("losing reset %d through %s: %s", i, both[i%2].name, replies[i].Raw)
			}
		}
		if winner < 0 {
			t.Fatal("no reset succeeded")
		}
		for _, r := range both {
			if got := signIn(t, r, email, pw(fmt.Sprint("winner", winner))); got.StatusCode != 200 {
				t.Fatalf("the winning password does not work on %s: %s", r.name, got.Raw)
			}
		}
		if got := signIn(t, a, email, pw(fmt.Sprint("winner", (winner+1)%n))); got.StatusCode == 200 {
			t.Fatal("a losing reset's password works")
		}
	})

	t.Run("a session ended on A is refused on B at once", func(t *testing.T) {
		email := "session@example.com"
		signUp(t, a, email, pw("session"))
		in := signIn(t, b, email, pw("session"))
		access, _ := in.Data["access_token"].(string)
		refresh, _ := in.Data["refresh_token"].(string)
		if access == "" || refresh == "" {
			t.Fatalf("sign-in gave no tokens: %s", in.Raw)
		}
		if got := a.must(t, "GET", "/api/v3/get-profile", nil, "Authorization", access); got.StatusCode != 200 {
			t.Fatalf("A refuses B's fresh session: %s", got.Raw)
		}
		client := url.Values{"client_id": {appID}, "client_secret": {appSecret}}
		revoke := url.Values{"token": {access}}
		for k, v := range client {
			revoke[k] = v
		}
		if status, body := a.form(t, "/oidc/token/revocation", revoke); status != 200 {
			t.Fatalf("revoke on A: HTTP %d %s", status, body)
		}
		if got := b.must(t, "GET", "/api/v3/get-profile", nil, "Authorization", access); got.StatusCode != 401 || got.APICode != codeUnauthorized {
			t.Fatalf("B still accepts the ended session: %s", got.Raw)
		}
		refreshForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
		for k, v := range client {
			refreshForm[k] = v
		}
		if status, body := b.form(t, "/oidc/token", refreshForm); status != 400 || !strings.Contains(body, "invalid_grant") {
			t.Fatalf("B refreshes the ended session: HTTP %d %s", status, body)
		}
	})

	t.Run("an app created while the replicas run works on both at once", func(t *testing.T) {
		out, errOut, err := runKeyhaven(t, []string{"KEYHAVEN_DATABASE_URL=" + db}, "app", "create", "--name", "late")
		if err != nil {
			t.Fatalf("keyhaven app create: %v\n%s%s", err, out, errOut)
		}
		var created struct {
			AppID string `json:"appId"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.AppID == "" {
			t.Fatalf("keyhaven app create printed %q (%v)", out, err)
		}
		for _, r := range both {
			late := replica{Proc: r.Proc, name: r.name, app: created.AppID}
			if got := late.must(t, "GET", "/api/v3/system", nil); got.StatusCode != 200 {
				t.Errorf("%s does not know the new app yet: %s", r.name, got.Raw)
			}
			unknown := replica{Proc: r.Proc, name: r.name, app: "no-such-app"}
			if got := unknown.must(t, "GET", "/api/v3/system", nil); got.StatusCode != 400 || got.APICode != codeAppUnknown {
				t.Errorf("%s accepts an unknown app: %s", r.name, got.Raw)
			}
		}
	})

	t.Run("the per-IP limit counts across replicas", func(t *testing.T) {
		// Two more replicas with the limit on, behind a trusted proxy
		// (loopback) that names the client in X-Forwarded-For.
		limited := append(env[:len(env):len(env)], "KEYHAVEN_RATE_LIMIT_PER_IP=4", "KEYHAVEN_TRUSTED_PROXIES=127.0.0.1/32")
		pc, pd := launch(t, limited...), launch(t, limited...)
		pc.waitReady(t)
		pd.waitReady(t)
		for _, p := range []*Proc{pc, pd} {
			if _, _, ok := bootstrapCredentials(p); ok {
				t.Fatalf("a replica started on a used database made another app:\n%s", p.Output())
			}
		}
		c := replica{Proc: pc, name: "C", app: appID}
		d := replica{Proc: pd, name: "D", app: appID}
		outsideMinuteEdge(10 * time.Second)
		try := func(r replica, client string) Reply {
			return r.must(t, "POST", "/api/v3/verify-reset-password-request",
				verifyBody("nobody@example.com", "000000"), "X-Forwarded-For", client)
		}
		for i := range 4 {
			r := []replica{c, d}[i%2]
			if got := try(r, "203.0.113.7"); got.StatusCode == 429 {
				t.Fatalf("request %d through %s was limited: %s", i+1, r.name, got.Raw)
			}
		}
		for _, r := range []replica{c, d} {
			if got := try(r, "203.0.113.7"); got.StatusCode != 429 || got.APICode != codeRateLimited {
				t.Errorf("a fifth request through %s was not limited: %s", r.name, got.Raw)
			}
		}
		if got := try(c, "203.0.113.8"); got.StatusCode == 429 {
			t.Errorf("another client address was limited too: %s", got.Raw)
		}
	})

	// Both replicas ran their outbox workers the whole time: no message was
	// delivered twice.
	deadline := time.Now().Add(20 * time.Second)
	for sqlCount(t, db, "SELECT COUNT(*) FROM outbox") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still undelivered", sqlCount(t, db, "SELECT COUNT(*) FROM outbox"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	seen := map[string]int{}
	for _, m := range mail.Messages() {
		seen[strings.Join(m.To, ",")+"\x00"+m.Subject+"\x00"+m.Text]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("delivered %d times: %q", n, strings.SplitN(k, "\x00", 2)[0])
		}
	}
}

// `keyhaven migrate up` run by two operators at once applies each migration
// once; `status` then lists them as applied. Both print JSON.
func TestMigrateCommandOnPostgres(t *testing.T) {
	db := freshPostgres(t)
	env := []string{"KEYHAVEN_DATABASE_URL=" + db}
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errOut string
			outs[i], errOut, errs[i] = runKeyhaven(t, env, "migrate", "up")
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%w: %s", errs[i], errOut)
			}
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("migrate up: %v", errs[i])
		}
		checkApplied(t, parseMigrate(t, outs[i]), "up")
	}
	out, errOut, err := runKeyhaven(t, env, "migrate", "status")
	if err != nil {
		t.Fatalf("migrate status: %v\n%s", err, errOut)
	}
	st := checkApplied(t, parseMigrate(t, out), "status")
	if n := sqlCount(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != len(st.Migrations) {
		t.Fatalf("schema_migrations has %d rows for %d migrations", n, len(st.Migrations))
	}
}

func checkApplied(t *testing.T, m migrateOutput, command string) migrateOutput {
	t.Helper()
	if m.Command != command || len(m.Migrations) == 0 || m.Migrations[0].Version != 1 || m.Migrations[0].Name != "init" {
		t.Fatalf("migrate %s printed %+v", command, m)
	}
	for _, mig := range m.Migrations {
		if _, err := time.Parse(time.RFC3339, mig.AppliedAt); err != nil {
			t.Fatalf("migrate %s: migration %04d not applied: %+v", command, mig.Version, mig)
		}
	}
	return m
}

// A database that cannot be used stops `keyhaven serve` at once with one
// line naming KEYHAVEN_DATABASE_URL, and never prints the password.
func TestUnusableDatabaseStopsStartup(t *testing.T) {
	cases := []struct{ name, url string }{
		{"connection refused", "postgres://kh:secretpw@127.0.0.1:1/kh?sslmode=disable"},
		{"unroutable address", "postgres://kh:secretpw@192.0.2.1:5432/kh?sslmode=disable"},
		{"bad option", "postgres://kh:secretpw@127.0.0.1:1/kh?sslmode=bogus"},
		{"malformed URL", "postgres://kh:secretpw@127.0.0.1:port/kh"},
	}
	if admin := os.Getenv(pgtest.EnvVar); admin != "" {
		// A real server that refuses: the database does not exist.
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), "secretpw")
		u.Path = "/kh_no_such_database"
		cases = append(cases, struct{ name, url string }{"missing database", u.String()})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			out, errOut, err := runKeyhaven(t, []string{"KEYHAVEN_DATABASE_URL=" + tc.url, "KEYHAVEN_LISTEN=" + freeAddr(t),
				"KEYHAVEN_DB_CONNECT_TIMEOUT=2s"}, "serve")
			if err == nil {
				t.Fatalf("keyhaven serve started on an unusable database:\n%s%s", out, errOut)
			}
			if took := time.Since(began); took > 20*time.Second {
				t.Errorf("start-up took %v to give up", took)
			}
			all := out + errOut
			if strings.Contains(all, "secretpw") {
				t.Fatalf("the password was printed:\n%s", all)
			}
			var named []string
			for _, line := range strings.Split(all, "\n") {
				if strings.Contains(line, "KEYHAVEN_DATABASE_URL") {
					named = append(named, line)
				}
			}
			if len(named) != 1 || !strings.HasPrefix(named[0], "keyhaven: KEYHAVEN_DATABASE_URL") {
				t.Fatalf("want one line naming KEYHAVEN_DATABASE_URL, got %d:\n%s", len(named), all)
			}
			t.Log(named[0])
		})
	}
}

func signUp(t *testing.T, r replica, email, password string) {
	t.Helper()
	got := r.must(t, "POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": password}})
	if got.StatusCode != 200 {
		t.Fatalf("sign-up %s through %s: %s", email, r.name, got.Raw)
	}
}

func signIn(t *testing.T, r replica, email, password string) Reply {
	t.Helper()
	return r.must(t, "POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": password}})
}

func sendResetCode(t *testing.T, r replica, email string) {
	t.Helper()
	got := r.must(t, "POST", "/api/v3/send-email", map[string]any{"email": email, "channel": "CHANNEL_RESET_PASSWORD"})
	if got.StatusCode != 200 {
		t.Fatalf("send-email through %s: %s", r.name, got.Raw)
	}
}

// pw makes a password the policy accepts, distinct per tag.
func pw(tag string) string { return "Lantern-" + tag + "-quarry-7Vx-ombre" }

func verifyBody(email, code string) map[string]any {
	return map[string]any{"verifyMethod": "EMAIL_PASSCODE", "emailPassCodePayload": map[string]any{"email": email, "passCode": code}}
}

func verify(t *testing.T, r replica, email, code string) string {
	t.Helper()
	got := r.must(t, "POST", "/api/v3/verify-reset-password-request", verifyBody(email, code))
	tok, _ := got.Data["passwordResetToken"].(string)
	if got.StatusCode != 200 || tok == "" {
		t.Fatalf("verify through %s: %s", r.name, got.Raw)
	}
	return tok
}
