package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit, for SQLite. Its write pool has one connection and every
// commit waits for an fsync, so writers taking turns top out near a thousand
// commits a second. The committer instead runs every write waiting at that
// moment in one transaction, each in its own savepoint, and commits them with
// one fsync. A caller returns only once the commit holding its writes is done,
// so durability is what it was; only the wait is shared.

// maxBatch bounds a batch, so one slow batch cannot hold every writer.
const maxBatch = 64

// errClosed is the answer to a write submitted after Close.
var errClosed = errors.New("store closed")

// errBatchLost is the answer to a job whose writes went down with its batch's
// transaction because of another job (or the disk). The cause is quoted but
// not wrapped: another job's conflict or throttle is not this job's.
var errBatchLost = errors.New("write batch rolled back")

// Job states: a job is taken by whoever moves it out of queued first, the
// committer (to run it) or its caller (giving up when its ctx ends).
const (
	queued int32 = iota
	running
	abandoned
)

type job struct {
	ctx   context.Context
	op    string
	fn    func(*sql.Tx) error
	state atomic.Int32
	done  chan error // buffered: the committer never waits for a caller
}

// committer runs the write pool's transactions; nothing else writes.
type committer struct {
	db      *DB
	pool    *sql.DB
	wake    chan struct{} // capacity 1: a pending wake-up is enough
	stopped chan struct{}

	mu     sync.Mutex
	queue  []*job
	closed bool
}

func newCommitter(db *DB, pool *sql.DB) *committer {
	c := &committer{db: db, pool: pool, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// do runs fn as part of a batch and returns once that batch has committed or
// failed; errors are wrapped like tx's.
func (c *committer) do(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	j := &job{ctx: ctx, op: op, fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.db.err(op, errClosed)
	}
	c.queue = append(c.queue, j)
	c.mu.Unlock()
	c.signal()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		if j.state.CompareAndSwap(queued, abandoned) {
			return c.db.err(op, ctx.Err())
		}
		// Already running: fn may still write to the caller's variables,
		// and the caller must learn whether its writes committed.
		return <-j.done
	}
}

func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close runs the jobs already queued, refuses new ones and stops the
// committer. It may be called more than once.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.stopped
}

func (c *committer) loop() {
	defer close(c.stopped)
	for {
		c.mu.Lock()
		n := min(len(c.queue), maxBatch)
		batch := slices.Clone(c.queue[:n])
		c.queue = slices.Delete(c.queue, 0, n)
		closed := c.closed
		c.mu.Unlock()
		if n == 0 {
			if closed {
				return
			}
			<-c.wake
			continue
		}
		// Each run settles at least one job, so this ends.
		for len(batch) > 0 {
			batch = c.run(batch)
		}
	}
}

// run runs batch's jobs in one transaction and commits it. If the
// transaction is lost part way, it fails the jobs already run and returns
// the ones it had not reached, to go in a fresh transaction.
func (c *committer) run(batch []*job) []*job {
	// Not a job's ctx: one caller giving up must not roll back the others.
	// The DSN's _txlock=immediate makes this BEGIN IMMEDIATE.
	tx, err := c.pool.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			if j.state.CompareAndSwap(queued, running) {
				j.done <- c.db.err(j.op, err)
			}
		}
		return nil
	}
	var ran []*job // released into the transaction: they share its commit
	for i, j := range batch {
		if !j.state.CompareAndSwap(queued, running) {
			continue // its caller has gone
		}
		if err := j.ctx.Err(); err != nil {
			j.done <- c.db.err(j.op, err)
			continue
		}
		jobErr, lost := c.step(tx, j)
		if lost != nil {
			// SQLite rolled the transaction back (interrupt, full disk, I/O
			// error) or fn panicked: running on would autocommit the next
			// jobs' statements one by one, outside any batch.
			_ = tx.Rollback()
			for _, r := range ran {
				r.done <- c.db.err(r.op, fmt.Errorf("%w: %v", errBatchLost, lost))
			}
			j.done <- jobErr
			return batch[i+1:]
		}
		if jobErr != nil {
			j.done <- jobErr
			continue
		}
		ran = append(ran, j)
	}
	err = tx.Commit()
	for _, j := range ran {
		j.done <- c.db.err(j.op, err)
	}
	return nil
}

// step runs one job in a savepoint, so that its failure undoes its writes
// alone. jobErr is the job's own outcome; lost is set when the transaction
// can no longer be trusted.
func (c *committer) step(tx *sql.Tx, j *job) (jobErr, lost error) {
	bg := context.Background()
	if _, err := tx.ExecContext(bg, "SAVEPOINT sp"); err != nil {
		return c.db.err(j.op, err), err
	}
	fnErr := call(j.fn, tx)
	if errors.Is(fnErr, errPanic) {
		// fn stopped half way (rows open, statements half done): trust
		// nothing it left behind.
		return c.db.err(j.op, fnErr), fnErr
	}
	if fnErr != nil {
		if _, err := tx.ExecContext(bg, "ROLLBACK TO sp"); err != nil {
			return c.db.err(j.op, fnErr), err
		}
		if _, err := tx.ExecContext(bg, "RELEASE sp"); err != nil {
			return c.db.err(j.op, fnErr), err
		}
		return c.db.err(j.op, fnErr), nil
	}
	if _, err := tx.ExecContext(bg, "RELEASE sp"); err != nil {
		// The savepoint is gone, so is the transaction and fn's writes.
		return c.db.err(j.op, fmt.Errorf("release savepoint: %w", err)), err
	}
	return nil, nil
}

// errPanic marks a job whose fn panicked.
var errPanic = errors.New("panic in write")

// call runs fn, turning a panic into an error so the committer survives.
func call(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return fn(tx)
}
