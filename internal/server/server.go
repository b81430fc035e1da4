// Package server is Keyhaven's composition root: it turns a Config into a
// running server (store, keys, services, outbox worker, HTTP) and runs it
// until its context ends, draining in-flight requests and sends.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/keyring"
	"github.com/keyhaven/keyhaven/internal/messages"
	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/ops"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/pwhash"
	"github.com/keyhaven/keyhaven/internal/recovery"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/postgres"
	"github.com/keyhaven/keyhaven/internal/store/sqldb"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Server is a wired Keyhaven.
type Server struct {
	Config   config.Config
	Store    store.Store
	Keys     *keyring.Ring
	Accounts *account.Service
	Recovery *recovery.Service
	Sessions *session.Service
	Worker   *notify.Worker
	HTTP     *httpapi.Server
	Log      *slog.Logger
	// Metrics counts requests, hashing, codes and the outbox (/metrics).
	Metrics *ops.Metrics
	// MetricsListener, if set before Run, serves /metrics in place of the
	// API's listener (KEYHAVEN_METRICS_LISTEN).
	MetricsListener net.Listener
	// BootstrapApp is the installation's first app when no credentials are
	// configured; Secret is set only on the start that created it (it is
	// shown once).
	BootstrapApp struct{ ID, Secret string }
}

// Options are the parts a caller may supply (tests: a clock).
type Options struct {
	Now func() time.Time
	// Mount adds handlers (hosted page, metrics) to the HTTP mux.
	Mount func(s *Server, mux *http.ServeMux)
}

// OpenStore opens the database the config names.
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	driver, source, err := cfg.Database()
	if err != nil {
		return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DBConnectTimeout)
	defer cancel()
	switch driver {
	case "sqlite":
		st, err := sqlite.Open(ctx, source)
		if err != nil {
			return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: %w", err)
		}
		return st, nil
	case "postgres":
		st, err := postgres.Open(ctx, source, cfg.DBMaxConns)
		if err != nil {
			return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: unsupported driver %q", driver)
}

// MigrationStatus lists the migrations of the configured database without
// applying any.
func MigrationStatus(ctx context.Context, cfg config.Config) ([]sqldb.MigrationState, error) {
	driver, source, err := cfg.Database()
	if err != nil {
		return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DBConnectTimeout)
	defer cancel()
	var states []sqldb.MigrationState
	if driver == "postgres" {
		states, err = postgres.Status(ctx, source)
	} else {
		states, err = sqlite.Status(ctx, source)
	}
	if err != nil {
		return nil, fmt.Errorf("KEYHAVEN_DATABASE_URL: %w", err)
	}
	return states, nil
}

// CheckSettings parses the settings config.Load leaves to the packages that
// use them (the password hash, the SMTP and SMS webhook URLs), reporting
// every problem at once, so start-up can report them with config.Load's.
func CheckSettings(cfg config.Config) error {
	var errs []error
	if _, err := pwhash.ParseSpec(cfg.PasswordHash); err != nil {
		errs = append(errs, fmt.Errorf("KEYHAVEN_PASSWORD_HASH: %w", err))
	}
	if cfg.SMTPURL != "" {
		if _, err := notify.ParseSMTPURL(cfg.SMTPURL.Reveal()); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.SMSWebhookURL != "" {
		if _, err := notify.ParseSMSWebhookURL(cfg.SMSWebhookURL.Reveal()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// New opens the store and wires every service. The caller must Close it.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	spec, err := pwhash.ParseSpec(cfg.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("KEYHAVEN_PASSWORD_HASH: %w", err)
	}
	emailSender, smsSender, err := senders(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var logged []string // messages written to the log instead of sent
	if cfg.SMTPURL == "" {
		logged = append(logged, "email")
	}
	if cfg.SMSWebhookURL == "" {
		logged = append(logged, "sms")
	}
	s := &Server{Config: cfg, Store: st, Log: log,
		Metrics: ops.NewMetrics(ops.Options{Outbox: st, Now: o.Now, Version: httpapi.Version, Logger: log, LoggedKinds: logged,
			CodeChannels: account.CodeChannels()})}
	if driver, _, _ := cfg.Database(); driver == "postgres" && cfg.PublicURL == "" {
		log.Warn("KEYHAVEN_PUBLIC_URL is not set: every replica must share one public URL, or replicas refuse each other's tokens")
	}
	if err := s.bootstrap(ctx, o.Now()); err != nil {
		st.Close()
		return nil, err
	}
	if s.Keys, err = keyring.Load(ctx, st, cfg.Issuer()); err != nil {
		st.Close()
		return nil, err
	}
	// A short lease: a crashed replica's claimed messages go out again soon.
	s.Worker = notify.NewWorker(st, emailSender, smsSender, notify.WorkerOptions{Now: o.Now, Logger: log, Lease: 15 * time.Second, Concurrency: cfg.SendConcurrency,
		Observer: s.Metrics})
	wake := s.Worker.Queued
	pw := &account.Passwords{
		Hasher: pwhash.NewHasher(spec, cfg.HashConcurrency, s.Metrics),
		Policy: pwhash.Policy{MinLength: cfg.PasswordMinLength, MaxLength: 128},
		Keys:   s.Keys.Transport,
	}
	codes := passcode.NewService(st, s.Keys.Pepper, passcode.Limits{TTL: cfg.CodeTTL, Interval: cfg.CodeInterval,
		MaxAttempts: cfg.CodeMaxAttempts, HourlyCap: cfg.CodeHourlyCap, DailyFailures: cfg.CodeDailyFailures}, o.Now, wake, s.Metrics.CodeSpent)
	s.Sessions = session.NewService(st, s.Keys.Signer, token.Alg(cfg.AccessTokenAlg), s.Keys.Pepper, cfg.AccessTokenTTL, cfg.RefreshTokenTTL, o.Now)
	msgs := messages.New(cfg.ProductName, cfg.DefaultPhoneRegion, o.Now)
	s.Accounts = account.NewService(account.Options{Store: st, Passwords: pw, Codes: codes, Sessions: s.Sessions,
		Signer: s.Keys.Signer, Messages: msgs, Region: cfg.DefaultPhoneRegion, Now: o.Now, Wake: wake, FailLimit: cfg.PasswordFailures,
		SMSHourlyCap: cfg.SMSHourlyCap, SMSRegions: cfg.SMSRegions})
	s.Recovery = recovery.NewService(st, s.Accounts, msgs, s.Keys.Pepper, cfg.ResetTokenTTL, o.Now, wake)
	s.HTTP = httpapi.New(httpapi.Options{Store: st, Accounts: s.Accounts, Recovery: s.Recovery, Sessions: s.Sessions,
		Keys: s.Keys, Logger: log, Now: o.Now, RateLimitPerIP: cfg.RateLimitPerIP, TrustedProxies: cfg.TrustedProxies,
		Issuer: cfg.Issuer(), Observe: s.Metrics.ObserveRequest, Outcome: s.Metrics.ObserveOutcome,
		Extra: func(mux *http.ServeMux) {
			if o.Mount != nil {
				o.Mount(s, mux)
			}
		}})
	return s, nil
}

func senders(cfg config.Config, log *slog.Logger) (notify.EmailSender, notify.SMSSender, error) {
	var email notify.EmailSender
	var sms notify.SMSSender
	if cfg.SMTPURL == "" {
		log.Warn("KEYHAVEN_SMTP_URL is not set: email is written to this log instead of being sent (development only)")
		email = notify.NewLogEmailSender(log)
	} else {
		sc, err := notify.ParseSMTPURL(cfg.SMTPURL.Reveal())
		if err != nil {
			return nil, nil, err
		}
		sc.MaxIdle = cfg.SendConcurrency
		email = notify.NewSMTPSender(sc)
	}
	if cfg.SMSWebhookURL == "" {
		log.Warn("KEYHAVEN_SMS_WEBHOOK_URL is not set: SMS is written to this log instead of being sent (development only)")
		sms = notify.NewLogSMSSender(log)
	} else {
		u, err := notify.ParseSMSWebhookURL(cfg.SMSWebhookURL.Reveal())
		if err != nil {
			return nil, nil, err
		}
		sms = notify.NewWebhookSMSSender(u, nil)
	}
	return email, sms, nil
}

// HashSecret is how app secrets are stored.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewAppCredentials returns a fresh app id and secret.
func NewAppCredentials() (id, secret string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return session.NewID(), hex.EncodeToString(b)
}

// bootstrap makes sure the configured app exists, or creates the first app
// of an empty installation (once, across replicas).
func (s *Server) bootstrap(ctx context.Context, now time.Time) error {
	cfg := s.Config
	if cfg.AppID != "" {
		err := s.Store.PutApp(ctx, store.App{ID: cfg.AppID, Name: "bootstrap", SecretHash: HashSecret(cfg.AppSecret.Reveal()), CreatedAt: now})
		if err != nil {
			return fmt.Errorf("KEYHAVEN_APP_ID: store bootstrap app: %w", err)
		}
		return nil
	}
	id, secret := NewAppCredentials()
	app, created, err := s.Store.BootstrapApp(ctx, store.App{ID: id, Name: "default", SecretHash: HashSecret(secret), CreatedAt: now})
	if err != nil {
		return fmt.Errorf("bootstrap app: %w", err)
	}
	s.BootstrapApp.ID = app.ID
	if created {
		s.BootstrapApp.Secret = secret
	}
	return nil
}

// Close closes the store.
func (s *Server) Close() error { return s.Store.Close() }

// CloseWithin is Close waiting at most wait for the queries in flight
// (database/sql's Close waits for every one): a hung database must not
// keep the process from exiting.
func (s *Server) CloseWithin(wait time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- s.Store.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		return fmt.Errorf("close the database: still busy after %s", wait)
	}
}

// Run serves on ln until ctx ends, then stops accepting, lets in-flight
// requests finish (up to drain) and the outbox worker finish its sends.
func (s *Server) Run(ctx context.Context, ln net.Listener, drain time.Duration) error {
	srv := &http.Server{Handler: s.HTTP, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)}
	if s.MetricsListener != nil {
		// Only /metrics, for the monitoring network: its counts would tell
		// the public whether a code went out. It stops with the process.
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.Metrics.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: srv.ErrorLog}
		go func() {
			if err := msrv.Serve(s.MetricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Log.Error("metrics listener stopped", "err", err)
			}
		}()
		defer msrv.Close()
	}
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Worker.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			s.Log.Error("outbox worker stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		s.sweep(bg)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.Log.Info("keyhaven shutting down: finishing requests in flight", "drain_s", drain.Seconds())
		sctx, cancel := context.WithTimeout(context.Background(), drain)
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			// Past the drain: cut what is left, so the process exits now
			// rather than when the slowest request (or a hung database)
			// lets go. Their handlers see their contexts end.
			s.Log.Warn("keyhaven shutdown: requests still running after the drain were cut", "err", err)
			_ = srv.Close()
		}
		<-errc
	}
	stopBG()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sweep deletes expired rows every few minutes.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Store.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
				s.Log.Warn("sweep failed", "err", err)
			}
		}
	}
}

// NewLogger builds the process logger from the config.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Version is the server version.
func Version() string { return httpapi.Version }
