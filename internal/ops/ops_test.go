package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/ops"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

type probe struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func decodeProbe(t *testing.T, body string) probe {
	t.Helper()
	var p probe
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("probe reply is not JSON: %v: %s", err, body)
	}
	return p
}

// A full server answers both probes: alive, and ready with a migrated
// database.
func TestProbesOnARunningServer(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	code, body := khtest.Get(t, env.URL+"/healthz")
	if code != 200 || decodeProbe(t, body).Status != "ok" {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, body = khtest.Get(t, env.URL+"/readyz")
	p := decodeProbe(t, body)
	if code != 200 || p.Status != "ready" || p.Checks["database"] != "ok" || p.Checks["migrations"] != "ok" {
		t.Fatalf("/readyz: %d %s", code, body)
	}
}

// Readiness fails, with 503 and without the error's text, when the database
// is gone or a migration of this build is not applied; the log says why.
func TestReadyzFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ready := ops.Readyz(log, time.Second, ops.DatabaseCheck(st), ops.MigrationsCheck(st))
	ask := func() (int, probe) {
		rec := httptest.NewRecorder()
		ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, decodeProbe(t, rec.Body.String())
	}
	if code, p := ask(); code != 200 || p.Status != "ready" {
		t.Fatalf("fresh store: %d %+v", code, p)
	}

	// Mark the newest migration unapplied behind the store's back (its row
	// stays, so the database still answers): a fresh check (the passing one
	// remembers its success) must report it.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE schema_migrations SET applied_at = 0 WHERE version = (SELECT MAX(version) FROM schema_migrations)"); err != nil {
		t.Fatal(err)
	}
	ready = ops.Readyz(log, time.Second, ops.DatabaseCheck(st), ops.MigrationsCheck(st))
	if code, p := ask(); code != 503 || p.Checks["migrations"] != "failing" || p.Checks["database"] != "ok" {
		t.Fatalf("pending migration: %d %+v", code, p)
	}
	if !strings.Contains(logs.String(), "not applied") {
		t.Errorf("the log does not say why: %s", logs.String())
	}

	st.Close()
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	p := decodeProbe(t, rec.Body.String())
	if rec.Code != 503 || p.Status != "not ready" || p.Checks["database"] != "failing" {
		t.Fatalf("closed store: %d %s", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "closed") || strings.Contains(rec.Body.String(), path) {
		t.Errorf("the reply leaks the error: %s", rec.Body.String())
	}
}

// scrape returns every sample of /metrics, keyed by name and labels as
// written ("keyhaven_signins_total{result=\"ok\"}").
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body := khtest.Get(t, url+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// The counters move with what happens through the API, and the secrets of
// that traffic never reach the log while its request ids do.
func TestMetricsCountersMove(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	const email, pw, newPW = "ops.metrics@example.com", "first password 42", "second password 43"
	env.SignUp(email, pw)
	before := scrape(t, env.URL)

	access := env.SignIn(email, pw).MustOK(t).Str("access_token")
	bad := env.SignIn(email, "wrong password 99")
	if bad.StatusCode != 401 {
		t.Fatalf("wrong password: %s", bad.Raw)
	}
	env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t)
	code := env.ResetCode(email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	verify := func(c string) khtest.Reply {
		return env.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
			"emailPassCodePayload": map[string]any{"email": email, "passCode": c}})
	}
	if r := verify(wrong); r.StatusCode != 400 {
		t.Fatalf("wrong code: %s", r.Raw)
	}
	tok := verify(code).MustOK(t).Str("passwordResetToken")
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}).MustOK(t)
	if r := env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}); r.StatusCode != 400 {
		t.Fatalf("reused token: %s", r.Raw)
	}
	env.Mail.WaitFor(t, email, 10*time.Second) // the "password changed" notice

	// The worker counts a delivery after the sink has it: wait for it.
	var after map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; {
		after = scrape(t, env.URL)
		if after[`keyhaven_outbox_sent_total{kind="email"}`]-before[`keyhaven_outbox_sent_total{kind="email"}`] >= 2 ||
			time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]float64{
		`keyhaven_signins_total{result="ok"}`:                                               1,
		`keyhaven_signins_total{result="failed"}`:                                           1,
		`keyhaven_codes_sent_total{medium="email"}`:                                         1,
		`keyhaven_codes_verified_total{channel="CHANNEL_RESET_PASSWORD"}`:                   1,
		`keyhaven_codes_failed_total`:                                                       1,
		`keyhaven_password_resets_total{result="ok"}`:                                       1,
		`keyhaven_password_resets_total{result="failed"}`:                                   1,
		`keyhaven_outbox_sent_total{kind="email"}`:                                          2, // the code and the notice
		`keyhaven_http_requests_total{route="POST /api/v3/signin",status="200"}`:            2,
		`keyhaven_http_requests_total{route="GET /api/v3/get-profile",status="200"}`:        1,
		`keyhaven_api_replies_total{route="POST /api/v3/signin",status_code="401"}`:         1,
		`keyhaven_http_request_duration_seconds_count{route="POST /api/v3/signin"}`:         2,
		`keyhaven_password_hash_duration_seconds_count`:                                     4, // 2 sign-ins; the reset compares and hashes; the refused one neither
		`keyhaven_password_hash_queue_wait_seconds_count`:                                   4,
		`keyhaven_api_replies_total{route="POST /api/v3/reset-password",status_code="400"}`: 1,
	}
	for k, d := range want {
		if got := after[k] - before[k]; got != d {
			t.Errorf("%s moved by %v, want %v", k, got, d)
		}
	}
	for _, k := range []string{"keyhaven_outbox_depth", "keyhaven_outbox_oldest_age_seconds",
		`keyhaven_build_info{version="` + httpapi.Version + `"}`, "process_resident_memory_bytes", "go_goroutines"} {
		if _, ok := after[k]; !ok {
			t.Errorf("%s is not exported", k)
		}
	}

	logs := env.Logs.String()
	for _, secret := range []string{pw, newPW, code, tok, access} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret (%.6s…)", secret)
		}
	}
	if bad.RequestID == "" || !strings.Contains(logs, `"request_id":"`+bad.RequestID+`"`) {
		t.Errorf("no log line carries the envelope's requestId %q", bad.RequestID)
	}
	// The wrong password went out as HTTP 200; its access-log line says
	// what the envelope said.
	if !strings.Contains(logs, `"request_id":"`+bad.RequestID+`","method":"POST","route":"POST /api/v3/signin","status":200,"status_code":401,"api_code":40101`) {
		t.Errorf("the failed sign-in's access-log line lacks its envelope's status_code and api_code:\n%s", logs)
	}
	// A path no route matches is "unmatched" in the log, as in the metrics.
	khtest.Get(t, env.URL+"/no/such/path")
	if !strings.Contains(env.Logs.String(), `"route":"unmatched","status":404`) {
		t.Errorf("an unmatched path's access-log line does not say route unmatched")
	}
	// An unknown /api/v3 route answers 404 in an HTTP 200 envelope: logged so.
	env.Do("GET", "/api/v3/no-such-route", nil)
	if !strings.Contains(env.Logs.String(), `"route":"/api/v3/","status":200,"status_code":404,"api_code":40400`) {
		t.Errorf("an unknown /api/v3 route's access-log line lacks its envelope's status")
	}
}

// countedStats is a real store whose outbox reads are counted.
type countedStats struct {
	*sqlite.Store
	reads atomic.Int64
}

func (c *countedStats) OutboxStats(ctx context.Context) (int, time.Time, error) {
	c.reads.Add(1)
	return c.Store.OutboxStats(ctx)
}

// Scrapes close together share one read of the outbox (it counts the whole
// table); a later one reads it again and sees what changed.
func TestOutboxGaugesReadAtMostOncePerInterval(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stats := &countedStats{Store: st}
	m := ops.NewMetrics(ops.Options{Outbox: stats, OutboxEvery: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)

	for range 5 {
		if d := scrape(t, srv.URL)["keyhaven_outbox_depth"]; d != 0 {
			t.Fatalf("depth %v, want 0", d)
		}
	}
	if n := stats.reads.Load(); n != 1 {
		t.Fatalf("5 scrapes in a row read the outbox %d times, want 1", n)
	}
	now := time.Now()
	if _, err := st.Enqueue(context.Background(), store.OutboxMessage{Kind: "email", Payload: []byte("{}"),
		CreatedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if d := scrape(t, srv.URL)["keyhaven_outbox_depth"]; d != 1 {
		t.Fatalf("depth %v after the interval, want 1", d)
	}
	if n := stats.reads.Load(); n != 2 {
		t.Fatalf("the outbox was read %d times, want 2", n)
	}
}
