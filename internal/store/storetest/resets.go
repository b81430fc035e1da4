package storetest

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

var throttleTests = []test{
	{"HitAndCount", func(t *testing.T, st store.Store) {
		win := t0.Truncate(time.Minute)
		for want := 1; want <= 3; want++ {
			n, err := st.Hit(ctx, "ip:192.0.2.1", win, win.Add(time.Minute))
			ok(t, err)
			if n != want {
				t.Fatalf("hit %d returned %d", want, n)
			}
		}
		for _, tc := range []struct {
			key  string
			win  time.Time
			want int
		}{
			{"ip:192.0.2.1", win, 3},
			{"ip:192.0.2.1", win.Add(time.Minute), 0}, // the next window starts at zero
			{"ip:192.0.2.2", win, 0},
		} {
			n, err := st.Count(ctx, tc.key, tc.win)
			ok(t, err)
			if n != tc.want {
				t.Errorf("Count(%s, %v) = %d, want %d", tc.key, tc.win, n, tc.want)
			}
		}
	}},
	{"HitOnlyLengthensALife", func(t *testing.T, st store.Store) {
		// A counter made to live one window, hit again by a caller that
		// keeps it two (a sliding count reads it as the previous window),
		// lives two; a shorter life never shortens it.
		win := t0.Truncate(time.Hour)
		_, err := st.Hit(ctx, "send:a", win, win.Add(time.Hour))
		ok(t, err)
		_, err = st.Hit(ctx, "send:a", win, win.Add(2*time.Hour))
		ok(t, err)
		_, err = st.Hit(ctx, "send:a", win, win.Add(time.Hour))
		ok(t, err)
		ok(t, st.Sweep(ctx, win.Add(90*time.Minute)))
		if n, err := st.Count(ctx, "send:a", win); err != nil || n != 3 {
			t.Fatalf("after a sweep within its longer life: %d (%v), want 3", n, err)
		}
	}},
	{"Unhit", func(t *testing.T, st store.Store) {
		win := t0.Truncate(time.Hour)
		for range 2 {
			_, err := st.Hit(ctx, "k", win, win.Add(time.Hour))
			ok(t, err)
		}
		_, err := st.Hit(ctx, "k", win.Add(time.Hour), win.Add(2*time.Hour))
		ok(t, err)
		ok(t, st.Unhit(ctx, "k", win))
		for _, c := range []struct {
			win  time.Time
			want int
		}{{win, 1}, {win.Add(time.Hour), 1}} {
			if n, err := st.Count(ctx, "k", c.win); err != nil || n != c.want {
				t.Fatalf("Count(k, %v) = %d (%v), want %d", c.win, n, err, c.want)
			}
		}
		// Never below zero; an absent counter stays absent.
		ok(t, st.Unhit(ctx, "k", win))
		ok(t, st.Unhit(ctx, "k", win))
		ok(t, st.Unhit(ctx, "absent", win))
		for key, want := range map[string]int{"k": 0, "absent": 0} {
			if n, err := st.Count(ctx, key, win); err != nil || n != want {
				t.Fatalf("Count(%s) = %d (%v), want %d", key, n, err, want)
			}
		}
		if n, err := st.Hit(ctx, "k", win, win.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("a hit after zero: %d (%v), want 1", n, err)
		}
	}},
	{"ConcurrentHitsCountExactly", func(t *testing.T, st store.Store) {
		const n = 40
		got := make([]int, n)
		errs := race(n, func(i int) error {
			var err error
			got[i], err = st.Hit(ctx, "fail:email:ann@example.com", t0, t0.Add(time.Hour))
			return err
		})
		for _, err := range errs {
			ok(t, err)
		}
		sort.Ints(got)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("concurrent hits returned %v, want each of 1..%d once", got, n)
			}
		}
		c, err := st.Count(ctx, "fail:email:ann@example.com", t0)
		ok(t, err)
		if c != n {
			t.Fatalf("Count = %d after %d hits", c, n)
		}
	}},
}

func resetToken(name, userID string, at time.Time) store.ResetToken {
	return store.ResetToken{TokenHash: hash(name), UserID: userID, AppID: "app", CreatedAt: at, ExpiresAt: at.Add(15 * time.Minute)}
}

func held(t store.ResetToken, emailKey, phone string) store.ResetToken {
	t.EmailKey, t.Phone = emailKey, phone
	return t
}

var resetTests = []test{
	{"CreateGet", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		tok := resetToken("tok", u.ID, t0)
		ok(t, st.CreateResetToken(ctx, tok))
		got, err := st.GetResetToken(ctx, tok.TokenHash, t0.Add(time.Minute))
		ok(t, err)
		same(t, "reset token", got, tok)
		_, err = st.GetResetToken(ctx, tok.TokenHash, tok.ExpiresAt)
		is(t, err, store.ErrNotFound)
		_, err = st.GetResetToken(ctx, hash("unknown"), t0)
		is(t, err, store.ErrNotFound)
	}},
	{"NewTokenReplacesOlder", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		ok(t, st.CreateResetToken(ctx, resetToken("ann-1", ann.ID, t0)))
		ok(t, st.CreateResetToken(ctx, resetToken("bob-1", bob.ID, t0)))
		ok(t, st.CreateResetToken(ctx, resetToken("ann-2", ann.ID, t0.Add(time.Second))))
		_, err := st.GetResetToken(ctx, hash("ann-1"), t0.Add(time.Second))
		is(t, err, store.ErrNotFound)
		for _, name := range []string{"ann-2", "bob-1"} {
			if _, err := st.GetResetToken(ctx, hash(name), t0.Add(time.Second)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}},
	{"CreateOnlyForTheHolder", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		ok(t, st.CreateResetToken(ctx, resetToken("live", u.ID, t0)))
		// Refused, writing nothing: the older token stays.
		for _, c := range []struct {
			name string
			tok  store.ResetToken
		}{
			{"unknown user", resetToken("x1", "nope", t0)},
			{"email no longer held", held(resetToken("x2", u.ID, t0), "old@example.com", "")},
			{"phone no longer held", held(resetToken("x3", u.ID, t0), "", "+8613800138999")},
			{"email held, phone not", held(resetToken("x4", u.ID, t0), u.EmailKey, "+8613800138999")},
		} {
			is(t, st.CreateResetToken(ctx, c.tok), store.ErrNotFound)
			if _, err := st.GetResetToken(ctx, c.tok.TokenHash, t0); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: a token was stored (%v)", c.name, err)
			}
			if _, err := st.GetResetToken(ctx, hash("live"), t0); err != nil {
				t.Fatalf("%s: the older token went (%v)", c.name, err)
			}
		}
		for i, tok := range []store.ResetToken{
			held(resetToken("by-email", u.ID, t0), u.EmailKey, ""),
			held(resetToken("by-phone", u.ID, t0), "", u.Phone),
		} {
			ok(t, st.CreateResetToken(ctx, tok))
			got, err := st.GetResetToken(ctx, tok.TokenHash, t0)
			ok(t, err)
			if got.UserID != u.ID {
				t.Fatalf("token %d: %+v", i, got)
			}
		}
	}},
	{"ResetPassword", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		rt1 := newSession(t, st, "ann-1", ann.ID)
		newSession(t, st, "ann-2", ann.ID)
		bobRT := newSession(t, st, "bob-1", bob.ID)
		ok(t, st.CreateResetToken(ctx, resetToken("tok", ann.ID, t0)))
		// Failed passwords in two windows, for ann and for bob.
		hour := t0.Truncate(time.Hour)
		for _, c := range []struct {
			key string
			win time.Time
		}{{store.PasswordFailures(ann.ID), hour}, {store.PasswordFailures(ann.ID), hour.Add(-time.Hour)}, {store.PasswordFailures(bob.ID), hour}} {
			_, err := st.Hit(ctx, c.key, c.win, c.win.Add(2*time.Hour))
			ok(t, err)
		}
		now := t0.Add(time.Minute)
		notice := message(1)
		id, err := st.ResetPassword(ctx, hash("tok"), "new-hash", now, &notice)
		ok(t, err)
		for _, c := range []struct {
			key  string
			win  time.Time
			want int
		}{{store.PasswordFailures(ann.ID), hour, 0}, {store.PasswordFailures(ann.ID), hour.Add(-time.Hour), 0}, {store.PasswordFailures(bob.ID), hour, 1}} {
			if n, err := st.Count(ctx, c.key, c.win); err != nil || n != c.want {
				t.Errorf("after the reset, %s in window %v = %d (%v), want %d", c.key, c.win, n, err, c.want)
			}
		}
		if id != ann.ID {
			t.Fatalf("ResetPassword returned user %q, want %q", id, ann.ID)
		}
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.PasswordHash != "new-hash" || !got.PasswordLastSetAt.Equal(now) || !got.UpdatedAt.Equal(now) {
			t.Fatalf("after reset: hash %q, set at %v, updated %v", got.PasswordHash, got.PasswordLastSetAt, got.UpdatedAt)
		}
		for _, sid := range []string{"ann-1", "ann-2"} {
			s, err := st.GetSession(ctx, sid)
			ok(t, err)
			if !s.RevokedAt.Equal(now) {
				t.Errorf("session %s: revoked at %v, want %v", sid, s.RevokedAt, now)
			}
		}
		_, err = st.RotateRefreshToken(ctx, "app", rt1.TokenHash, store.RefreshToken{TokenHash: hash("n1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
		is(t, err, store.ErrNotFound)
		// Another user's session is untouched.
		if s, err := st.GetSession(ctx, "bob-1"); err != nil || !s.RevokedAt.IsZero() {
			t.Fatalf("bob's session: %+v, %v", s, err)
		}
		if _, err := st.RotateRefreshToken(ctx, "app", bobRT.TokenHash, store.RefreshToken{TokenHash: hash("n2"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
			t.Fatalf("bob's refresh token: %v", err)
		}
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("%d notices queued, want 1", n)
		}
		same(t, "the notice, claimed by the id ResetPassword set", ids(claimIDs(t, st, now, notice.ID)), []int64{notice.ID})
		// Single use.
		_, err = st.GetResetToken(ctx, hash("tok"), now)
		is(t, err, store.ErrNotFound)
		_, err = st.ResetPassword(ctx, hash("tok"), "again", now, nil)
		is(t, err, store.ErrNotFound)
		got, err = st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.PasswordHash != "new-hash" {
			t.Fatalf("a used token changed the password to %q", got.PasswordHash)
		}
	}},
	{"SpendingATokenProvesItsEmail", func(t *testing.T, st store.Store) {
		// A token whose code went to the email makes it verified, by a
		// reset or by a signed-in change; one sent to the phone does not.
		ann := newUser(t, st, "ann", "+8613800138000")
		bob := newUser(t, st, "bob", "")
		cat := newUser(t, st, "cat", "")
		ok(t, st.CreateResetToken(ctx, held(resetToken("by-phone", ann.ID, t0), "", ann.Phone)))
		ok(t, st.CreateResetToken(ctx, held(resetToken("by-email", bob.ID, t0), bob.EmailKey, "")))
		ok(t, st.CreateResetToken(ctx, held(resetToken("signed-in", cat.ID, t0), cat.EmailKey, "")))
		now := t0.Add(time.Minute)
		_, err := st.ResetPassword(ctx, hash("by-phone"), "new-hash", now, nil)
		ok(t, err)
		_, err = st.ResetPassword(ctx, hash("by-email"), "new-hash", now, nil)
		ok(t, err)
		changed := cat
		changed.PasswordHash, changed.UpdatedAt = "new-hash", now
		ok(t, st.ChangeCredentials(ctx, changed, store.Change{Fields: store.FieldPassword, SpendReset: hash("signed-in")}))
		for _, c := range []struct {
			id   string
			want bool
		}{{ann.ID, false}, {bob.ID, true}, {cat.ID, true}} {
			u, err := st.GetUserByID(ctx, c.id)
			ok(t, err)
			if u.EmailVerified != c.want || u.PasswordHash != "new-hash" {
				t.Errorf("%s: emailVerified %v, hash %q; want %v, new-hash", c.id, u.EmailVerified, u.PasswordHash, c.want)
			}
		}
		if u, _ := st.GetUserByID(ctx, ann.ID); u.Phone == "" {
			t.Error("a reset by phone removed the phone")
		}
		// The first proof of an email ends a phone bound before it; a
		// proven email's reset leaves the phone.
		dan := newUser(t, st, "dan", "+8613800138001")
		eve := newUser(t, st, "eve", "+8613800138002")
		eve.EmailVerified = true
		ok(t, st.UpdateUser(ctx, eve, store.FieldEmailVerified))
		for _, u := range []store.User{dan, eve} {
			ok(t, st.CreateResetToken(ctx, held(resetToken("tok-"+u.ID, u.ID, t0), u.EmailKey, "")))
			_, err := st.ResetPassword(ctx, hash("tok-"+u.ID), "new-hash", now, nil)
			ok(t, err)
		}
		if u, _ := st.GetUserByID(ctx, dan.ID); u.Phone != "" || u.PhoneVerified || !u.EmailVerified {
			t.Errorf("dan after the first proof of the email: phone %q (%v), email verified %v", u.Phone, u.PhoneVerified, u.EmailVerified)
		}
		if u, _ := st.GetUserByID(ctx, eve.ID); u.Phone != eve.Phone {
			t.Errorf("eve's phone after a reset of a proven email: %q", u.Phone)
		}
	}},
	{"ResetPasswordRefusesAndWritesNothing", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		newSession(t, st, "ann-1", ann.ID)
		tok := resetToken("tok", ann.ID, t0)
		ok(t, st.CreateResetToken(ctx, tok))
		for _, tc := range []struct {
			name string
			hash []byte
			at   time.Time
		}{
			{"expired", tok.TokenHash, tok.ExpiresAt},
			{"unknown", hash("unknown"), t0},
		} {
			notice := message(1)
			_, err := st.ResetPassword(ctx, tc.hash, "new-hash", tc.at, &notice)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", tc.name, err)
			}
		}
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		s, err := st.GetSession(ctx, "ann-1")
		ok(t, err)
		if got.PasswordHash != ann.PasswordHash || !s.RevokedAt.IsZero() || outboxCount(t, st) != 0 {
			t.Fatalf("a refused reset wrote: hash %q, session revoked at %v, %d messages", got.PasswordHash, s.RevokedAt, outboxCount(t, st))
		}
	}},
	{"ConcurrentResetsOneWins", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		ok(t, st.CreateResetToken(ctx, resetToken("tok", ann.ID, t0)))
		errs := race(racers, func(i int) error {
			notice := message(i)
			_, err := st.ResetPassword(ctx, hash("tok"), fmt.Sprintf("hash-%d", i), t0.Add(time.Second), &notice)
			return err
		})
		if n := winners(t, errs, store.ErrNotFound); n != 1 {
			t.Fatalf("%d of %d concurrent resets with one token succeeded, want exactly 1", n, racers)
		}
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		for i, err := range errs {
			if err == nil && got.PasswordHash != fmt.Sprintf("hash-%d", i) {
				t.Fatalf("racer %d won but the stored hash is %q", i, got.PasswordHash)
			}
		}
		if n := outboxCount(t, st); n != 1 {
			t.Fatalf("%d notices queued, want 1", n)
		}
	}},
}
