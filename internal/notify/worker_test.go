package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

// openStore opens a real SQLite store in a temporary directory.
func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyhaven.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clock is a settable clock for the outbox's notion of now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counter is an Observer that counts, so tests can wait for attempts.
type counter struct{ sent, failed atomic.Int64 }

func (c *counter) Sent(string)   { c.sent.Add(1) }
func (c *counter) Failed(string) { c.failed.Add(1) }

// logBuffer collects JSON log lines; check asserts none leaks a secret.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog(t *testing.T, secrets ...string) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		out := b.String()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("log contains %q:\n%s", s, out)
			}
		}
		if testing.Verbose() {
			t.Logf("worker log:\n%s", out)
		}
	})
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// run starts w and returns a function that stops it and waits for Run to
// return.
func run(t *testing.T, w *notify.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func enqueueEmail(t testing.TB, q store.Outbox, now time.Time, to, code string, ttl time.Duration) int64 {
	t.Helper()
	e := notify.CodeEmail("en", "CHANNEL_RESET_PASSWORD", "Keyhaven", code, ttl)
	e.To = to
	m, err := notify.EmailMessage(e, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func queued(t testing.TB, q store.Outbox) int {
	t.Helper()
	n, _, err := q.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls cond every 5ms for up to timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWorkerDeliversOnWake(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	log, _ := newLog(t, "482913", "wake.me@example.com")
	// An hour between polls: only Wake can explain a quick delivery.
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log, PollInterval: time.Hour})
	run(t, w)
	time.Sleep(50 * time.Millisecond) // let Run make its first, empty claim

	start := time.Now()
	enqueueEmail(t, st, time.Now(), "wake.me@example.com", "482913", 5*time.Minute)
	w.Wake()
	m := sink.WaitFor(t, "wake.me@example.com", 10*time.Second)
	t.Logf("enqueue+Wake to SMTP DATA accepted: %v", m.ReceivedAt.Sub(start))
	if m.Code() != "482913" {
		t.Errorf("code = %q", m.Code())
	}
	eventually(t, 5*time.Second, "the outbox to empty", func() bool { return queued(t, st) == 0 })
}

func TestWorkerClaimsQueuedMessagesByID(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	log, _ := newLog(t)
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log, PollInterval: time.Hour})
	run(t, w)
	time.Sleep(50 * time.Millisecond) // let Run make its first, empty scan

	// Queued names one message: the worker claims that one by its id and
	// does not scan for others.
	enqueueEmail(t, st, time.Now(), "unnamed@example.com", "111111", 5*time.Minute)
	w.Queued(enqueueEmail(t, st, time.Now(), "named@example.com", "222222", 5*time.Minute))
	sink.WaitFor(t, "named@example.com", 10*time.Second)
	eventually(t, 5*time.Second, "the named message to leave the outbox", func() bool { return queued(t, st) == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d messages delivered, want only the named one", n)
	}
	// Wake scans: the other one goes out too.
	w.Wake()
	sink.WaitFor(t, "unnamed@example.com", 10*time.Second)
}

// idClaims is a real store whose claims by id are recorded and can be held.
type idClaims struct {
	store.Store
	mu    sync.Mutex
	calls [][]int64
	hold  chan struct{} // when not nil, claims by id wait for it to close
}

func (c *idClaims) ClaimOutboxIDs(ctx context.Context, ids []int64, now time.Time, lease time.Duration) ([]store.OutboxMessage, error) {
	c.mu.Lock()
	c.calls = append(c.calls, ids)
	hold := c.hold
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return c.Store.ClaimOutboxIDs(ctx, ids, now, lease)
}

func TestWorkerForgetsIDsAScanClaimed(t *testing.T) {
	// Ids queued before a scan name messages that scan claims: claiming
	// them again by id would hold up every id queued after them.
	st := &idClaims{Store: openStore(t), hold: make(chan struct{})}
	sink := mailsink.Start(t)
	log, _ := newLog(t)
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log, PollInterval: time.Hour})
	run(t, w)
	time.Sleep(50 * time.Millisecond) // the first, empty scan

	first := enqueueEmail(t, st, time.Now(), "first@example.com", "111111", 5*time.Minute)
	w.Queued(first)
	eventually(t, 5*time.Second, "the claim of the first id", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.calls) == 1
	})
	// While that claim is held, ten more are queued and a scan asked for.
	for i := range 10 {
		w.Queued(enqueueEmail(t, st, time.Now(), fmt.Sprintf("later%d@example.com", i), "222222", 5*time.Minute))
	}
	w.Wake()
	close(st.hold)
	eventually(t, 10*time.Second, "every message delivered", func() bool { return len(sink.Messages()) == 11 })
	time.Sleep(100 * time.Millisecond)
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.calls) != 1 {
		t.Fatalf("claims by id: %v; want only [%d]: the scan claimed the other ten", st.calls, first)
	}
}

func TestWorkerScansWhileKeptBusy(t *testing.T) {
	// A message Queued never named (a retry falling due, another
	// replica's) must not wait for a quiet moment: a steady stream of
	// Queued keeps the poll timer from ever firing.
	st := openStore(t)
	sink := mailsink.Start(t)
	log, _ := newLog(t)
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log, PollInterval: 200 * time.Millisecond})
	run(t, w)
	time.Sleep(50 * time.Millisecond)
	enqueueEmail(t, st, time.Now(), "unnamed@example.com", "111111", 5*time.Minute)
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; ; i++ {
		for _, m := range sink.Messages() {
			if slices.Contains(m.To, "unnamed@example.com") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unnamed message was not sent in 3s while %d others were", i)
		}
		w.Queued(enqueueEmail(t, st, time.Now(), fmt.Sprintf("busy%d@example.com", i), "222222", 5*time.Minute))
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	sink.SetFailures(2)
	clk := newClock()
	obs := &counter{}
	log, logs := newLog(t, "771204", "retry.me@example.com")
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{
		Now: clk.Now, Logger: log, Observer: obs, PollInterval: 20 * time.Millisecond,
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute },
	})
	run(t, w)
	enqueueEmail(t, st, clk.Now(), "retry.me@example.com", "771204", time.Hour)
	w.Wake()

	eventually(t, 10*time.Second, "the first failure", func() bool { return obs.failed.Load() == 1 })
	// Not due for a minute: polls and wake-ups must leave it alone.
	for range 5 {
		w.Wake()
		time.Sleep(30 * time.Millisecond)
	}
	if f, s := obs.failed.Load(), obs.sent.Load(); f != 1 || s != 0 {
		t.Fatalf("before the backoff passed: failed=%d sent=%d", f, s)
	}
	clk.Advance(time.Minute)
	w.Wake()
	eventually(t, 10*time.Second, "the second failure", func() bool { return obs.failed.Load() == 2 })
	clk.Advance(time.Minute) // backoff after 2 attempts is 2 minutes
	time.Sleep(60 * time.Millisecond)
	if obs.sent.Load() != 0 {
		t.Fatal("sent before the second backoff passed")
	}
	clk.Advance(time.Minute)
	w.Wake()
	m := sink.WaitFor(t, "retry.me@example.com", 10*time.Second)
	if m.Code() != "771204" {
		t.Errorf("code = %q", m.Code())
	}
	eventually(t, 5*time.Second, "the outbox to empty", func() bool { return queued(t, st) == 0 })
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
	if !strings.Contains(logs.String(), "451") || !strings.Contains(logs.String(), `"to":"r***@example.com"`) {
		t.Errorf("log lacks the masked recipient or the server's answer:\n%s", logs)
	}
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	sink.SetFailures(1000)
	obs := &counter{}
	log, logs := newLog(t, "550055", "never@example.com")
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{
		Logger: log, Observer: obs, MaxAttempts: 3, PollInterval: 10 * time.Millisecond,
		Backoff: func(int) time.Duration { return 0 },
	})
	run(t, w)
	enqueueEmail(t, st, time.Now(), "never@example.com", "550055", time.Hour)
	w.Wake()
	eventually(t, 10*time.Second, "the message to be dropped", func() bool { return queued(t, st) == 0 })
	if f := obs.failed.Load(); f != 3 {
		t.Errorf("%d attempts, want 3", f)
	}
	// Logged once the message is deleted, so it may trail the empty outbox.
	eventually(t, 5*time.Second, "an ERROR line for the dropped message", func() bool {
		return strings.Contains(logs.String(), `"level":"ERROR"`)
	})
}

func TestWorkerDeadServerNeverBlocksEnqueue(t *testing.T) {
	for _, c := range []struct {
		name   string
		listen func(t *testing.T) string
	}{
		{"closed port", func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			return ln.Addr().String()
		}},
		{"silent server", func(t *testing.T) string {
			// Accepts connections and never says a word.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var conns []net.Conn
			var mu sync.Mutex
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
				}
			}()
			t.Cleanup(func() {
				ln.Close()
				mu.Lock()
				for _, c := range conns {
					c.Close()
				}
				mu.Unlock()
			})
			return ln.Addr().String()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			cfg, err := notify.ParseSMTPURL("smtp://" + c.listen(t) + "?from=a@example.com&tls=none")
			if err != nil {
				t.Fatal(err)
			}
			obs := &counter{}
			log, _ := newLog(t, "909090", "stuck@example.com")
			w := notify.NewWorker(st, notify.NewSMTPSender(cfg), nil, notify.WorkerOptions{
				Logger: log, Observer: obs, PollInterval: 10 * time.Millisecond, SendTimeout: 300 * time.Millisecond,
			})
			stop := run(t, w)
			const n = 20
			var slowest time.Duration
			for range n {
				start := time.Now()
				enqueueEmail(t, st, time.Now(), "stuck@example.com", "909090", 5*time.Minute)
				w.Wake()
				slowest = max(slowest, time.Since(start))
			}
			t.Logf("slowest Enqueue+Wake: %v", slowest)
			if slowest > 2*time.Second {
				t.Errorf("Enqueue+Wake took %v with a dead mail server", slowest)
			}
			eventually(t, 10*time.Second, "send attempts to fail", func() bool { return obs.failed.Load() >= 4 })
			stop()
			if got := queued(t, st); got != n {
				t.Errorf("%d messages queued, want all %d kept for retry", got, n)
			}
		})
	}
}

func TestWorkerShutdownFinishesSendInProgress(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	sink.SetDelay(700 * time.Millisecond)
	log, _ := newLog(t, "313131", "slow@example.com")
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	enqueueEmail(t, st, time.Now(), "slow@example.com", "313131", 5*time.Minute)
	w.Wake()
	eventually(t, 5*time.Second, "the send to start", func() bool { return sink.Connections() > 0 })
	time.Sleep(100 * time.Millisecond) // in the middle of the slow DATA
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Run returned %v after cancel", time.Since(cancelled))
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if msgs := sink.Messages(); len(msgs) != 1 || msgs[0].Code() != "313131" {
		t.Fatalf("the send in progress did not complete: %d messages", len(msgs))
	}
	if n := queued(t, st); n != 0 {
		t.Errorf("delivered message still queued (%d)", n)
	}
}

func TestWorkerDropsExpiredMessages(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	clk := newClock()
	obs := &counter{}
	log, _ := newLog(t, "121212", "late@example.com")
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{
		Now: clk.Now, Logger: log, Observer: obs, PollInterval: 10 * time.Millisecond,
		Backoff: func(int) time.Duration { return 10 * time.Minute },
	})

	// Expired while queued (the worker was down): never sent.
	enqueueEmail(t, st, clk.Now(), "late@example.com", "121212", 5*time.Minute)
	clk.Advance(6 * time.Minute)
	run(t, w)
	w.Wake()
	eventually(t, 5*time.Second, "the expired message to go", func() bool { return queued(t, st) == 0 })

	// Failed once, and the next try would come after expiry: dropped now.
	sink.SetFailures(1)
	enqueueEmail(t, st, clk.Now(), "late@example.com", "121212", 5*time.Minute)
	w.Wake()
	eventually(t, 5*time.Second, "the failed message to go", func() bool { return queued(t, st) == 0 })
	if s, f := obs.sent.Load(), obs.failed.Load(); s != 0 || f != 1 {
		t.Errorf("sent=%d failed=%d, want 0 and 1", s, f)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d expired messages delivered", n)
	}
}

func TestWorkerSMSAndBadPayloads(t *testing.T) {
	st := openStore(t)
	sink := smssink.Start(t)
	obs := &counter{}
	log, logs := newLog(t, "606060", "13900139000")
	w := notify.NewWorker(st, nil, notify.NewWebhookSMSSender(sink.URL(), nil), notify.WorkerOptions{
		Logger: log, Observer: obs, PollInterval: 10 * time.Millisecond,
	})
	run(t, w)
	now := time.Now()
	sms := notify.SMS{PhoneNumber: "13900139000", PhoneCountryCode: "+86", Channel: "CHANNEL_LOGIN", Code: "606060",
		Text: notify.CodeSMSText("en", "CHANNEL_LOGIN", "Keyhaven", "606060", 5*time.Minute)}
	m, err := notify.SMSMessage(sms, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	// Undeliverable: a kind nobody knows, a broken payload, an email with no
	// email sender configured. Each is dropped at once, not retried.
	for _, bad := range []store.OutboxMessage{
		{Kind: "fax", Payload: []byte(`{}`)},
		{Kind: "sms", Payload: []byte(`{not json`)},
		{Kind: "email", Payload: []byte(`{"to":"x@example.com","text":"t"}`)},
	} {
		bad.CreatedAt, bad.NotBefore, bad.ExpiresAt = now, now, now.Add(time.Hour)
		if _, err := st.Enqueue(ctx, bad); err != nil {
			t.Fatal(err)
		}
	}
	w.Wake()
	got := sink.WaitFor(t, "13900139000", 10*time.Second)
	if got.Code != "606060" || got.PhoneCountryCode != "+86" || got.Channel != "CHANNEL_LOGIN" || got.Text != sms.Text {
		t.Errorf("got %+v", got)
	}
	eventually(t, 5*time.Second, "the outbox to empty", func() bool { return queued(t, st) == 0 })
	if f := obs.failed.Load(); f != 3 {
		t.Errorf("failed = %d, want 3 (each bad message once)", f)
	}
	// The line is logged once the message is deleted, so it may trail the
	// empty outbox by a moment.
	eventually(t, 5*time.Second, "3 drop lines", func() bool { return strings.Count(logs.String(), "cannot be delivered") == 3 })
}

func TestWorkerConcurrentReplicasDeliverEachMessageOnce(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	sender := newSMTPSender(t, sink)
	log, _ := newLog(t)
	var workers []*notify.Worker
	for range 2 { // two replicas sharing one database
		w := notify.NewWorker(st, sender, nil, notify.WorkerOptions{Logger: log, PollInterval: 10 * time.Millisecond, Concurrency: 3, Batch: 2})
		run(t, w)
		workers = append(workers, w)
	}
	const n = 40
	for i := range n {
		enqueueEmail(t, st, time.Now(), fmt.Sprintf("user%02d@example.com", i), fmt.Sprintf("%06d", 100000+i), 5*time.Minute)
		workers[i%2].Wake()
	}
	for i := range n {
		m := sink.WaitFor(t, fmt.Sprintf("user%02d@example.com", i), 10*time.Second)
		if want := fmt.Sprintf("%06d", 100000+i); m.Code() != want {
			t.Errorf("user%02d got code %q, want %q", i, m.Code(), want)
		}
	}
	eventually(t, 5*time.Second, "the outbox to empty", func() bool { return queued(t, st) == 0 })
	time.Sleep(50 * time.Millisecond)
	if got := len(sink.Messages()); got != n {
		t.Errorf("%d messages delivered, want %d (no duplicates)", got, n)
	}
}

func TestWorkerRunTwice(t *testing.T) {
	st := openStore(t)
	obs := &counter{}
	w := notify.NewWorker(st, notify.NewLogEmailSender(slog.New(slog.DiscardHandler)), nil, notify.WorkerOptions{Observer: obs})
	run(t, w)
	enqueueEmail(t, st, time.Now(), "x@example.com", "123123", time.Minute)
	w.Wake()
	eventually(t, 5*time.Second, "the first Run to deliver", func() bool { return obs.sent.Load() == 1 })
	if err := w.Run(context.Background()); err == nil {
		t.Error("second concurrent Run: no error")
	}
}

// A server's refusal that quotes the code (a content filter quoting the
// line it objected to) leaves the code out of the log.
func TestWorkerRedactsTheCodeFromErrors(t *testing.T) {
	st := openStore(t)
	sink := mailsink.Start(t)
	sink.SetContentFilter(1)
	log, logs := newLog(t, "493817", "filtered@example.com")
	w := notify.NewWorker(st, newSMTPSender(t, sink), nil, notify.WorkerOptions{Logger: log, PollInterval: 10 * time.Millisecond})
	run(t, w)
	enqueueEmail(t, st, time.Now(), "filtered@example.com", "493817", time.Hour)
	w.Wake()
	eventually(t, 10*time.Second, "the refusal in the log", func() bool { return strings.Contains(logs.String(), "content filter") })
	if !strings.Contains(logs.String(), "[code]") {
		t.Errorf("the refusal's quote is not redacted:\n%s", logs)
	}
}
