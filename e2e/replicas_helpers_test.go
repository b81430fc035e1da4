package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to look inside the test database

	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
)

// launch starts `keyhaven serve` with only env on top of PATH, HOME and a
// free listen address: unlike StartProc it presets no app credentials and
// does not wait, so several processes can start at the same moment. Call
// waitReady before using it; it is stopped when the test ends.
func launch(t *testing.T, env ...string) *Proc {
	t.Helper()
	addr := freeAddr(t)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "KEYHAVEN_LISTEN=" + addr, "KEYHAVEN_LOG_LEVEL=info"}
	p := &Proc{URL: "http://" + addr, Env: append(base, env...), out: newProcOutput(t), t: t}
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = p.Env
	p.cmd.Stdout, p.cmd.Stderr = p.out.f, p.out.f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)
	return p
}

// waitReady waits until p serves its JWKS, which needs no application.
func (p *Proc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("keyhaven exited at start:\n%s", p.Output())
		default:
		}
		if resp, err := http.Get(p.URL + "/oidc/.well-known/jwks.json"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("keyhaven did not answer within 30s:\n%s", p.Output())
}

// replica is a process plus the application it is called as.
type replica struct {
	*Proc
	name   string
	app    string
	secret string
}

// call is Call as r.app; safe from any goroutine.
func (r replica) call(method, path string, body any, header ...string) (Reply, error) {
	return r.Call(context.Background(), method, path, body, append([]string{"x-authing-app-id", r.app}, header...)...)
}

// must is call that fails the test on transport errors.
func (r replica) must(t *testing.T, method, path string, body any, header ...string) Reply {
	t.Helper()
	out, err := r.call(method, path, body, header...)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	return out
}

// form posts an OAuth form to r and returns the HTTP status and body.
func (r replica) form(t *testing.T, path string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(r.URL+path, v)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// get fetches a path with no app header and returns the body.
func (r replica) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(r.URL + path)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s GET %s: HTTP %d: %s", r.name, path, resp.StatusCode, b)
	}
	return b
}

var (
	printedAppID     = regexp.MustCompile(`app id:\s+(\S+)`)
	printedAppSecret = regexp.MustCompile(`app secret:\s+(\S+)`)
)

// bootstrapCredentials returns the app id and secret p printed, if it did.
func bootstrapCredentials(p *Proc) (id, secret string, ok bool) {
	out := p.Output()
	if !strings.Contains(out, "Created the first application") {
		return "", "", false
	}
	m1, m2 := printedAppID.FindStringSubmatch(out), printedAppSecret.FindStringSubmatch(out)
	if m1 == nil || m2 == nil {
		return "", "", false
	}
	return m1[1], m2[1], true
}

// sqlCount runs a COUNT query against the test database.
func sqlCount(t *testing.T, dbURL, query string) int {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// runKeyhaven runs the keyhaven binary with args and env and returns what it
// printed on stdout and stderr; it gives up after a minute.
func runKeyhaven(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// migrateOutput is what `keyhaven migrate up|status` prints.
type migrateOutput struct {
	Command    string `json:"command"`
	Migrations []struct {
		Version   int    `json:"version"`
		Name      string `json:"name"`
		AppliedAt string `json:"appliedAt"`
	} `json:"migrations"`
}

func parseMigrate(t *testing.T, out string) migrateOutput {
	t.Helper()
	var m migrateOutput
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("migrate printed no JSON: %v\n%s", err, out)
	}
	return m
}

// freshPostgres is a new, empty database for this test (see pgtest).
func freshPostgres(t *testing.T) string {
	t.Helper()
	return pgtest.Fresh(t, "e2e")
}

// outsideMinuteEdge waits, if needed, so that the next few seconds fall in
// one fixed one-minute window (the per-IP limit counts per minute).
func outsideMinuteEdge(need time.Duration) {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < need {
		time.Sleep(left + 100*time.Millisecond)
	}
}
