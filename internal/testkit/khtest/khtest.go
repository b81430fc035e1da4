// Package khtest starts a real Keyhaven server for tests: real HTTP on
// loopback, a real SQLite file (or the PostgreSQL database a test names),
// an SMTP server speaking real SMTP and an SMS webhook receiver.
package khtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/server"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// Env is a running server and its sinks.
type Env struct {
	URL       string
	AppID     string
	AppSecret string
	Mail      *mailsink.Sink
	SMS       *smssink.Sink
	Server    *server.Server
	Config    config.Config
	Logs      *Logs
	t         testing.TB
	client    *http.Client
}

// Setup is what options may change before the server starts.
type Setup struct {
	Config config.Config
	Now    func() time.Time
}

// Option changes the setup.
type Option func(*Setup)

// FastHash uses cheap argon2id parameters: tests that do not measure
// hashing should not spend seconds on it under -race.
func FastHash(s *Setup) { s.Config.PasswordHash = "argon2id:m=1024,t=1,p=1" }

// WithConfig changes the config.
func WithConfig(f func(*config.Config)) Option { return func(s *Setup) { f(&s.Config) } }

// WithClock makes the server read time from c.
func WithClock(c *Clock) Option { return func(s *Setup) { s.Now = c.Now } }

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at the real time.
func NewClock() *Clock { return &Clock{t: time.Now().UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	mail := mailsink.Start(t)
	sms := smssink.Start(t)
	cfg := config.Default()
	cfg.DatabaseURL = config.Secret("sqlite://" + filepath.Join(t.TempDir(), "keyhaven.db"))
	cfg.SMTPURL = config.Secret(mail.URL())
	cfg.SMSWebhookURL = config.Secret(sms.URL())
	cfg.AppID, cfg.AppSecret = "app-test-0001", "test-secret-0123456789abcdef"
	cfg.RateLimitPerIP = 0
	cfg.Listen = "127.0.0.1:0"
	setup := Setup{Config: cfg}
	for _, o := range opts {
		o(&setup)
	}
	cfg = setup.Config
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	logs := &Logs{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg, log, server.Options{Mount: server.Mount, Now: setup.Now})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, 5*time.Second) }()
	// The env's own connections: a connection dialled for a request that
	// another one served stays unused, and the server's shutdown waits 5 s
	// for a connection that never sent a request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	return &Env{URL: "http://" + ln.Addr().String(), AppID: cfg.AppID, AppSecret: cfg.AppSecret.Reveal(),
		Mail: mail, SMS: sms, Server: s, Config: cfg, Logs: logs, t: t, client: &http.Client{Transport: tr}}
}

// Reply is a decoded /api/v3 envelope.
type Reply struct {
	HTTPStatus int
	Header     http.Header
	StatusCode int            `json:"statusCode"`
	Message    string         `json:"message"`
	APICode    int            `json:"apiCode"`
	RequestID  string         `json:"requestId"`
	Data       map[string]any `json:"data"`
	Raw        []byte
}

// Do sends a request with the app header and decodes the envelope. body may
// be a string (sent as is) or a value (sent as JSON).
func (e *Env) Do(method, path string, body any, header ...string) Reply {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-authing-app-id", e.AppID)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := Reply{HTTPStatus: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("%s %s: reply is not JSON: %v: %s", method, path, err, raw)
	}
	return out
}

// Get fetches a plain (non-envelope) endpoint such as /healthz or
// /metrics and returns its status and body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// PostForm posts v as a form to an OAuth endpoint such as /oidc/token and
// returns the status and the decoded JSON reply (nil if it is not JSON).
func PostForm(t testing.TB, url string, v neturl.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return DoJSON(t, req)
}

// DoJSON sends r and returns the status and the decoded JSON reply (nil if
// it is not JSON): for the /oidc endpoints, which answer outside the
// envelope.
func DoJSON(t testing.TB, r *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// Post is Do("POST", ...).
func (e *Env) Post(path string, body any, header ...string) Reply {
	e.t.Helper()
	return e.Do(http.MethodPost, path, body, header...)
}

// Str returns a string field of Data.
func (r Reply) Str(key string) string {
	s, _ := r.Data[key].(string)
	return s
}

// MustOK fails the test unless statusCode is 200.
func (r Reply) MustOK(t testing.TB) Reply {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("want statusCode 200, got %d: %s", r.StatusCode, r.Raw)
	}
	return r
}

// Client is the env's HTTP client, safe from any goroutine. Tests sending
// concurrent requests use it, not http.DefaultClient: a connection dialled
// and left unused would hold the server's shutdown for 5 s, and the env
// closes its own client's idle ones first.
func (e *Env) Client() *http.Client { return e.client }

// SignUp registers an email/password account.
func (e *Env) SignUp(email, password string) Reply {
	e.t.Helper()
	return e.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": password}}).MustOK(e.t)
}

// SignIn signs in by email and password.
func (e *Env) SignIn(email, password string) Reply {
	e.t.Helper()
	return e.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": password}})
}

// ResetCode asks for a reset code by email and returns it from the inbox.
func (e *Env) ResetCode(email string) string {
	e.t.Helper()
	e.Post("/api/v3/send-email", map[string]any{"email": email, "channel": "CHANNEL_RESET_PASSWORD"}).MustOK(e.t)
	return e.CodeFor(email)
}

// CodeFor waits for the next mail to email that carries a code, skipping
// notices.
func (e *Env) CodeFor(email string) string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c := e.Mail.WaitFor(e.t, email, time.Until(deadline)).Code(); c != "" {
			return c
		}
	}
	e.t.Fatalf("no code reached %s", email)
	return ""
}

// ResetToken runs send-email and verify and returns the reset token.
func (e *Env) ResetToken(email string) string {
	e.t.Helper()
	code := e.ResetCode(email)
	r := e.Post("/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]any{"email": email, "passCode": code}}).MustOK(e.t)
	return r.Str("passwordResetToken")
}

// Logs is the server's log, safe to read while the server writes.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// T returns the test the environment belongs to.
func (e *Env) T() testing.TB { return e.t }
