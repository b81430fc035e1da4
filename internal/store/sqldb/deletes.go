package sqldb

import (
	"context"
	"sync"
)

// deletes merges concurrent outbox deletes into one statement. The outbox
// worker deletes every message it delivers, many at once; without group
// commit (PostgreSQL) each was a statement and a commit of its own. The
// first caller runs the statement for everyone waiting, then again for any
// who arrived meanwhile; each caller returns once its id's statement has.
type deletes struct {
	mu      sync.Mutex
	pending []deleteReq
	running bool
}

type deleteReq struct {
	id   int64
	done chan error
}

func (d *deletes) do(ctx context.Context, id int64, run func(context.Context, []int64) error) error {
	req := deleteReq{id: id, done: make(chan error, 1)}
	d.mu.Lock()
	d.pending = append(d.pending, req)
	lead := !d.running
	d.running = true
	d.mu.Unlock()
	if lead {
		// One caller going away must not fail the others' deletes.
		bg := context.WithoutCancel(ctx)
		for {
			d.mu.Lock()
			batch := d.pending
			d.pending = nil
			if len(batch) == 0 {
				d.running = false
				d.mu.Unlock()
				break
			}
			d.mu.Unlock()
			ids := make([]int64, len(batch))
			for i, r := range batch {
				ids[i] = r.id
			}
			err := run(bg, ids)
			for _, r := range batch {
				r.done <- err
			}
		}
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
