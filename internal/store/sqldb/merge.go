package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxMerged bounds the keys one merged statement carries.
const maxMerged = 256

// mergedTimeout bounds one merged statement. It runs for several callers,
// so no caller's cancellation stops it; without a bound, a statement hung
// on a dead connection would hold up every read behind it.
const mergedTimeout = 30 * time.Second

// merger runs calls that arrive together as one statement. On PostgreSQL
// each statement is a round trip and a backend's parse, plan and execute;
// sixteen clients reading sessions, or the outbox worker deleting what it
// delivered, pay that once per batch instead of once per call.
//
// The first caller runs the batch holding its own key; calls arriving
// meanwhile wait, and the batch after is run by a goroutine of its own, so no
// caller works for others longer than one statement. One batch runs at a
// time: two at once measured slower (smaller batches, more work for
// PostgreSQL). A call's statement runs after the call began, so it sees
// every write that committed before.
type merger[K any, R any] struct {
	// run fills out[i] for keys[i]; an error fails the whole batch.
	run     func(ctx context.Context, keys []K, out []R) error
	timeout time.Duration // per batch; 0 means mergedTimeout

	mu      sync.Mutex
	pending []*mergeCall[K, R]
	running bool // a batch is in flight
}

type mergeCall[K any, R any] struct {
	key  K
	res  R
	err  error
	done chan struct{}
}

func (m *merger[K, R]) do(ctx context.Context, key K) (R, error) {
	c := &mergeCall[K, R]{key: key, done: make(chan struct{})}
	m.mu.Lock()
	m.pending = append(m.pending, c)
	lead := !m.running
	m.running = true
	m.mu.Unlock()
	if lead {
		// One caller going away must not fail the others' calls.
		m.runBatch(context.WithoutCancel(ctx))
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

func (m *merger[K, R]) runBatch(ctx context.Context) {
	m.mu.Lock()
	n := min(len(m.pending), maxMerged) // > 0: only the batch in flight takes calls
	batch := m.pending[:n:n]
	m.pending = m.pending[n:]
	m.mu.Unlock()

	keys := make([]K, n)
	for i, c := range batch {
		keys[i] = c.key
	}
	out := make([]R, n)
	err := m.runSafely(ctx, keys, out)
	for i, c := range batch {
		c.res, c.err = out[i], err
		close(c.done)
	}

	m.mu.Lock()
	more := len(m.pending) > 0
	m.running = more
	if !more {
		m.pending = nil // let the answered calls go
	}
	m.mu.Unlock()
	if more {
		go m.runBatch(ctx)
	}
}

// runSafely runs one batch within the timeout and turns a panic into the
// batch's error: a merger whose batch died without answering would leave
// every later call waiting.
func (m *merger[K, R]) runSafely(ctx context.Context, keys []K, out []R) (err error) {
	timeout := m.timeout
	if timeout <= 0 {
		timeout = mergedTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("merged statement panicked: %v", p)
		}
	}()
	return m.run(ctx, keys, out)
}

// pointRead reads one row by a unique key. query ends in "WHERE <column> ";
// a single read appends "= ?", and on PostgreSQL reads arriving together
// are merged into one statement that looks each key up on its own (a
// LATERAL subquery per key, fenced by LIMIT 1). The plainer "= ANY(?)"
// let the planner choose sequential scans and a hash join for tables of a
// few hundred rows, whose cost then grew with the table: 0.44 ms for 5
// sessions among 329, against 0.02 ms a key by index.
type pointRead[R any] struct {
	db        *DB
	one, many string
	scan      func(scanner) (R, error)
	key       func(R) string // the row's key, to hand each call its row
	merged    merger[string, found[R]]
}

type scanner interface{ Scan(dest ...any) error }

type found[R any] struct {
	row R
	ok  bool
}

func newPointRead[R any](db *DB, query string, scan func(scanner) (R, error), key func(R) string) *pointRead[R] {
	p := &pointRead[R]{db: db, one: query + "= ?", scan: scan, key: key,
		many: "SELECT x.* FROM unnest(?::text[]) AS k(key), LATERAL (" + query + "= k.key LIMIT 1) AS x"}
	p.merged.run = p.readMany
	return p
}

// storable reports whether a key may be stored at all: PostgreSQL's text
// holds neither a NUL nor invalid UTF-8, so no stored key has one, and a
// lookup of such a key is simply not found, on either database.
func storable(key string) bool {
	return strings.IndexByte(key, 0) < 0 && utf8.ValidString(key)
}

// get returns the row of key, or sql.ErrNoRows.
func (p *pointRead[R]) get(ctx context.Context, key string) (R, error) {
	if !storable(key) {
		// One such key in a merged batch would fail every read merged with it.
		var none R
		return none, sql.ErrNoRows
	}
	if !p.db.d.PostgresSQL {
		return p.scan(p.db.readRow(ctx, p.one, key))
	}
	f, err := p.merged.do(ctx, key)
	if err == nil && !f.ok {
		err = sql.ErrNoRows
	}
	return f.row, err
}

func (p *pointRead[R]) readMany(ctx context.Context, keys []string, out []found[R]) error {
	rows, err := p.db.readRows(ctx, p.many, keys)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := p.scan(rows)
		if err != nil {
			return err
		}
		k := p.key(r)
		for i := range keys {
			if keys[i] == k {
				out[i] = found[R]{r, true}
			}
		}
	}
	return rows.Err()
}
