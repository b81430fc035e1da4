package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// The committer's rules, on a real SQLite file with the production DSN.
// Store methods cannot panic or break a transaction on purpose, so these
// tests submit their own jobs; package sqlite tests the store end to end.

func openGrouped(t *testing.T) (*DB, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "group.db")
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	write.SetMaxOpenConns(1)
	if _, err := write.Exec("CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	var read [2]*sql.DB
	for i := range read {
		if read[i], err = sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)"); err != nil {
			t.Fatal(err)
		}
	}
	db := NewGrouped(read[0], write, Dialect{Name: "sqlite", IsUniqueViolation: func(err error) bool {
		return strings.Contains(err.Error(), "UNIQUE constraint failed")
	}})
	t.Cleanup(func() {
		db.Close()
		read[1].Close()
	})
	// The second reader outlives db.Close, and sees only what is committed.
	return db, read[1]
}

func put(k string) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO kv(k, v) VALUES(?, 'x')", k)
		return err
	}
}

// committed reports whether k is in the file, as another connection sees it.
func committed(t *testing.T, read *sql.DB, k string) bool {
	t.Helper()
	var n int
	if err := read.QueryRow("SELECT COUNT(*) FROM kv WHERE k = ?", k).Scan(&n); err != nil {
		t.Error(err)
	}
	return n == 1
}

// batch holds the committer in a job of its own while jobs queue behind
// it, so the next batch is exactly those jobs, in order. release lets the
// held job finish.
type batch struct {
	t       *testing.T
	db      *DB
	release func()
	wg      sync.WaitGroup
	n       int
}

func holdCommitter(t *testing.T, db *DB) *batch {
	held, release := make(chan struct{}), make(chan struct{})
	b := &batch{t: t, db: db, release: sync.OnceFunc(func() { close(release) })}
	go db.tx(context.Background(), "hold", func(*sql.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	t.Cleanup(b.release)
	return b
}

// add submits fn and waits until it is queued.
func (b *batch) add(ctx context.Context, fn func(*sql.Tx) error) *error {
	b.t.Helper()
	errp, i := new(error), b.n
	b.n++
	n := b.queued()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		*errp = b.db.tx(ctx, fmt.Sprint("job ", i), fn)
	}()
	for deadline := time.Now().Add(5 * time.Second); b.queued() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatal("job not queued")
		}
	}
	return errp
}

func (b *batch) queued() int {
	b.db.group.mu.Lock()
	defer b.db.group.mu.Unlock()
	return len(b.db.group.queue)
}

// run lets the committer go and waits for every job added.
func (b *batch) run() {
	b.release()
	b.wg.Wait()
}

func TestGroupFailingJobFailsAlone(t *testing.T) {
	db, read := openGrouped(t)
	b := holdCommitter(t, db)
	a := b.add(context.Background(), put("a"))
	// Writes, then fails: its row must go, and the next job must not see it.
	bad := b.add(context.Background(), func(tx *sql.Tx) error {
		if err := put("b")(tx); err != nil {
			return err
		}
		return put("a")(tx) // duplicate key
	})
	var sawB bool
	c := b.add(context.Background(), func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRow("SELECT COUNT(*) FROM kv WHERE k = 'b'").Scan(&n)
		sawB = n > 0
		if err != nil {
			return err
		}
		return put("c")(tx)
	})
	b.run()
	if *a != nil || *c != nil {
		t.Fatalf("good jobs failed: %v, %v", *a, *c)
	}
	if *bad == nil || !strings.Contains((*bad).Error(), "conflict") {
		t.Fatalf("failing job: got %v, want a conflict", *bad)
	}
	if sawB {
		t.Error("a later job saw the failed job's write")
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if got := committed(t, read, k); got != want {
			t.Errorf("row %s committed = %v, want %v", k, got, want)
		}
	}
}

// A job that loses the transaction (here by ending it itself, as SQLite
// does after an interrupt or a full disk) takes down the jobs run before it
// in the batch; the jobs after it run in a fresh one, never in autocommit.
func TestGroupLostBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*sql.Tx) error
	}{
		{"failing", func(tx *sql.Tx) error {
			if _, err := tx.Exec("ROLLBACK"); err != nil {
				return err
			}
			return errors.New("interrupted")
		}},
		{"succeeding", func(tx *sql.Tx) error {
			_, err := tx.Exec("ROLLBACK")
			return err
		}},
		{"panicking", func(tx *sql.Tx) error {
			if err := put("x")(tx); err != nil {
				return err
			}
			panic("boom")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, read := openGrouped(t)
			b := holdCommitter(t, db)
			a := b.add(context.Background(), put("a"))
			bad := b.add(context.Background(), tc.fn)
			// Run on in the lost transaction, its SAVEPOINT would open
			// a new one that its RELEASE commits: c stored, yet an error.
			c := b.add(context.Background(), put("c"))
			b.run()
			if *a == nil || !errors.Is(*a, errBatchLost) {
				t.Errorf("job run before the loss: got %v, want %v", *a, errBatchLost)
			}
			if *bad == nil {
				t.Error("the job that lost the batch succeeded")
			}
			if *c != nil {
				t.Errorf("job after the loss: %v", *c)
			}
			for k, want := range map[string]bool{"a": false, "x": false, "c": true} {
				if got := committed(t, read, k); got != want {
					t.Errorf("row %s committed = %v, want %v", k, got, want)
				}
			}
			// The committer is still there.
			if err := db.tx(context.Background(), "after", put("d")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGroupCancelledJobDoesNotRun(t *testing.T) {
	db, read := openGrouped(t)
	b := holdCommitter(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	errp := b.add(ctx, func(tx *sql.Tx) error {
		ran.Store(true)
		return put("a")(tx)
	})
	ok := b.add(context.Background(), put("b"))
	cancel()
	b.run()
	if !errors.Is(*errp, context.Canceled) {
		t.Errorf("cancelled job: got %v, want %v", *errp, context.Canceled)
	}
	if ran.Load() || committed(t, read, "a") {
		t.Error("a job cancelled while queued ran")
	}
	if *ok != nil || !committed(t, read, "b") {
		t.Errorf("the job after it: %v", *ok)
	}
	// Cancelled before it is submitted: never runs either.
	if err := db.tx(ctx, "late", put("c")); !errors.Is(err, context.Canceled) || committed(t, read, "c") {
		t.Errorf("already cancelled: got %v", err)
	}
}

// A caller hears of success only once its write is committed: another
// connection sees it as soon as tx returns.
func TestGroupSuccessMeansCommitted(t *testing.T) {
	db, read := openGrouped(t)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprint("k", i)
			if err := db.tx(context.Background(), "put", put(k)); err != nil {
				t.Error(err)
				return
			}
			if !committed(t, read, k) {
				t.Errorf("%s: success before commit", k)
			}
		}()
	}
	wg.Wait()
}

func TestGroupCloseDrains(t *testing.T) {
	db, read := openGrouped(t)
	b := holdCommitter(t, db)
	var queued []*error
	for i := range 5 {
		queued = append(queued, b.add(context.Background(), put(fmt.Sprint("q", i))))
	}
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	for {
		db.group.mu.Lock()
		c := db.group.closed
		db.group.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := db.tx(context.Background(), "after close", put("late")); !errors.Is(err, errClosed) {
		t.Errorf("write after close: got %v, want %v", err, errClosed)
	}
	b.run()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, errp := range queued {
		if *errp != nil {
			t.Errorf("job %d queued before close: %v", i, *errp)
		}
	}
	for i := range 5 {
		if !committed(t, read, fmt.Sprint("q", i)) {
			t.Errorf("q%d not committed", i)
		}
	}
	if committed(t, read, "late") {
		t.Error("a write after close was committed")
	}
}
