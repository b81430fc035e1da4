package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Migration is one versioned SQL file, NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationState is a migration and when it was applied (zero if pending).
type MigrationState struct {
	Migration
	AppliedAt time.Time
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// LoadMigrations reads every NNNN_name.sql file in dir of fsys, in order.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	fsys, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		v, _ := strconv.Atoi(m[1])
		if len(out) > 0 && out[len(out)-1].Version == v {
			return nil, fmt.Errorf("two migrations numbered %04d", v)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Conn is a *sql.DB or a *sql.Conn (PostgreSQL migrates on the connection
// that holds its advisory lock).
type Conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Status lists every known migration with the time it was applied, on a
// database opened (and so migrated) by this binary: it only reads, since
// the readiness probe, which anyone may call, runs it.
func Status(ctx context.Context, c Conn, d Dialect, migs []Migration) ([]MigrationState, error) {
	rows, err := c.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("%s: read schema_migrations: %w", d.Name, err)
	}
	return statesOf(rows, d, migs)
}

// ReadStatus is Status without writing anything: a database with no
// schema_migrations table has every migration pending.
func ReadStatus(ctx context.Context, c Conn, d Dialect, migs []Migration) ([]MigrationState, error) {
	rows, err := c.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		rows = nil // no table yet: everything is pending
	}
	return statesOf(rows, d, migs)
}

// statesOf pairs migs with the applied rows (nil rows: none applied).
func statesOf(rows *sql.Rows, d Dialect, migs []Migration) ([]MigrationState, error) {
	applied := map[int]int64{}
	if rows != nil {
		defer rows.Close()
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				return nil, fmt.Errorf("%s: read schema_migrations: %w", d.Name, err)
			}
			applied[v] = at
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("%s: read schema_migrations: %w", d.Name, err)
		}
	}
	out := make([]MigrationState, len(migs))
	for i, m := range migs {
		out[i] = MigrationState{Migration: m, AppliedAt: tm(applied[m.Version])}
	}
	return out, nil
}

// Migrate applies the pending migrations, each in its own transaction, and
// returns the versions it applied.
func Migrate(ctx context.Context, c Conn, d Dialect, migs []Migration, now time.Time) ([]int, error) {
	if _, err := c.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("%s: create schema_migrations: %w", d.Name, err)
	}
	states, err := Status(ctx, c, d, migs)
	if err != nil {
		return nil, err
	}
	var done []int
	for _, s := range states {
		if !s.AppliedAt.IsZero() {
			continue
		}
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return done, fmt.Errorf("%s: migration %04d: %w", d.Name, s.Version, err)
		}
		insert := "INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, ?, ?)"
		if d.Numbered {
			insert = "INSERT INTO schema_migrations(version, name, applied_at) VALUES($1, $2, $3)"
		}
		if _, err := tx.ExecContext(ctx, s.SQL); err != nil {
			_ = tx.Rollback()
			return done, fmt.Errorf("%s: migration %04d_%s: %w", d.Name, s.Version, s.Name, err)
		}
		if _, err := tx.ExecContext(ctx, insert, s.Version, s.Name, now.UnixMilli()); err != nil {
			_ = tx.Rollback()
			return done, fmt.Errorf("%s: record migration %04d: %w", d.Name, s.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("%s: commit migration %04d: %w", d.Name, s.Version, err)
		}
		done = append(done, s.Version)
	}
	return done, nil
}
