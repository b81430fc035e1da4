package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

const lease = 30 * time.Second

func claim(t *testing.T, st store.Store, now time.Time, limit int) []store.OutboxMessage {
	t.Helper()
	got, err := st.ClaimOutbox(ctx, now, lease, limit)
	ok(t, err)
	return got
}

func claimIDs(t *testing.T, st store.Store, now time.Time, want ...int64) []store.OutboxMessage {
	t.Helper()
	got, err := st.ClaimOutboxIDs(ctx, want, now, lease)
	ok(t, err)
	return got
}

func ids(ms []store.OutboxMessage) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

var outboxTests = []test{
	{"EnqueueClaim", func(t *testing.T, st store.Store) {
		m1 := message(1)
		m1.Kind, m1.Payload = "sms", []byte{0, 1, 2, 0xff} // payloads are opaque bytes
		id1, err := st.Enqueue(ctx, m1)
		ok(t, err)
		id2, err := st.Enqueue(ctx, message(2))
		ok(t, err)
		if id2 <= id1 {
			t.Fatalf("ids %d then %d: want increasing", id1, id2)
		}
		got := claim(t, st, t0, 10)
		m1.ID, m1.Attempts = id1, 1
		m2 := message(2)
		m2.ID, m2.Attempts = id2, 1
		same(t, "claimed", got, []store.OutboxMessage{m1, m2})
	}},
	{"Stats", func(t *testing.T, st store.Store) {
		n, oldest, err := st.OutboxStats(ctx)
		ok(t, err)
		if n != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: %d, oldest %v", n, oldest)
		}
		m := message(1)
		m.CreatedAt = t0.Add(time.Minute)
		_, err = st.Enqueue(ctx, m)
		ok(t, err)
		_, err = st.Enqueue(ctx, message(2))
		ok(t, err)
		n, oldest, err = st.OutboxStats(ctx)
		ok(t, err)
		if n != 2 || !oldest.Equal(t0) {
			t.Fatalf("stats: %d, oldest %v; want 2, %v", n, oldest, t0)
		}
	}},
	{"LimitAndOrder", func(t *testing.T, st store.Store) {
		want := enqueue(t, st, 5)
		same(t, "first claim", ids(claim(t, st, t0, 2)), want[:2])
		same(t, "second claim", ids(claim(t, st, t0, 2)), want[2:4])
		same(t, "third claim", ids(claim(t, st, t0, 2)), want[4:])
	}},
	{"NotBeforeAndLease", func(t *testing.T, st store.Store) {
		later := message(1)
		later.NotBefore = t0.Add(45 * time.Second)
		idLater, err := st.Enqueue(ctx, later)
		ok(t, err)
		idNow, err := st.Enqueue(ctx, message(2))
		ok(t, err)
		same(t, "due now", ids(claim(t, st, t0, 10)), []int64{idNow})
		same(t, "leased", ids(claim(t, st, t0.Add(lease-time.Millisecond), 10)), []int64{})
		// The lease ran out (a worker died): the message goes out again.
		got := claim(t, st, t0.Add(lease), 10)
		same(t, "after the lease", ids(got), []int64{idNow})
		if got[0].Attempts != 2 {
			t.Fatalf("attempts = %d, want 2", got[0].Attempts)
		}
		same(t, "not before", ids(claim(t, st, t0.Add(45*time.Second), 10)), []int64{idLater})
	}},
	{"ExpiredAreDropped", func(t *testing.T, st store.Store) {
		m := message(1)
		m.ExpiresAt = t0.Add(time.Minute)
		_, err := st.Enqueue(ctx, m)
		ok(t, err)
		same(t, "expired", ids(claim(t, st, t0.Add(time.Minute), 10)), []int64{})
		if n := outboxCount(t, st); n != 0 {
			t.Fatalf("%d expired messages kept", n)
		}
	}},
	{"DeleteAndRetry", func(t *testing.T, st store.Store) {
		id1, err := st.Enqueue(ctx, message(1))
		ok(t, err)
		id2, err := st.Enqueue(ctx, message(2))
		ok(t, err)
		claim(t, st, t0, 10)
		ok(t, st.DeleteOutbox(ctx, id1))
		ok(t, st.RetryOutbox(ctx, id2, t0.Add(10*time.Second), "451 try later"))
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("%d waiting after delete, want 1", n)
		}
		same(t, "before the retry time", ids(claim(t, st, t0.Add(9*time.Second), 10)), []int64{})
		got := claim(t, st, t0.Add(10*time.Second), 10)
		same(t, "retried", ids(got), []int64{id2})
		if got[0].Attempts != 2 || !got[0].NotBefore.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("retried message: %+v", got[0])
		}
	}},
	{"ClaimByID", func(t *testing.T, st store.Store) {
		all := enqueue(t, st, 4)
		later := message(5)
		later.NotBefore = t0.Add(time.Minute)
		idLater, err := st.Enqueue(ctx, later)
		ok(t, err)
		expiring := message(6)
		expiring.ExpiresAt = t0
		idExpired, err := st.Enqueue(ctx, expiring)
		ok(t, err)
		same(t, "no ids", ids(claimIDs(t, st, t0)), []int64{})
		// Only the named ones that are due: not the one for later, not the
		// expired one, not an unknown id, and not the others.
		got := claimIDs(t, st, t0, all[2], all[0], idLater, idExpired, 1<<40)
		same(t, "claimed by id", ids(got), []int64{all[0], all[2]})
		want := message(0)
		want.ID, want.Attempts = all[0], 1
		same(t, "a message claimed by id", got[0], want)
		same(t, "leased already", ids(claimIDs(t, st, t0, all[0], all[2])), []int64{})
		same(t, "left for a scan", ids(claim(t, st, t0, 10)), []int64{all[1], all[3]})
		same(t, "after the lease", ids(claimIDs(t, st, t0.Add(lease), all[0])), []int64{all[0]})
		same(t, "when due", ids(claimIDs(t, st, t0.Add(time.Minute), idLater)), []int64{idLater})
	}},
	{"ConcurrentDeletes", func(t *testing.T, st store.Store) {
		// Deletes arriving together may be merged into one statement: each
		// must still delete its own message, and only that one.
		all := enqueue(t, st, 41)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for _, id := range all[:40] {
			wg.Go(func() { errs <- st.DeleteOutbox(ctx, id) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			ok(t, err)
		}
		same(t, "left after 40 concurrent deletes", ids(claim(t, st, t0, 100)), []int64{all[40]})
	}},
	{"ConcurrentClaimersNeverShare", func(t *testing.T, st store.Store) {
		// Small batches and several rounds make overlapping claims likely:
		// a claim that does not lock what it picks hands a message to two
		// workers within a few rounds.
		const rounds, perRound, workers, batch = 3, 100, 8, 2
		var mu sync.Mutex
		seen := map[int64]int{}
		for r := range rounds {
			for i := range perRound {
				_, err := st.Enqueue(ctx, message(r*perRound+i))
				ok(t, err)
			}
			errs := race(workers, func(int) error {
				for {
					got, err := st.ClaimOutbox(ctx, t0, time.Hour, batch)
					if err != nil {
						return err
					}
					if len(got) == 0 {
						return nil
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
			for _, err := range errs {
				ok(t, err)
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("message %d was claimed %d times", id, n)
			}
		}
		if len(seen) != rounds*perRound {
			t.Fatalf("%d of %d messages claimed", len(seen), rounds*perRound)
		}
	}},
}

var storeTests = []test{
	{"Ping", func(t *testing.T, st store.Store) {
		ok(t, st.Ping(ctx))
	}},
	{"Sweep", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		now := t0.Add(time.Hour)
		// Expired before now.
		_, err := st.Hit(ctx, "old", t0, t0.Add(time.Minute))
		ok(t, err)
		ok(t, st.IssueCode(ctx, code(t0, "111111"), 24*time.Hour, nil))
		ok(t, st.CreateResetToken(ctx, resetToken("old-token", u.ID, t0)))
		ok(t, st.CreateSession(ctx, store.Session{ID: "old", UserID: u.ID, AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)},
			&store.RefreshToken{TokenHash: hash("old-rt"), SessionID: "old", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
		// Still live at now.
		_, err = st.Hit(ctx, "live", now, now.Add(time.Minute))
		ok(t, err)
		live := code(now, "222222")
		live.Target = "email:bob@example.com"
		ok(t, st.IssueCode(ctx, live, interval, nil))
		liveRT := newSession(t, st, "live", u.ID)

		ok(t, st.Sweep(ctx, now))
		ok(t, st.Sweep(ctx, now)) // idempotent

		if n, err := st.Count(ctx, "old", t0); err != nil || n != 0 {
			t.Errorf("expired counter: %d, %v", n, err)
		}
		if n, err := st.Count(ctx, "live", now); err != nil || n != 1 {
			t.Errorf("live counter: %d, %v", n, err)
		}
		// The expired code is gone, so it no longer throttles a new one.
		if err := st.IssueCode(ctx, code(now, "333333"), 24*time.Hour, nil); err != nil {
			t.Errorf("the expired code was not swept: %v", err)
		}
		// The expired token's hash is free again.
		if err := st.CreateResetToken(ctx, resetToken("old-token", bob.ID, now)); err != nil {
			t.Errorf("the expired reset token was not swept: %v", err)
		}
		_, err = st.GetSession(ctx, "old")
		is(t, err, store.ErrNotFound)
		if _, err := st.GetSession(ctx, "live"); err != nil {
			t.Errorf("live session: %v", err)
		}
		res, _, err := st.ConsumeCode(ctx, live.Target, live.Channel, hash("222222"), now, tries)
		if err != nil || res != store.CodeOK {
			t.Errorf("live code: %v, %v", res, err)
		}
		if _, err := st.RotateRefreshToken(ctx, "app", liveRT.TokenHash, next("n", now), now); err != nil {
			t.Errorf("live refresh token: %v", err)
		}
	}},
}

// enqueue queues n messages and returns their ids, in order.
func enqueue(t *testing.T, st store.Store, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		id, err := st.Enqueue(ctx, message(i))
		ok(t, err)
		ids[i] = id
	}
	return ids
}
