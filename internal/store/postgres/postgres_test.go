package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/postgres"
	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/store/storetest"
)

// open opens a store on a fresh database with a pool wide enough for the
// suite's racers to really run at once.
func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, url, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	pgtest.AdminURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		// Commits need not wait for the disk here: nothing in the suite
		// survives a power cut, and on a busy machine fsync dominates.
		return open(t, pgtest.Fresh(t, "test")+"&synchronous_commit=off")
	})
}

// Replicas starting together on an empty database migrate once: the others
// wait on the advisory lock and find nothing left to do.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.Fresh(t, "test")
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*postgres.Store, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), url, 2)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	states, err := stores[0].MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.AppliedAt.IsZero() {
			t.Fatalf("migration %04d not applied", s.Version)
		}
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(states) {
		t.Fatalf("schema_migrations has %d rows for %d migrations", rows, len(states))
	}
	// The lock was released: another start does not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, url, 1)
	if err != nil {
		t.Fatalf("open after the others: %v", err)
	}
	st.Close()
}

// Both stores carry the same schema history: every migration exists for
// both databases under the same number and name.
func TestMigrationsLineUp(t *testing.T) {
	pg, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) {
		t.Fatalf("%d PostgreSQL migrations, %d SQLite migrations", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: PostgreSQL %04d_%s, SQLite %04d_%s", i, pg[i].Version, pg[i].Name, lite[i].Version, lite[i].Name)
		}
	}
}

// Start-up errors never show the password, even when the server names the
// user or the database in its answer.
func TestOpenErrorsHidePassword(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"unreachable", "postgres://kh:secretpw@127.0.0.1:1/kh?sslmode=disable"},
		{"bad option", "postgres://kh:secretpw@127.0.0.1:5432/kh?sslmode=bogus"},
		{"escaped password", "postgres://kh:secret%2Fpw@127.0.0.1:1/kh?sslmode=disable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Unreachable is tried again until the deadline.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := postgres.Open(ctx, tc.url, 1)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "secretpw") || strings.Contains(msg, "secret/pw") || strings.Contains(msg, "secret%2Fpw") {
				t.Fatalf("error shows the password: %s", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error spans lines: %q", msg)
			}
		})
	}
	t.Run("wrong database", func(t *testing.T) {
		admin := pgtest.AdminURL(t)
		u := strings.Replace(admin, "postgres://postgres@", "postgres://postgres:secretpw@", 1)
		u = strings.Replace(u, "/postgres?", "/kh_no_such_database?", 1)
		_, err := postgres.Open(context.Background(), u, 1)
		if err == nil || strings.Contains(err.Error(), "secretpw") || !strings.Contains(err.Error(), "kh_no_such_database") {
			t.Fatalf("Open = %v; want an error naming the database, without the password", err)
		}
	})
}

// A database that is not listening yet (starting beside Keyhaven) is
// tried again until the connect timeout: here it starts listening half a
// second after Open began.
func TestOpenWaitsForTheServerToListen(t *testing.T) {
	dbURL := pgtest.Fresh(t, "late")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	ln.Close() // nothing listens there for now
	go func() {
		time.Sleep(500 * time.Millisecond)
		ln, err := net.Listen("tcp", u.Host)
		if err != nil {
			return // the port was taken meanwhile: Open fails, and says so
		}
		t.Cleanup(func() { ln.Close() })
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go forward(c, target)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	st, err := postgres.Open(ctx, u.String(), 2)
	if err != nil {
		t.Fatalf("Open of a server that listens after 0.5 s: %v", err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("opened after %s, before anything listened", d)
	}
}

// forward copies c to and from a new connection to addr.
func forward(c net.Conn, addr string) {
	defer c.Close()
	d, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer d.Close()
	go func() { _, _ = io.Copy(d, c) }()
	_, _ = io.Copy(c, d)
}

func TestUniqueViolation(t *testing.T) {
	if postgres.Dialect.IsUniqueViolation(errors.New("duplicate key")) {
		t.Fatal("a plain error counts as a unique violation")
	}
}

// inFlight makes a store on a fresh database with user u in it, and opens
// a transaction of its own on the same database: a writer in flight.
func inFlight(t *testing.T, u store.User) (*postgres.Store, *sql.Tx) {
	t.Helper()
	url := pgtest.Fresh(t, "test")
	st := open(t, url)
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return st, tx
}

// A reset token is stored only for the address's holder, even while a
// change of that address is in flight (updated, not yet committed): under
// READ COMMITTED an unlocked check would read the old address from its
// snapshot and store a token that outlives the change.
func TestResetTokenWaitsForAnAddressChangeInFlight(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: "u-race", Email: "old@example.com", EmailKey: "old@example.com", Status: "Activated",
		CreatedAt: now, UpdatedAt: now}
	st, tx := inFlight(t, u)
	if _, err := tx.ExecContext(ctx, "UPDATE users SET email = 'new@example.com', email_key = 'new@example.com' WHERE id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- st.CreateResetToken(ctx, store.ResetToken{TokenHash: []byte("race-token-hash-0000000000000000"), UserID: u.ID,
			AppID: "app", CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), EmailKey: "old@example.com"})
	}()
	// It waits (so would the insert's foreign-key check without the
	// lock); what matters is what it sees once the change commits.
	select {
	case err := <-done:
		t.Fatalf("CreateResetToken did not wait for the change in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateResetToken for the old address after the change: %v, want ErrNotFound", err)
	}
	if _, err := st.GetResetToken(ctx, []byte("race-token-hash-0000000000000000"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token was stored for the old address: %v", err)
	}
}

// The lock CreateResetToken takes on the user row must not deadlock with a
// reset in flight, which holds its token row and then updates the user:
// a stronger lock (FOR SHARE) made PostgreSQL abort one of them.
func TestResetTokenDoesNotDeadlockWithAResetInFlight(t *testing.T) {
	ctx := t.Context()
	st, tx, u, old := resetInFlight(t)
	now := old.CreatedAt
	fresh := old
	fresh.TokenHash = []byte("new-token-hash-00000000000000000")
	done := make(chan error, 1)
	go func() { done <- st.CreateResetToken(ctx, fresh) }()
	time.Sleep(200 * time.Millisecond) // CreateResetToken now holds the user row and waits for the old token's
	if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = 'new' WHERE id = $1", u.ID); err != nil {
		t.Fatalf("the reset's update of the user: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the reset's commit: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("CreateResetToken beside a reset in flight: %v", err)
	}
	if _, err := st.GetResetToken(ctx, fresh.TokenHash, now); err != nil {
		t.Fatalf("the new token: %v", err)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// resetInFlight makes a user with a live reset token, and a transaction
// that has claimed the token as ResetPassword does first (its token row
// locked) and has not yet updated the user.
func resetInFlight(t *testing.T) (*postgres.Store, *sql.Tx, store.User, store.ResetToken) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: "u-1", Email: "ann@example.com", EmailKey: "ann@example.com", PasswordHash: "old", Status: "Activated",
		CreatedAt: now, UpdatedAt: now}
	st, tx := inFlight(t, u)
	tok := store.ResetToken{TokenHash: []byte("old-token-hash-00000000000000000"), UserID: u.ID, AppID: "app",
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), EmailKey: u.EmailKey}
	if err := st.CreateResetToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "UPDATE reset_tokens SET used_at = $1 WHERE token_hash = $2", ms(now), tok.TokenHash); err != nil {
		t.Fatal(err)
	}
	return st, tx, u, tok
}

// An account deletion and a reset of the same account can still meet in a
// lock cycle (the reset holds its token and waits for the user's row, the
// deletion holds the row and waits for the tokens): PostgreSQL aborts one,
// and the store runs its victim again rather than fail.
func TestDeadlockVictimRunsAgain(t *testing.T) {
	ctx := t.Context()
	st, tx, u, _ := resetInFlight(t)
	done := make(chan error, 1)
	go func() { done <- st.DeleteUser(ctx, u.ID, "", nil) }()
	time.Sleep(200 * time.Millisecond) // the deletion holds the user's row and waits for the token
	// The reset takes the user's row: a cycle. The deletion, waiting
	// longer, finds it first and is the victim.
	_, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = 'new' WHERE id = $1", u.ID)
	if err == nil {
		err = tx.Commit()
	}
	t.Logf("the reset in flight: %v", err)
	if err := <-done; err != nil {
		t.Fatalf("DeleteUser beside a reset in flight: %v", err)
	}
	if _, err := st.GetUserByID(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the user after DeleteUser: %v", err)
	}
}
