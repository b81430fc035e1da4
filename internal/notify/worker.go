package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

// Observer is told about every send attempt, for metrics. Its methods must
// be fast and safe for concurrent use.
type Observer interface {
	Sent(kind string)   // a message was delivered
	Failed(kind string) // a send attempt failed (it may be retried)
}

// WorkerOptions tunes a Worker; zero values take the defaults.
type WorkerOptions struct {
	Now          func() time.Time // default time.Now; outbox times use this clock
	Logger       *slog.Logger     // default slog.Default()
	PollInterval time.Duration    // how often to look for due messages without a Wake; default 1s
	Lease        time.Duration    // how long a claimed message is ours; default 60s
	Batch        int              // most messages claimed at once (never more than free send slots); default 32
	Concurrency  int              // most sends in progress; default 4
	MaxAttempts  int              // attempts before a message is dropped; default 8
	// SendTimeout bounds one send; default 30s, and never more than 3/4 of
	// Lease, so no other replica claims a message while we still send it.
	SendTimeout time.Duration
	// Backoff is the wait before the next attempt, given the attempts made
	// so far (1, 2, ...). Default: 2s·2^(n-1) capped at 5 min, randomised
	// between half and all of that so failed messages don't retry in step.
	Backoff  func(attempts int) time.Duration
	Observer Observer // optional
}

// Worker delivers outbox messages: it claims due ones, sends them with
// bounded concurrency, deletes them once sent, and reschedules failures
// with exponential backoff until they succeed, run out of attempts or
// expire. Every replica may run one; the store's leases keep them from
// sending the same message twice.
type Worker struct {
	q       store.Outbox
	email   EmailSender
	sms     SMSSender
	now     func() time.Time
	log     *slog.Logger
	poll    time.Duration
	lease   time.Duration
	batch   int
	conc    int
	max     int
	timeout time.Duration
	backoff func(int) time.Duration
	obs     Observer

	wake    chan struct{}
	running atomic.Bool

	mu   sync.Mutex
	ids  []int64 // announced by Queued, not yet claimed
	scan bool    // a due message may be one that ids does not name
}

// maxQueuedIDs bounds the ids kept for claiming by id; past it (a slow mail
// server), messages wait for the next scan instead.
const maxQueuedIDs = 4096

// storeTimeout bounds each store call made after a send.
const storeTimeout = 10 * time.Second

// NewWorker returns a worker taking messages from q and sending email
// through email and SMS through sms. A message whose sender is nil is
// dropped with an error in the log.
func NewWorker(q store.Outbox, email EmailSender, sms SMSSender, opts WorkerOptions) *Worker {
	w := &Worker{
		q: q, email: email, sms: sms,
		now: opts.Now, log: opts.Logger, poll: opts.PollInterval, lease: opts.Lease,
		batch: opts.Batch, conc: opts.Concurrency, max: opts.MaxAttempts,
		timeout: opts.SendTimeout, backoff: opts.Backoff, obs: opts.Observer,
		wake: make(chan struct{}, 1),
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.poll <= 0 {
		w.poll = time.Second
	}
	if w.lease <= 0 {
		w.lease = 60 * time.Second
	}
	if w.batch <= 0 {
		w.batch = 32
	}
	if w.conc <= 0 {
		w.conc = 4
	}
	if w.max <= 0 {
		w.max = 8
	}
	if w.timeout <= 0 {
		w.timeout = 30 * time.Second
	}
	w.timeout = min(w.timeout, w.lease*3/4)
	if w.backoff == nil {
		w.backoff = DefaultBackoff
	}
	if w.obs == nil {
		w.obs = nopObserver{}
	}
	return w
}

// DefaultBackoff waits 2s·2^(attempts-1), at most 5 minutes, randomised
// between half and all of it.
func DefaultBackoff(attempts int) time.Duration {
	d := 5 * time.Minute
	if n := attempts - 1; n < 8 {
		d = min(d, 2*time.Second<<max(n, 0))
	}
	return d/2 + rand.N(d/2+1)
}

type nopObserver struct{}

func (nopObserver) Sent(string)   {}
func (nopObserver) Failed(string) {}

// Queued tells the worker that message id was just stored and is due now.
// It never blocks: the request path calls it right after enqueueing, so a
// code reaches the inbox within milliseconds instead of a poll interval.
// The worker claims the message by its id, which costs the store one key
// lookup where a scan of the outbox would step over every message
// delivered since the table was last vacuumed.
func (w *Worker) Queued(id int64) {
	w.mu.Lock()
	if len(w.ids) < maxQueuedIDs {
		w.ids = append(w.ids, id)
	} else {
		w.scan = true
	}
	w.mu.Unlock()
	w.signal()
}

// Wake tells the worker that messages it was not told of may be due now:
// it scans the outbox at once instead of at the next poll.
func (w *Worker) Wake() {
	w.rescan()
	w.signal()
}

// next says what to claim: a scan of the outbox, if one was asked for or
// the last was a poll interval ago (so a retry falls due even while Queued
// keeps the worker busy), or else up to limit of the queued ids.
func (w *Worker) next(limit int, lastScan time.Time) (ids []int64, scan bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.scan || time.Since(lastScan) >= w.poll {
		// The scan (and the ones after it while batches come back full)
		// claims every message due now, these ids' too: claiming them
		// again by id would only hold up the ids queued after it.
		w.scan, w.ids = false, w.ids[:0]
		return nil, true
	}
	n := min(limit, len(w.ids))
	ids = slices.Clone(w.ids[:n])
	w.ids = slices.Delete(w.ids, 0, n)
	return ids, false
}

// rescan asks for a scan at the next claim.
func (w *Worker) rescan() {
	w.mu.Lock()
	w.scan = true
	w.mu.Unlock()
}

// pending reports whether a scan or queued ids are waiting.
func (w *Worker) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scan || len(w.ids) > 0
}

// signal wakes Run if it waits; one pending signal is enough.
func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// Run delivers messages until ctx is done. Then it claims nothing more,
// lets the sends in progress finish (each under its own timeout, not ctx)
// and returns nil. Store errors are logged and retried, never returned. It
// is an error to call Run while another Run of w is going.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("notify: worker already running")
	}
	defer w.running.Store(false)

	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, w.conc) // one token per finished send; never blocks
	inflight, failures := 0, 0
	var lastScan time.Time // none yet: the first claim scans
	timer := time.NewTimer(w.poll)
	defer timer.Stop()

	for {
		if ctx.Err() != nil {
			return nil
		}
		more := false
		if free := w.conc - inflight; free > 0 {
			// Claim no more than we can send now: a claimed message waiting
			// for a free slot would burn its lease.
			limit := min(w.batch, free)
			ids, scan := w.next(limit, lastScan)
			var msgs []store.OutboxMessage
			var err error
			switch {
			case scan:
				lastScan = time.Now()
				msgs, err = w.q.ClaimOutbox(ctx, w.now(), w.lease, limit)
				if err == nil && len(msgs) == limit {
					w.rescan() // a full batch: more may be due
				}
			case len(ids) > 0:
				msgs, err = w.q.ClaimOutboxIDs(ctx, ids, w.now(), w.lease)
			}
			switch {
			case err != nil && ctx.Err() != nil:
				return nil
			case err != nil:
				failures++
				w.log.Error("outbox: claim failed", slog.String("error", err.Error()), slog.Int("failures_in_a_row", failures))
				if !scan {
					w.rescan() // the scan finds what these ids named
				}
			default:
				failures = 0
			}
			for _, m := range msgs {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.deliver(m)
					done <- struct{}{}
				}()
			}
			more = err == nil && w.pending()
		}
		if more && inflight < w.conc {
			continue
		}
		// Poll less often while the store keeps failing.
		timer.Reset(w.poll << min(failures, 5))
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-done:
			inflight--
		case <-timer.C:
		}
		for drained := false; !drained; {
			select {
			case <-done:
				inflight--
			default:
				drained = true
			}
		}
	}
}

// payload is a decoded outbox message.
type payload struct {
	email *Email
	sms   *SMS
}

func decodePayload(m store.OutboxMessage) (payload, error) {
	switch m.Kind {
	case KindEmail:
		var e Email
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			return payload{}, Permanent(fmt.Errorf("bad email payload: %w", err))
		}
		return payload{email: &e}, nil
	case KindSMS:
		var s SMS
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			return payload{}, Permanent(fmt.Errorf("bad sms payload: %w", err))
		}
		return payload{sms: &s}, nil
	}
	return payload{}, Permanent(fmt.Errorf("unknown message kind %q", m.Kind))
}

// redact removes what must not reach a log or the outbox's last_error from
// an error text: the full address (senders' errors may quote it) and,
// defensively, the message's bodies and code (a content filter's rejection
// may quote a line of the body).
func (p payload) redact(s string) string {
	var secrets [][2]string
	if e := p.email; e != nil {
		secrets = append(secrets, [2]string{e.To, MaskEmail(e.To)}, [2]string{e.Text, "[text]"},
			[2]string{e.HTML, "[html]"}, [2]string{e.Code, "[code]"})
	}
	if m := p.sms; m != nil {
		secrets = append(secrets,
			[2]string{m.Text, "[text]"},
			[2]string{m.PhoneCountryCode + m.PhoneNumber, MaskPhone(m.PhoneCountryCode + m.PhoneNumber)},
			[2]string{m.PhoneNumber, MaskPhone(m.PhoneNumber)},
			[2]string{m.Code, "[code]"})
	}
	for _, r := range secrets {
		if r[0] != "" {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func (p payload) to() string {
	switch {
	case p.email != nil:
		return MaskEmail(p.email.To)
	case p.sms != nil:
		return MaskPhone(p.sms.PhoneCountryCode + p.sms.PhoneNumber)
	}
	return "?"
}

func (w *Worker) send(ctx context.Context, p payload) error {
	switch {
	case p.email != nil && w.email != nil:
		return w.email.SendEmail(ctx, *p.email)
	case p.sms != nil && w.sms != nil:
		return w.sms.SendSMS(ctx, *p.sms)
	}
	return Permanent(errors.New("no sender configured for this kind"))
}

// deliver sends one claimed message and settles it in the store. It uses
// its own contexts, not Run's: a send under way finishes after shutdown
// begins, and so does the store write that records it.
func (w *Worker) deliver(m store.OutboxMessage) {
	log := w.log.With(slog.Int64("outbox_id", m.ID), slog.String("kind", m.Kind), slog.Int("attempt", m.Attempts))
	p, err := decodePayload(m)
	if err == nil {
		log = log.With(slog.String("to", p.to()))
		if now := w.now(); !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt) {
			w.settle(log, m, slog.LevelWarn, "outbox: message expired before delivery; dropped")
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
		err = w.send(ctx, p)
		cancel()
		if err == nil {
			w.obs.Sent(m.Kind)
			w.settle(log, m, slog.LevelInfo, "outbox: message delivered",
				slog.Int64("send_ms", time.Since(start).Milliseconds()),
				slog.Int64("queue_ms", w.now().Sub(m.CreatedAt).Milliseconds()))
			return
		}
	}
	w.obs.Failed(m.Kind)
	reason := p.redact(err.Error())
	errAttr := slog.String("error", reason)
	switch {
	case IsPermanent(err):
		w.settle(log, m, slog.LevelError, "outbox: message cannot be delivered; dropped", errAttr)
		return
	case m.Attempts >= w.max:
		w.settle(log, m, slog.LevelError, "outbox: message not delivered after the last attempt; dropped", errAttr)
		return
	}
	wait := w.backoff(m.Attempts)
	next := w.now().Add(wait)
	if !m.ExpiresAt.IsZero() && !next.Before(m.ExpiresAt) {
		w.settle(log, m, slog.LevelError, "outbox: message not delivered and expires before the next attempt; dropped", errAttr)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := w.q.RetryOutbox(ctx, m.ID, next, reason); err != nil {
		log.Error("outbox: send failed and rescheduling failed; retried when the lease ends", errAttr,
			slog.String("store_error", err.Error()))
		return
	}
	log.Warn("outbox: send failed; will retry", errAttr, slog.Int64("retry_in_ms", wait.Milliseconds()))
}

// settle deletes m (delivered or given up) and logs msg at level.
func (w *Worker) settle(log *slog.Logger, m store.OutboxMessage, level slog.Level, msg string, attrs ...slog.Attr) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := w.q.DeleteOutbox(ctx, m.ID); err != nil {
		// Delivered but still queued: another attempt after the lease would
		// send it twice. Rare (the store just answered the claim), and a
		// duplicate code mail is better than a lost one.
		attrs = append(attrs, slog.String("store_error", err.Error()))
		log.LogAttrs(ctx, slog.LevelError, msg+" (but deleting it from the outbox failed)", attrs...)
		return
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}
