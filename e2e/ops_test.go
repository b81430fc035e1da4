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
	"os"
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
	// SMTP is configured, no SMS webhook: SMS would only be logged.
	for kind, want := range map[string]float64{"email": 0, "sms": 1} {
		if got := opsMetric(t, p, `keyhaven_messages_logged_instead_of_sent{kind="`+kind+`"}`); got != want {
			t.Errorf("messages logged instead of sent, %s: %v, want %v", kind, got, want)
		}
	}
	if got := opsMetric(t, p, "keyhaven_password_hash_duration_seconds_count"); got < 3 {
		t.Errorf("hash duration count = %v, want at least 3 (sign-up, two sign-ins)", got)
	}
	// The log is JSON and never holds the password.
	if out := p.Output(); strings.Contains(out, "amber falcon ridge 71") || strings.Contains(out, "not the password") {
		t.Errorf("a password reached the log")
	}
}

// signIns are n sign-ins sent at once, each on its own connection (so none
// is an idle keep-alive connection that shutdown may close), to a server
// that hashes one at a time: most of them queue for the hasher.
type signIns struct {
	replies  []Reply
	errs     []error
	answered []time.Time
	wg       sync.WaitGroup
}

func startSignIns(t *testing.T, p *Proc, n int) *signIns {
	t.Helper()
	const email, pw = "drain@example.com", "quiet harbor lantern 58"
	if r := p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": pw}}); r.StatusCode != 200 {
		t.Fatalf("signup: %s", r.Raw)
	}
	body, _ := json.Marshal(map[string]any{"connection": "PASSWORD", "passwordPayload": map[string]any{"email": email, "password": pw}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	s := &signIns{replies: make([]Reply, n), errs: make([]error, n), answered: make([]time.Time, n)}
	var written sync.WaitGroup
	written.Add(n)
	for i := range n {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(written.Done) }}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			req, _ := http.NewRequestWithContext(ctx, "POST", p.URL+"/api/v3/signin", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-authing-app-id", testAppID)
			resp, err := client.Do(req)
			once.Do(written.Done) // a request that failed before it was written
			if err != nil {
				s.errs[i] = err
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			s.answered[i] = time.Now()
			s.replies[i].Raw = raw
			s.errs[i] = json.Unmarshal(raw, &s.replies[i])
		}()
	}
	written.Wait()
	// The server accepts and reads at once; the hasher takes tens of
	// milliseconds per sign-in, so most are still queued.
	time.Sleep(100 * time.Millisecond)
	return s
}

// signal sends sig to p and returns when.
func (p *Proc) signal(t *testing.T, sig os.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return at
}

// exited waits up to d for p to exit and returns how long after since.
func (p *Proc) exited(t *testing.T, since time.Time, d time.Duration) time.Duration {
	t.Helper()
	select {
	case <-p.done:
		return time.Since(since)
	case <-time.After(d):
		t.Fatalf("keyhaven did not exit within %s:\n%s", d, p.Output())
		return 0
	}
}

// SIGTERM while sign-ins queue for the hasher (production argon2id, one
// slot): every request already sent is answered with its 200 envelope,
// new connections are refused, and the process exits cleanly.
func TestGracefulShutdownAnswersInFlightRequests(t *testing.T) {
	mail := mailsink.Start(t)
	p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"), "KEYHAVEN_SMTP_URL="+mail.URL(),
		"KEYHAVEN_HASH_CONCURRENCY=1")
	const n = 12
	s := startSignIns(t, p, n)
	term := p.signal(t, syscall.SIGTERM)
	time.Sleep(20 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("a new connection was accepted after SIGTERM")
	}
	s.wg.Wait()
	late := 0
	for i := range n {
		if s.errs[i] != nil || s.replies[i].StatusCode != 200 {
			t.Errorf("sign-in %d in flight at SIGTERM: err %v, reply %s", i, s.errs[i], s.replies[i].Raw)
		}
		if s.answered[i].After(term) {
			late++
		}
	}
	if late == 0 {
		t.Fatalf("every sign-in was answered before SIGTERM: the test drained nothing")
	}
	t.Logf("%d of %d sign-ins were answered after SIGTERM", late, n)
	p.exited(t, term, 30*time.Second)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM:\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "keyhaven stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.Output())
	}
}

// Requests still running when the drain (KEYHAVEN_SHUTDOWN_TIMEOUT) ends are
// cut, and the process exits at once with status 1 rather than wait for
// them; a second signal stops it without waiting for the drain at all.
func TestShutdownIsBounded(t *testing.T) {
	const queued = 150 // seconds of hashing, one at a time
	t.Run("past the drain", func(t *testing.T) {
		p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"),
			"KEYHAVEN_HASH_CONCURRENCY=1", "KEYHAVEN_SHUTDOWN_TIMEOUT=200ms")
		s := startSignIns(t, p, queued)
		took := p.exited(t, p.signal(t, syscall.SIGTERM), 10*time.Second)
		if took > 3*time.Second {
			t.Errorf("exited %s after SIGTERM with a 200ms drain", took)
		}
		s.wg.Wait()
		cut := 0
		for i := range s.errs {
			if s.errs[i] != nil {
				cut++
			}
		}
		if cut == 0 {
			t.Fatalf("every sign-in was answered within the drain: the test cut nothing")
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(p.Output(), "were cut") {
			t.Errorf("exit code %d, want 1, and a log line saying requests were cut:\n%s", code, p.Output())
		}
		t.Logf("exited %s after SIGTERM; %d of %d sign-ins cut", took, cut, len(s.errs))
	})
	t.Run("a request stuck in the database", func(t *testing.T) {
		// The users table locked: update-profile waits in PostgreSQL past
		// the drain; it is cut and the process exits, not when the lock goes.
		dbURL := freshPostgres(t)
		p := StartProc(t, "KEYHAVEN_DATABASE_URL="+dbURL, "KEYHAVEN_SHUTDOWN_TIMEOUT=200ms")
		const email, pw = "stuck@example.com", "quiet harbor lantern 59"
		p.MustCall("POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": email, "password": pw}})
		access, _ := p.MustCall("POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": email, "password": pw}}).Data["access_token"].(string)
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // the lock's end
		if _, err := tx.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := p.Call(context.Background(), "POST", "/api/v3/update-profile", map[string]any{"nickname": "stuck"}, "Authorization", access)
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("update-profile answered while the table was locked: %v", err)
		default:
		}
		took := p.exited(t, p.signal(t, syscall.SIGTERM), 20*time.Second)
		if took > 8*time.Second {
			t.Errorf("exited %s after SIGTERM with a 200ms drain and the table still locked", took)
		}
		t.Logf("exited %s after SIGTERM, the table still locked", took)
	})
	t.Run("a second signal", func(t *testing.T) {
		p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"), "KEYHAVEN_HASH_CONCURRENCY=1")
		s := startSignIns(t, p, queued)
		first := p.signal(t, syscall.SIGTERM)
		time.Sleep(100 * time.Millisecond)
		p.signal(t, syscall.SIGINT)
		took := p.exited(t, first, 10*time.Second)
		s.wg.Wait()
		if st := p.cmd.ProcessState; st.Success() || !strings.Contains(p.Output(), "shutting down") {
			t.Errorf("state %v after two signals, want killed by the second:\n%s", st, p.Output())
		}
		if took > 3*time.Second {
			t.Errorf("exited %s after the first signal: the second did not stop it", took)
		}
		t.Logf("exited %s after the first signal", took)
	})
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

// With KEYHAVEN_METRICS_LISTEN, /metrics is served there and not on the
// public listener, whose counts would tell whether a code went out.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	maddr := freeAddr(t)
	p := StartProc(t, "KEYHAVEN_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "k.db"), "KEYHAVEN_METRICS_LISTEN="+maddr)
	if code, _ := khtest.Get(t, p.URL+"/metrics"); code != 404 {
		t.Fatalf("/metrics on the API listener: %d", code)
	}
	if code, body := khtest.Get(t, "http://"+maddr+"/metrics"); code != 200 || !strings.Contains(body, "keyhaven_signins_total") {
		t.Fatalf("/metrics on its own listener: %d %.200s", code, body)
	}
	if code, _ := khtest.Get(t, p.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz stays on the API listener: %d", code)
	}
}
