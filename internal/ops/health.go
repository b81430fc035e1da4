package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/store/sqldb"
)

// Check is one readiness condition. Run returns nil when it holds; its
// error is logged, never shown to the caller (it may name hosts or paths).
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Pinger is the store's liveness call (store.Store.Ping).
type Pinger interface {
	Ping(ctx context.Context) error
}

// DatabaseCheck passes while the database answers.
func DatabaseCheck(p Pinger) Check {
	return Check{Name: "database", Run: p.Ping}
}

// MigrationLister is implemented by stores that report their migrations.
type MigrationLister interface {
	MigrationStatus(ctx context.Context) ([]sqldb.MigrationState, error)
}

// MigrationsCheck passes when every migration this build embeds is applied:
// a replica started ahead of its database's schema is not ready. Once they
// are, it stops asking: migrations are never unapplied, and the listing
// takes SQLite's one write connection, which a probe should not queue for
// under load.
func MigrationsCheck(l MigrationLister) Check {
	var applied atomic.Bool
	return Check{Name: "migrations", Run: func(ctx context.Context) error {
		if applied.Load() {
			return nil
		}
		states, err := l.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		pending := 0
		for _, m := range states {
			if m.AppliedAt.IsZero() {
				pending++
			}
		}
		if pending > 0 {
			return fmt.Errorf("%d of %d migrations not applied", pending, len(states))
		}
		applied.Store(true)
		return nil
	}}
}

// Healthz answers 200 while the process serves HTTP at all: a liveness
// probe that fails only when restarting the process is the cure. It checks
// no dependency, so a database outage does not get every replica killed.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProbe(w, http.StatusOK, probeReply{Status: "ok"})
	})
}

// Readyz answers 200 when every check passes within timeout, 503 otherwise,
// naming each check as "ok" or "failing". Failures are logged with the
// error; the reply carries no error text.
func Readyz(log *slog.Logger, timeout time.Duration, checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		out := probeReply{Status: "ready", Checks: map[string]string{}}
		code := http.StatusOK
		for _, c := range checks {
			if err := c.Run(ctx); err != nil {
				log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed",
					slog.String("check", c.Name), slog.String("err", err.Error()))
				out.Checks[c.Name] = "failing"
				out.Status, code = "not ready", http.StatusServiceUnavailable
				continue
			}
			out.Checks[c.Name] = "ok"
		}
		writeProbe(w, code, out)
	})
}

type probeReply struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func writeProbe(w http.ResponseWriter, code int, v probeReply) {
	b, _ := json.Marshal(v) // a struct of strings always marshals
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
