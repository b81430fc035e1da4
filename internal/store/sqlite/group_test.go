package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
)

// Group commit through the store's own methods, on a real file. The
// committer's internals (lost batches, panics) are tested in package sqldb.

var t0 = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func user(id, email string) store.User {
	return store.User{ID: id, Email: email, EmailKey: email, PasswordHash: "hash", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
}

func issue(st store.Store, target string, interval time.Duration) error {
	msg := store.OutboxMessage{Kind: "email", Payload: []byte(`{}`), CreatedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
	c := store.Code{Target: target, Channel: "CHANNEL_RESET_PASSWORD", CodeHash: []byte(target), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	return st.IssueCode(context.Background(), c, interval, &msg)
}

// holdWriteLock takes the file's write lock from another connection, as a
// second process could, so the store's writes queue up and then go
// together in one batch. The returned func releases it.
func holdWriteLock(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	release := sync.OnceFunc(func() {
		tx.Rollback()
		db.Close()
	})
	t.Cleanup(release)
	return release
}

// settle gives goroutines just started time to queue their writes.
func settle() { time.Sleep(200 * time.Millisecond) }

func TestGroupCommitConcurrentWritersAreDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	st := open(t, path)
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("u", i)
			if err := st.CreateUser(ctx, user(id, id+"@example.com")); err != nil {
				t.Error(err)
				return
			}
			// Success means committed: the read pool sees it at once.
			if _, err := st.GetUserByID(ctx, id); err != nil {
				t.Errorf("%s: created, then %v", id, err)
			}
			if err := issue(st, "email:"+id, 0); err != nil {
				t.Error(err)
			}
			if _, err := st.Hit(ctx, "hits", t0, t0.Add(time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, path)
	for i := range n {
		if _, err := st.GetUserByID(ctx, fmt.Sprint("u", i)); err != nil {
			t.Errorf("u%d after reopening: %v", i, err)
		}
	}
	if got, _, err := st.OutboxStats(ctx); err != nil || got != n {
		t.Errorf("outbox after reopening: %d messages (%v), want %d", got, err, n)
	}
	if got, err := st.Count(ctx, "hits", t0); err != nil || got != n {
		t.Errorf("counter after reopening: %d (%v), want %d", got, err, n)
	}
}

// Jobs that fail in a batch fail alone, their partial writes undone, while
// the rest of the batch commits.
func TestGroupCommitFailureStaysInItsJob(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	st := open(t, path)
	if err := st.CreateUser(ctx, user("owner", "owner@example.com")); err != nil {
		t.Fatal(err)
	}
	taken := store.RefreshToken{TokenHash: []byte("taken"), SessionID: "s-old", UserID: "owner", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st.CreateSession(ctx, store.Session{ID: "s-old", UserID: "owner", AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, &taken); err != nil {
		t.Fatal(err)
	}

	release := holdWriteLock(t, path)
	const racers = 6
	var wg sync.WaitGroup
	var distinct, dup, throttled [racers]error
	var badSession error
	for i := range racers {
		wg.Add(3)
		go func() {
			defer wg.Done()
			distinct[i] = st.CreateUser(ctx, user(fmt.Sprint("d", i), fmt.Sprintf("d%d@example.com", i)))
		}()
		go func() {
			defer wg.Done()
			dup[i] = st.CreateUser(ctx, user(fmt.Sprint("dup", i), "same@example.com"))
		}()
		go func() {
			defer wg.Done()
			throttled[i] = issue(st, "email:same@example.com", time.Minute)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The session row goes in, then its refresh token collides.
		rt := taken
		rt.SessionID = "s-bad"
		badSession = st.CreateSession(ctx, store.Session{ID: "s-bad", UserID: "owner", AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, &rt)
	}()
	settle()
	release()
	wg.Wait()

	dupWinners, issued := 0, 0
	for i := range racers {
		if distinct[i] != nil {
			t.Errorf("distinct user %d: %v", i, distinct[i])
		}
		switch err := dup[i]; {
		case err == nil:
			dupWinners++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("duplicate email %d: got %v, want a conflict", i, err)
		}
		switch err := throttled[i]; {
		case err == nil:
			issued++
		case !errors.Is(err, store.ErrThrottled):
			t.Errorf("code %d: got %v, want throttled", i, err)
		}
	}
	if dupWinners != 1 || issued != 1 {
		t.Errorf("%d users with the same email and %d codes within the interval, want 1 and 1", dupWinners, issued)
	}
	if !errors.Is(badSession, store.ErrConflict) {
		t.Errorf("session with a taken refresh token: got %v, want a conflict", badSession)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, path)
	for i := range racers {
		if _, err := st.GetUserByID(ctx, fmt.Sprint("d", i)); err != nil {
			t.Errorf("d%d after reopening: %v", i, err)
		}
		_, err := st.GetUserByID(ctx, fmt.Sprint("dup", i))
		if (err == nil) != (dup[i] == nil) {
			t.Errorf("dup%d: create said %v, reopened store says %v", i, dup[i], err)
		}
	}
	if _, err := st.GetSession(ctx, "s-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed session's first insert was kept: %v", err)
	}
	if n, _, err := st.OutboxStats(ctx); err != nil || n != 1 {
		t.Errorf("outbox: %d messages (%v), want the one issued code's", n, err)
	}
}

func TestGroupCommitCancelledWriteDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	st := open(t, path)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.CreateUser(cancelled, user("early", "early@example.com")); !errors.Is(err, context.Canceled) {
		t.Errorf("already cancelled: got %v", err)
	}

	// Cancelled while it waits for its batch.
	release := holdWriteLock(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- st.CreateUser(ctx, user("queued", "queued@example.com")) }()
	settle()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while queued: got %v", err)
	}
	release()
	// A later write has its batch committed after the cancelled one.
	if err := st.CreateUser(context.Background(), user("later", "later@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, path)
	for _, id := range []string{"early", "queued"} {
		if _, err := st.GetUserByID(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: cancelled write is there: %v", id, err)
		}
	}
}

func TestGroupCommitClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	st := open(t, path)

	// Writes queued before Close are committed before it returns.
	release := holdWriteLock(t, path)
	const n = 10
	var wg sync.WaitGroup
	var errs [n]error
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.CreateUser(ctx, user(fmt.Sprint("q", i), fmt.Sprintf("q%d@example.com", i)))
		}()
	}
	settle()
	closed := make(chan error)
	go func() { closed <- st.Close() }()
	settle()
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d queued before Close: %v", i, err)
		}
	}

	if err := st.CreateUser(ctx, user("late", "late@example.com")); err == nil {
		t.Error("CreateUser after Close succeeded")
	}
	if _, err := st.Hit(ctx, "late", t0, t0.Add(time.Hour)); err == nil {
		t.Error("Hit after Close succeeded")
	}
	if err := issue(st, "email:late", 0); err == nil {
		t.Error("IssueCode after Close succeeded")
	}

	st = open(t, path)
	for i := range n {
		if _, err := st.GetUserByID(ctx, fmt.Sprint("q", i)); err != nil {
			t.Errorf("q%d after reopening: %v", i, err)
		}
	}
	if _, err := st.GetUserByID(ctx, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("write after Close is there: %v", err)
	}
	if n, _, err := st.OutboxStats(ctx); err != nil || n != 0 {
		t.Errorf("outbox after a refused IssueCode: %d (%v)", n, err)
	}
}
