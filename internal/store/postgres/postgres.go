// Package postgres opens Keyhaven's shared store: a PostgreSQL database
// through github.com/jackc/pgx/v5 (database/sql driver), migrated at open
// under an advisory lock so replicas starting together migrate once.
//
// The SQL itself lives in package sqldb and is the same for SQLite; this
// package supplies the dialect, the pool and the migrations.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyhaven/keyhaven/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect is PostgreSQL's flavour of the shared SQL.
var Dialect = sqldb.Dialect{
	Name:        "postgres",
	Numbered:    true,
	SkipLocked:  " FOR UPDATE SKIP LOCKED",
	PostgresSQL: true,
	IsUniqueViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505" // unique_violation
	},
	IsRetryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001") // deadlock_detected, serialization_failure
	},
}

// migrationLock is the pg_advisory_lock key every Keyhaven replica takes
// while it migrates ("keyhaven" in ASCII, as a bigint).
const migrationLock int64 = 0x6b6579686176656e

// Migrations returns the embedded migrations.
func Migrations() ([]sqldb.Migration, error) {
	return sqldb.LoadMigrations(migrationFiles, "migrations")
}

// Store is the PostgreSQL store.
type Store struct {
	*sqldb.DB
	pool *sql.DB // writes, migrations
	read *sql.DB // reads; pool itself with one connection in all
}

// Open connects to the database at rawURL (postgres://...), with at most
// maxConns connections in all (a quarter of them for reads), and applies
// pending migrations under an advisory lock. ctx bounds the whole
// start-up: connecting, waiting for another replica's migration and
// migrating; its deadline also becomes the timeout of every later
// connection attempt, unless the URL sets connect_timeout itself. Errors
// never contain the URL's password.
func Open(ctx context.Context, rawURL string, maxConns int) (*Store, error) {
	red := newRedactor(rawURL)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, red.wrap("postgres: parse URL", err)
	}
	if cfg.ConnectTimeout == 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) > 0 {
			cfg.ConnectTimeout = time.Until(dl)
		}
	}
	// Reads get a quarter of the connections (none of their own with one
	// connection in all), planned once: genericPlans.
	reads := 0
	if maxConns > 1 {
		reads = max(1, maxConns/4)
	}
	write := openPool(cfg, max(1, maxConns-reads))
	if err := untilReachable(ctx, func() error { return migrate(ctx, write) }); err != nil {
		write.Close()
		return nil, red.wrap("postgres", err)
	}
	read := write
	if reads > 0 {
		read = openPool(cfg, reads, genericPlans(cfg)...)
	}
	return &Store{DB: sqldb.New(read, write, Dialect), pool: write, read: read}, nil
}

func openPool(cfg *pgx.ConnConfig, conns int, opts ...stdlib.OptionOpenDB) *sql.DB {
	pool := stdlib.OpenDB(*cfg, opts...)
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	// Recycle connections now and then so a failover or a load balancer in
	// front of the database spreads them again.
	pool.SetConnMaxLifetime(30 * time.Minute)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return pool
}

// genericPlans has a read connection plan each prepared statement once.
// Every read looks rows up by key, where the generic plan is the plan; but
// PostgreSQL plans a statement afresh on every execution when its plan for
// the actual parameters looks cheaper, and for the merged session read (a
// short array unnested against a LATERAL lookup) it always does: planning
// was half or more of PostgreSQL's work for get-profile. Writes keep the default,
// as generic plans made the outbox worker slower (performance.md, change
// 18). The URL's own plan_cache_mode wins, and connections that prepare
// nothing (default_query_exec_mode other than cache_statement, as behind a
// transaction pooler) are left alone.
func genericPlans(cfg *pgx.ConnConfig) []stdlib.OptionOpenDB {
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; set || cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		return nil
	}
	return []stdlib.OptionOpenDB{stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "42704" { // undefined_object: before PostgreSQL 12
			return nil
		}
		return err
	})}
}

// Status lists the migrations and which are applied at rawURL, without
// migrating (keyhaven migrate status).
func Status(ctx context.Context, rawURL string) ([]sqldb.MigrationState, error) {
	red := newRedactor(rawURL)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, red.wrap("postgres: parse URL", err)
	}
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return nil, red.wrap("postgres: connect", err)
	}
	return sqldb.ReadStatus(ctx, db, Dialect, migs)
}

// migrate applies pending migrations on one connection that holds the
// advisory lock, so concurrent starters wait and then find nothing to do.
// untilReachable runs f again while it fails only because the server is
// not reachable yet (connection refused, or still starting up: a database
// started beside Keyhaven in Compose or Kubernetes), until ctx ends. Any
// other failure (a wrong password, a missing database) returns at once.
func untilReachable(ctx context.Context, f func() error) error {
	for {
		err := f()
		var ne *net.OpError
		var pe *pgconn.PgError
		if err == nil || !(errors.As(err, &ne) || errors.As(err, &pe) && pe.Code == "57P03") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func migrate(ctx context.Context, pool *sql.DB) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	migs, err := Migrations()
	if err == nil {
		_, err = sqldb.Migrate(ctx, conn, Dialect, migs, time.Now())
	}
	// Unlock even if ctx has ended: the connection goes back to the pool and
	// must not keep the lock. (A lost connection drops it by itself.)
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, uerr := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", migrationLock); uerr != nil {
		// Poison the connection so the pool discards it with its lock.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
	}
	return err
}

// MigrationStatus lists the embedded migrations and when each was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]sqldb.MigrationState, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	return sqldb.Status(ctx, s.pool, Dialect, migs)
}

// redactor keeps a URL's password out of error messages: pgx redacts what
// it recognises, and this catches the rest.
type redactor struct{ secrets []string }

func newRedactor(rawURL string) redactor {
	var r redactor
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			r.secrets = append(r.secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	return r
}

// wrap returns "prefix: err" on one line, with every secret replaced; it
// keeps err's chain only when nothing had to be replaced.
func (r redactor) wrap(prefix string, err error) error {
	msg := err.Error()
	clean := msg
	for _, s := range r.secrets {
		clean = strings.ReplaceAll(clean, s, "xxxxx")
	}
	clean = strings.ReplaceAll(strings.ReplaceAll(clean, "\r", " "), "\n", " ")
	if clean == msg {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return fmt.Errorf("%s: %s", prefix, clean)
}
