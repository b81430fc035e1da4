package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to look inside the test database

	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// opsMetric returns one sample of /metrics ("name{labels}" as exposed), or
// -1 if it is absent.
func opsMetric(t *testing.T, p *Proc, sample string) float64 {
	t.Helper()
	code, body := khtest.Get(t, p.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: HTTP %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return f
		}
	}
	return -1
}

// The real binary answers its probes, and its counters move with traffic.
func TestOpsEndpoints(t *testing.T) {
	mail := mailsink.Start(t)
	p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"), "KEYHAVEN_SMTP_URL="+mail.URL(),
		"KEYHAVEN_PASSWORD_HASH=argon2id:m=1024,t=1,p=1")
	if code, body := khtest.Get(t, p.URL+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := khtest.Get(t, p.URL+"/readyz"); code != 200 || !strings.Contains(body, `"migrations":"ok"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	const ok, failed = `keyhaven_signins_total{result="ok"}`, `keyhaven_signins_total{result="failed"}`
	okBefore, failedBefore := opsMetric(t, p, ok), opsMetric(t, p, failed)
	if okBefore != 0 || failedBefore != 0 {
		t.Fatalf("sign-in counters before any sign-in: ok %v, failed %v (want 0, 0)", okBefore, failedBefore)
	}
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "ops@example.com", "password": "amber falcon ridge 71"}}); r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	signIn := func(pw string) Reply {
		return p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": "ops@example.com", "password": pw}})
	}
	if r := signIn("amber falcon ridge 71"); r.StatusCode != 200 {
		t.Fatalf("signin: %s", r.Raw)
	}
	if r := signIn("not the password"); r.StatusCode != 401 {
		t.Fatalf("wrong password: %s", r.Raw)
	}
	if got := opsMetric(t, p, ok); got != 1 {
		t.Errorf("%s = %v after one good sign-in", ok, got)
	}
	if got := opsMetric(t, p, failed); got != 1 {
		t.Errorf("%s = %v after one wrong password", failed, got)
	}
	if got := opsMetric(t, p, "keyhaven_password_hash_duration_seconds_count"); got < 3 {
		t.Errorf("hash duration count = %v, want at least 3 (sign-up, two sign-ins)", got)
	}
	// The log is JSON and never holds the password.
	if out := p.Output(); strings.Contains(out, "amber falcon ridge 71") || strings.Contains(out, "not the password") {
		t.Errorf("a password reached the log")
	}
}

// SIGTERM while sign-ins queue for the hasher (production argon2id, one
// slot): every request already sent is answered with its 200 envelope,
// new connections are refused, and the process exits cleanly.
func TestGracefulShutdownAnswersInFlightRequests(t *testing.T) {
	mail := mailsink.Start(t)
	p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"), "KEYHAVEN_SMTP_URL="+mail.URL(),
		"KEYHAVEN_HASH_CONCURRENCY=1")
	const email, pw = "drain@example.com", "quiet harbor lantern 58"
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": pw}}); r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	body, _ := json.Marshal(map[string]any{"connection": "PASSWORD", "passwordPayload": map[string]any{"email": email, "password": pw}})

	// Each sign-in on its own connection, so none is an idle keep-alive
	// connection that shutdown may close.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	const n = 12
	var written, wg sync.WaitGroup
	written.Add(n)
	replies := make([]Reply, n)
	errs := make([]error, n)
	answered := make([]time.Time, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(written.Done) }}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"/api/v3/signin", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-authing-app-id", testAppID)
			resp, err := client.Do(req)
			once.Do(written.Done) // a request that failed before it was written
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			answered[i] = time.Now()
			replies[i].Raw = raw
			errs[i] = json.Unmarshal(raw, &replies[i])
		}()
	}
	written.Wait()
	// The server accepts and reads at once; the hasher takes tens of
	// milliseconds per sign-in, so most of the twelve are still queued.
	time.Sleep(100 * time.Millisecond)
	term := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("a new connection was accepted after SIGTERM")
	}
	wg.Wait()
	late := 0
	for i := range n {
		if errs[i] != nil || replies[i].StatusCode != 200 {
			t.Errorf("sign-in %d in flight at SIGTERM: err %v, reply %s", i, errs[i], replies[i].Raw)
		}
		if answered[i].After(term) {
			late++
		}
	}
	if late == 0 {
		t.Fatalf("every sign-in was answered before SIGTERM: the test drained nothing")
	}
	t.Logf("%d of %d sign-ins were answered after SIGTERM", late, n)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("keyhaven did not exit after draining:\n%s", p.Output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "keyhaven stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.Output())
	}
}

// SIGTERM while the outbox worker is in the middle of an SMTP send (the
// server answers DATA slowly): the send completes, the message is gone
// from the outbox, and only then does the process exit.
func TestGracefulShutdownFinishesTheCurrentSend(t *testing.T) {
	mail := mailsink.Start(t)
	mail.SetDelay(time.Second)
	dbPath := filepath.Join(t.TempDir(), "k.db")
	p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+dbPath, "KEYHAVEN_SMTP_URL="+mail.URL(),
		"KEYHAVEN_PASSWORD_HASH=argon2id:m=1024,t=1,p=1")
	const email = "send@example.com"
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": "velvet comet orchard 26"}}); r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	if r := p.MustCall("POST", "/api/v3/send-email", map[string]any{"email": email, "channel": "CHANNEL_RESET_PASSWORD"}); r.StatusCode != 200 {
		t.Fatalf("send-email: %s", r.Raw)
	}
	// The worker connects to send it; the sink then holds DATA for a second.
	for deadline := time.Now().Add(10 * time.Second); mail.Connections() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never connected to the SMTP server")
		}
	}
	time.Sleep(100 * time.Millisecond)
	term := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	msg := mail.WaitFor(t, email, 10*time.Second)
	if msg.Code() == "" {
		t.Fatalf("the message sent during shutdown has no code: %q", msg.Text)
	}
	if !msg.ReceivedAt.After(term) {
		t.Fatalf("the message was delivered before SIGTERM: the test drained nothing")
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("keyhaven did not exit:\n%s", p.Output())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, p.Output())
	}
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRow("SELECT COUNT(*) FROM outbox").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d messages left in the outbox: the send was not settled before exit", left)
	}
}
