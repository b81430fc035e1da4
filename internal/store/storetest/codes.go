package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

const (
	target   = "email:ann@example.com"
	channel  = "CHANNEL_RESET_PASSWORD"
	ttl      = 5 * time.Minute
	interval = time.Minute
	tries    = 5
)

func code(at time.Time, secret string) store.Code {
	return store.Code{Target: target, Channel: channel, CodeHash: hash(secret), CreatedAt: at, ExpiresAt: at.Add(ttl)}
}

// consume checks one ConsumeCode answer.
func consume(t *testing.T, st store.Store, secret string, at time.Time, want store.CodeResult, wantLeft int) {
	t.Helper()
	got, left, err := st.ConsumeCode(ctx, target, channel, hash(secret), at, tries)
	ok(t, err)
	if got != want || (want == store.CodeWrong && left != wantLeft) {
		t.Fatalf("ConsumeCode(%s) = %v with %d left, want %v with %d left", secret, got, left, want, wantLeft)
	}
}

var codeTests = []test{
	{"NoIntervalNoThrottle", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), 0, nil))
		// A concurrent request whose clock read a moment earlier.
		ok(t, st.IssueCode(ctx, code(t0.Add(-time.Millisecond), "654321"), 0, nil))
		consume(t, st, "654321", t0, store.CodeOK, 0)
	}},
	{"IssueCountsOnlyWhenIssued", func(t *testing.T, st store.Store) {
		c := code(t0, "123456")
		c.Counter = &store.Counter{Key: "send:" + target, Window: t0, ExpiresAt: t0.Add(time.Hour)}
		ok(t, st.IssueCode(ctx, c, interval, nil))
		if err := st.IssueCode(ctx, c, interval, nil); !errors.Is(err, store.ErrThrottled) {
			t.Fatalf("second code within the interval: %v", err)
		}
		if n, err := st.Count(ctx, "send:"+target, t0); err != nil || n != 1 {
			t.Fatalf("counter = %d (%v), want 1: counted with the issue, not with the refusal", n, err)
		}
	}},
	{"IssueRefusesAtTheCap", func(t *testing.T, st store.Store) {
		counter := func(c store.Code) store.Code {
			c.Counter = &store.Counter{Key: "send:" + target, Window: t0, ExpiresAt: t0.Add(time.Hour), Max: 2}
			return c
		}
		m := store.OutboxMessage{Kind: "email", Payload: []byte("{}"), CreatedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
		ok(t, st.IssueCode(ctx, counter(code(t0, "111111")), 0, &m))
		first := m.ID
		ok(t, st.IssueCode(ctx, counter(code(t0.Add(time.Second), "222222")), 0, &m))
		// Each issue names the message it queued.
		same(t, "queued messages, claimed by the ids IssueCode set", ids(claimIDs(t, st, t0, first, m.ID)), []int64{first, m.ID})
		if err := st.IssueCode(ctx, counter(code(t0.Add(2*time.Second), "333333")), 0, &m); !errors.Is(err, store.ErrLimited) {
			t.Fatalf("third code with Max 2: %v, want ErrLimited", err)
		}
		if n, err := st.Count(ctx, "send:"+target, t0); err != nil || n != 2 {
			t.Fatalf("counter = %d (%v), want 2", n, err)
		}
		if n := outboxCount(t, st); n != 2 {
			t.Fatalf("outbox holds %d messages, want 2: the refused code enqueued one", n)
		}
		consume(t, st, "222222", t0.Add(3*time.Second), store.CodeOK, 0) // the refused code did not replace it
		// The interval throttle still answers ErrThrottled below the cap.
		c := code(t0, "444444")
		c.Counter = &store.Counter{Key: "send:other", Window: t0, ExpiresAt: t0.Add(time.Hour), Max: 5}
		if err := st.IssueCode(ctx, c, time.Hour, nil); !errors.Is(err, store.ErrThrottled) {
			t.Fatalf("within the interval, under the cap: %v, want ErrThrottled", err)
		}
	}},
	{"MatchLeavesTheCodeUsable", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		for i := 0; i < 3; i++ {
			got, _, err := st.MatchCode(ctx, target, channel, hash("123456"), t0, tries)
			ok(t, err)
			if got != store.CodeOK {
				t.Fatalf("MatchCode = %v, want CodeOK", got)
			}
		}
		got, left, err := st.MatchCode(ctx, target, channel, hash("000000"), t0, tries)
		ok(t, err)
		if got != store.CodeWrong || left != tries-1 {
			t.Fatalf("MatchCode(wrong) = %v with %d left, want a counted miss", got, left)
		}
		consume(t, st, "123456", t0, store.CodeOK, 0)
		if got, _, _ := st.MatchCode(ctx, target, channel, hash("123456"), t0, tries); got != store.CodeDead {
			t.Fatalf("MatchCode after use = %v, want CodeDead", got)
		}
	}},
	{"RightCodeOnce", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		consume(t, st, "123456", t0.Add(time.Second), store.CodeOK, 0)
		consume(t, st, "123456", t0.Add(2*time.Second), store.CodeDead, 0)
	}},
	{"WrongTriesCountDown", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		for left := tries - 1; left >= 0; left-- {
			consume(t, st, "000000", t0.Add(time.Second), store.CodeWrong, left)
		}
		// Out of tries: even the right code is dead, and misses are no longer counted.
		consume(t, st, "123456", t0.Add(time.Second), store.CodeDead, 0)
		consume(t, st, "000000", t0.Add(time.Second), store.CodeDead, 0)
	}},
	{"RightCodeAfterWrongTries", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		consume(t, st, "000000", t0, store.CodeWrong, 4)
		consume(t, st, "111111", t0, store.CodeWrong, 3)
		consume(t, st, "123456", t0, store.CodeOK, 0)
	}},
	{"Expiry", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		consume(t, st, "000000", t0.Add(ttl), store.CodeDead, 0) // expired misses are not counted
		consume(t, st, "123456", t0.Add(ttl), store.CodeDead, 0)
		consume(t, st, "123456", t0.Add(ttl-time.Millisecond), store.CodeOK, 0)
	}},
	{"BoundToTargetAndChannel", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		for _, tc := range []struct{ target, channel string }{
			{target, "CHANNEL_LOGIN"},
			{"email:bob@example.com", channel},
		} {
			res, _, err := st.ConsumeCode(ctx, tc.target, tc.channel, hash("123456"), t0, tries)
			ok(t, err)
			if res != store.CodeDead {
				t.Fatalf("ConsumeCode(%s, %s) = %v, want CodeDead", tc.target, tc.channel, res)
			}
		}
		consume(t, st, "123456", t0, store.CodeOK, 0)
	}},
	{"NoCode", func(t *testing.T, st store.Store) {
		consume(t, st, "123456", t0, store.CodeDead, 0)
	}},
	{"ThrottleWritesNothing", func(t *testing.T, st store.Store) {
		m := message(1)
		ok(t, st.IssueCode(ctx, code(t0, "111111"), interval, &m))
		consume(t, st, "999999", t0, store.CodeWrong, 4)
		m2 := message(2)
		is(t, st.IssueCode(ctx, code(t0.Add(interval-time.Millisecond), "222222"), interval, &m2), store.ErrThrottled)
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("a throttled IssueCode queued a message: %d waiting, want 1", n)
		}
		consume(t, st, "222222", t0, store.CodeWrong, 3) // the throttled code was not stored
		consume(t, st, "111111", t0, store.CodeOK, 0)    // the first still works
		// Once used, the code still throttles until the interval has passed.
		is(t, st.IssueCode(ctx, code(t0.Add(time.Second), "333333"), interval, nil), store.ErrThrottled)
	}},
	{"ReissueReplacesAndResetsAttempts", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "111111"), interval, nil))
		for left := tries - 1; left >= 0; left-- {
			consume(t, st, "000000", t0, store.CodeWrong, left)
		}
		later := t0.Add(interval) // exactly the interval: allowed
		ok(t, st.IssueCode(ctx, code(later, "222222"), interval, nil))
		consume(t, st, "111111", later, store.CodeWrong, tries-1) // the old code is gone
		consume(t, st, "222222", later, store.CodeOK, 0)
	}},
	{"IssueQueuesMessage", func(t *testing.T, st store.Store) {
		m := message(7)
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, &m))
		got, err := st.ClaimOutbox(ctx, t0, time.Minute, 10)
		ok(t, err)
		if len(got) != 1 || string(got[0].Payload) != string(m.Payload) {
			t.Fatalf("claimed %+v, want the one message", got)
		}
		// A code for an unknown account is stored without a message.
		c := code(t0, "654321")
		c.Target = "email:nobody@example.com"
		ok(t, st.IssueCode(ctx, c, interval, nil))
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("%d messages waiting, want 1", n)
		}
	}},
	{"ConcurrentIssueThrottles", func(t *testing.T, st store.Store) {
		errs := race(racers, func(i int) error {
			m := message(i)
			return st.IssueCode(ctx, code(t0, fmt.Sprintf("%06d", i)), interval, &m)
		})
		if n := winners(t, errs, store.ErrThrottled); n != 1 {
			t.Fatalf("%d concurrent IssueCode calls succeeded, want exactly 1", n)
		}
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("%d messages queued, want 1", n)
		}
		var won int
		for i, err := range errs {
			if err == nil {
				won = i
			}
		}
		consume(t, st, fmt.Sprintf("%06d", won), t0, store.CodeOK, 0)
	}},
	{"ConcurrentRightCode", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		results := make([]store.CodeResult, racers)
		errs := race(racers, func(i int) error {
			var err error
			results[i], _, err = st.ConsumeCode(ctx, target, channel, hash("123456"), t0, tries)
			return err
		})
		n := 0
		for i := range racers {
			ok(t, errs[i])
			switch results[i] {
			case store.CodeOK:
				n++
			case store.CodeDead:
			default:
				t.Errorf("racer %d: %v, want CodeOK or CodeDead", i, results[i])
			}
		}
		if n != 1 {
			t.Fatalf("%d concurrent ConsumeCode calls got CodeOK, want exactly 1", n)
		}
	}},
	{"ParallelGuessesCountedAsChecked", func(t *testing.T, st store.Store) {
		// A guess must be counted by the statement that checks it. When the
		// check and the count were two statements, parallel guesses were
		// all checked before any was counted, and the right one among them
		// almost always won the code's last try. Counted as checked, the
		// right guess wins only if it is the first of the racers to run.
		const rounds, guessers = 150, 2 * racers
		wins := 0
		for r := range rounds {
			at := t0.Add(time.Duration(r) * time.Second)
			ok(t, st.IssueCode(ctx, code(at, "123456"), 0, nil))
			for k := range tries - 1 {
				consume(t, st, "000000", at, store.CodeWrong, tries-1-k)
			}
			right := rand.IntN(guessers)
			results := make([]store.CodeResult, guessers)
			errs := race(guessers, func(i int) error {
				guess := fmt.Sprintf("%06d", 100+i)
				if i == right {
					guess = "123456"
				}
				var err error
				results[i], _, err = st.ConsumeCode(ctx, target, channel, hash(guess), at, tries)
				return err
			})
			checked := 0
			for i := range guessers {
				ok(t, errs[i])
				if results[i] != store.CodeDead {
					checked++
				}
			}
			if checked != 1 {
				t.Fatalf("round %d: %d racers were answered for the last try, want 1", r, checked)
			}
			if results[right] == store.CodeOK {
				wins++
			}
		}
		t.Logf("the right guess won the last try in %d of %d rounds", wins, rounds)
		if wins > rounds*3/20 {
			t.Fatalf("the right guess won the last try in %d of %d rounds among %d parallel guesses: guesses were checked before they were counted", wins, rounds, guessers)
		}
	}},
	{"ConcurrentWrongCodes", func(t *testing.T, st store.Store) {
		ok(t, st.IssueCode(ctx, code(t0, "123456"), interval, nil))
		results := make([]store.CodeResult, racers)
		lefts := make([]int, racers)
		errs := race(racers, func(i int) error {
			var err error
			results[i], lefts[i], err = st.ConsumeCode(ctx, target, channel, hash(fmt.Sprintf("bad-%d", i)), t0, tries)
			return err
		})
		var left []int
		for i := range racers {
			ok(t, errs[i])
			if results[i] == store.CodeWrong {
				left = append(left, lefts[i])
			} else if results[i] != store.CodeDead {
				t.Errorf("racer %d: %v, want CodeWrong or CodeDead", i, results[i])
			}
		}
		sort.Ints(left)
		same(t, "tries left reported to the racers that were counted", left, []int{0, 1, 2, 3, 4})
		consume(t, st, "123456", t0, store.CodeDead, 0)
	}},
}
