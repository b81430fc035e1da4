// Package sqlite opens Keyhaven's embedded store: one SQLite file through
// modernc.org/sqlite (no cgo), in WAL mode, migrated at open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyhaven/keyhaven/internal/store/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect is SQLite's flavour of the shared SQL.
var Dialect = sqldb.Dialect{
	Name: "sqlite",
	IsUniqueViolation: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
}

// Migrations returns the embedded migrations.
func Migrations() ([]sqldb.Migration, error) {
	return sqldb.LoadMigrations(migrationFiles, "migrations")
}

// Store is the SQLite store.
type Store struct {
	*sqldb.DB
	write *sql.DB
}

// dsn: WAL so readers never wait for the writer; synchronous=FULL so a
// committed reset survives power loss, not only a process crash; immediate
// transactions so two writers never deadlock upgrading a read lock.
func dsn(path string, readOnly bool) string {
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		v.Add("_pragma", p)
	}
	if readOnly {
		v.Add("_pragma", "query_only(1)")
	} else {
		v.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + v.Encode()
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory %s: %w", dir, err)
		}
	}
	// The file holds the signing keys, the pepper and the password hashes:
	// create it for its owner alone, whatever the umask or the directory's
	// mode (SQLite gives its -wal and -shm files the database's mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer: SQLite serialises writes anyway, and queuing in the pool is
	// cheaper than spinning on SQLITE_BUSY.
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	migs, err := Migrations()
	if err != nil {
		write.Close()
		return nil, err
	}
	if _, err := sqldb.Migrate(ctx, write, Dialect, migs, time.Now()); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	// Group commit: writers waiting together share one commit's fsync.
	return &Store{DB: sqldb.NewGrouped(read, write, Dialect), write: write}, nil
}

// Status lists the migrations and which are applied to the file at path,
// without creating or changing anything.
func Status(ctx context.Context, path string) ([]sqldb.MigrationState, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return sqldb.ReadStatus(ctx, noRows{}, Dialect, migs)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return sqldb.ReadStatus(ctx, db, Dialect, migs)
}

// noRows stands for a database that does not exist yet.
type noRows struct{ sqldb.Conn }

func (noRows) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, os.ErrNotExist
}

// MigrationStatus lists the embedded migrations and when each was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]sqldb.MigrationState, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	return sqldb.Status(ctx, s.write, Dialect, migs)
}
