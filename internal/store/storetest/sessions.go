package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

func next(name string, at time.Time) store.RefreshToken {
	return store.RefreshToken{TokenHash: hash(name), CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

func revokedAt(t *testing.T, st store.Store, id string) time.Time {
	t.Helper()
	s, err := st.GetSession(ctx, id)
	ok(t, err)
	return s.RevokedAt
}

var sessionTests = []test{
	{"CreateGet", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		s := store.Session{ID: "s-1", UserID: u.ID, AppID: "app", Scope: "openid profile offline_access", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		ok(t, st.CreateSession(ctx, s, nil))
		got, err := st.GetSession(ctx, s.ID)
		ok(t, err)
		same(t, "session", got, s)
		_, err = st.GetSession(ctx, "nope")
		is(t, err, store.ErrNotFound)
		is(t, st.CreateSession(ctx, s, nil), store.ErrConflict)
	}},
	{"GetSessionUser", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "+8613800000001")
		newUser(t, st, "bob", "")
		newSession(t, st, "s-ann", ann.ID)
		newSession(t, st, "s-bob", "bob")
		ok(t, st.RevokeSession(ctx, "s-bob", t0.Add(time.Minute)))
		want, err := st.GetSession(ctx, "s-ann")
		ok(t, err)
		s, u, err := st.GetSessionUser(ctx, "s-ann")
		ok(t, err)
		same(t, "session", s, want)
		same(t, "user", u, ann)
		s, u, err = st.GetSessionUser(ctx, "s-bob") // revoked sessions come back, marked
		ok(t, err)
		if s.RevokedAt.IsZero() || u.ID != "bob" {
			t.Fatalf("revoked session: %+v of %q", s, u.ID)
		}
		_, _, err = st.GetSessionUser(ctx, "nope")
		is(t, err, store.ErrNotFound)
		ok(t, st.DeleteUser(ctx, ann.ID, "", nil))
		_, _, err = st.GetSessionUser(ctx, "s-ann")
		is(t, err, store.ErrNotFound)
	}},
	{"ConcurrentSessionReads", func(t *testing.T, st store.Store) {
		// Reads arriving together may be merged into one statement: each
		// must get its own session and user, a missing one ErrNotFound, and
		// a read that starts after a revocation must see it.
		const users = 12
		for i := range users {
			u := newUser(t, st, fmt.Sprintf("u%02d", i), "")
			newSession(t, st, fmt.Sprintf("s%02d", i), u.ID)
		}
		for round := range 3 {
			errs := race(40, func(i int) error {
				id, user := fmt.Sprintf("s%02d", i%users), fmt.Sprintf("u%02d", i%users)
				if i%users == users-1 && i%2 == 0 {
					id = fmt.Sprintf("gone-%d", i)
				}
				s, u, err := st.GetSessionUser(ctx, id)
				switch {
				case strings.HasPrefix(id, "gone-"):
					if !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("%s: got %v, want ErrNotFound", id, err)
					}
				case err != nil:
					return fmt.Errorf("%s: %w", id, err)
				case s.ID != id || s.UserID != user || u.ID != user || u.Email != user+"@Example.com":
					return fmt.Errorf("%s: got session %q of %q, user %q (%q)", id, s.ID, s.UserID, u.ID, u.Email)
				case s.RevokedAt.IsZero() != (i%users >= round*4):
					return fmt.Errorf("%s in round %d: revoked at %v", id, round, s.RevokedAt)
				}
				return nil
			})
			for _, err := range errs {
				ok(t, err)
			}
			for i := round * 4; i < round*4+4; i++ {
				ok(t, st.RevokeSession(ctx, fmt.Sprintf("s%02d", i), t0.Add(time.Minute)))
			}
		}
	}},
	{"RevokeSession", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		rt := newSession(t, st, "s-1", u.ID)
		other := newSession(t, st, "s-2", u.ID)
		ok(t, st.RevokeSession(ctx, "s-1", t0.Add(time.Minute)))
		ok(t, st.RevokeSession(ctx, "s-1", t0.Add(time.Hour))) // the first revocation time stays
		if at := revokedAt(t, st, "s-1"); !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("revoked at %v, want %v", at, t0.Add(time.Minute))
		}
		_, err := st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n1", t0), t0.Add(2*time.Minute))
		is(t, err, store.ErrNotFound)
		if at := revokedAt(t, st, "s-2"); !at.IsZero() {
			t.Fatal("revoking one session revoked another")
		}
		if _, err := st.RotateRefreshToken(ctx, "app", other.TokenHash, next("n2", t0), t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("the other session's refresh token: %v", err)
		}
	}},
	{"RevokeUserSessions", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		rts := []store.RefreshToken{newSession(t, st, "a-1", ann.ID), newSession(t, st, "a-2", ann.ID)}
		newSession(t, st, "b-1", bob.ID)
		now := t0.Add(time.Minute)
		ok(t, st.RevokeUserSessions(ctx, ann.ID, now))
		for i, id := range []string{"a-1", "a-2"} {
			if at := revokedAt(t, st, id); !at.Equal(now) {
				t.Errorf("%s revoked at %v, want %v", id, at, now)
			}
			_, err := st.RotateRefreshToken(ctx, "app", rts[i].TokenHash, next(fmt.Sprint("n", i), now), now)
			is(t, err, store.ErrNotFound)
		}
		if at := revokedAt(t, st, "b-1"); !at.IsZero() {
			t.Fatal("another user's session was revoked")
		}
	}},
	{"PasswordChangeEndsSessionsOfTheOldVersion", func(t *testing.T, st store.Store) {
		// A sign-in reads the user, checks the password, then opens its
		// session: one that read the user before a password change and
		// opens after it must not outlive the change, whichever the store.
		ann := newUser(t, st, "ann", "")
		before, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		newSession(t, st, "a-keep", ann.ID)
		rtOld := newSession(t, st, "a-old", ann.ID)
		now := t0.Add(time.Minute)
		changed := before
		changed.PasswordHash, changed.PasswordLastSetAt, changed.UpdatedAt = "new-hash", now, now
		ok(t, st.ChangeCredentials(ctx, changed, store.Change{Fields: store.FieldPassword, Keep: "a-keep"}))
		late := store.RefreshToken{TokenHash: hash("rt-late"), SessionID: "a-late", UserID: ann.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		ok(t, st.CreateSession(ctx, store.Session{ID: "a-late", UserID: ann.ID, AppID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			CredVersion: before.CredVersion}, &late))
		for _, id := range []string{"a-old", "a-late"} {
			if revokedAt(t, st, id).IsZero() {
				t.Errorf("%s, opened under the old password, is live", id)
			}
			s, _, err := st.GetSessionUser(ctx, id)
			ok(t, err)
			if s.RevokedAt.IsZero() {
				t.Errorf("%s read with its user is live", id)
			}
		}
		for _, rt := range []store.RefreshToken{rtOld, late} {
			s, err := st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n-"+rt.SessionID, now), now)
			if err == nil && s.RevokedAt.IsZero() {
				t.Errorf("%s's refresh token rotated into a live session", rt.SessionID)
			}
		}
		if !revokedAt(t, st, "a-keep").IsZero() {
			t.Error("the session that made the change was ended")
		}
		newSession(t, st, "a-new", ann.ID)
		if !revokedAt(t, st, "a-new").IsZero() {
			t.Error("a session opened under the new password reads as ended")
		}
	}},
	{"ChangeBySessionNeedsItLive", func(t *testing.T, st store.Store) {
		// A signed-in change (Keep) lands only while its session is live
		// and of the version read; EndOthers raises the version and the
		// kept session follows it.
		ann := newUser(t, st, "ann", "+8613800138000")
		newSession(t, st, "a-live", ann.ID)
		newSession(t, st, "a-ended", ann.ID)
		newSession(t, st, "a-other", ann.ID)
		ok(t, st.RevokeSession(ctx, "a-ended", t0))
		u, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		u.Phone, u.PhoneVerified, u.UpdatedAt = "", false, t0.Add(time.Minute)
		is(t, st.ChangeCredentials(ctx, u, store.Change{Fields: store.FieldPhone, Keep: "a-ended"}), store.ErrStale)
		ok(t, st.ChangeCredentials(ctx, u, store.Change{Fields: store.FieldPhone, Keep: "a-live", EndOthers: true}))
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.Phone != "" || got.CredVersion != u.CredVersion+1 {
			t.Fatalf("after the change: phone %q, version %d (was %d)", got.Phone, got.CredVersion, u.CredVersion)
		}
		if !revokedAt(t, st, "a-live").IsZero() || revokedAt(t, st, "a-other").IsZero() {
			t.Fatal("EndOthers: want a-live live and a-other ended")
		}
		// The old version's read is stale now.
		is(t, st.ChangeCredentials(ctx, u, store.Change{Fields: store.FieldPhone, Keep: "a-live"}), store.ErrStale)
	}},
	{"ChangeCredentials", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		keep := newSession(t, st, "a-keep", ann.ID)
		gone := newSession(t, st, "a-gone", ann.ID)
		newSession(t, st, "b-1", bob.ID)
		ok(t, st.CreateResetToken(ctx, resetToken("ann-tok", ann.ID, t0)))
		ok(t, st.CreateResetToken(ctx, resetToken("bob-tok", bob.ID, t0)))
		now := t0.Add(time.Minute)
		// A conflict changes nothing: no notice, no session ended.
		taken := ann
		taken.EmailKey, taken.UpdatedAt = bob.EmailKey, now
		m := message(1)
		is(t, st.ChangeCredentials(ctx, taken, store.Change{Fields: store.FieldEmail, EndOthers: true, Keep: "a-keep", Notices: []*store.OutboxMessage{&m}}), store.ErrConflict)
		if n := outboxCount(t, st); n != 0 || !revokedAt(t, st, "a-gone").IsZero() {
			t.Fatalf("after a refused change: %d notices, a-gone revoked at %v", n, revokedAt(t, st, "a-gone"))
		}
		if _, err := st.GetResetToken(ctx, hash("ann-tok"), now); err != nil {
			t.Fatalf("a refused change deleted the reset token: %v", err)
		}
		changed := ann
		changed.PasswordHash, changed.UpdatedAt = "new-hash", now
		ok(t, st.ChangeCredentials(ctx, changed, store.Change{Fields: store.FieldPassword, EndOthers: true, Keep: "a-keep", Notices: []*store.OutboxMessage{&m}}))
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.PasswordHash != "new-hash" {
			t.Fatalf("hash %q after the change", got.PasswordHash)
		}
		if at := revokedAt(t, st, "a-gone"); !at.Equal(now) {
			t.Errorf("other session revoked at %v, want %v", at, now)
		}
		_, err = st.GetRefreshToken(ctx, gone.TokenHash, now)
		is(t, err, store.ErrNotFound)
		for _, id := range []string{"a-keep", "b-1"} {
			if at := revokedAt(t, st, id); !at.IsZero() {
				t.Errorf("session %s was revoked", id)
			}
		}
		if _, err := st.GetRefreshToken(ctx, keep.TokenHash, now); err != nil {
			t.Errorf("the kept session's refresh token: %v", err)
		}
		_, err = st.GetResetToken(ctx, hash("ann-tok"), now)
		is(t, err, store.ErrNotFound)
		if _, err := st.GetResetToken(ctx, hash("bob-tok"), now); err != nil {
			t.Errorf("another user's reset token: %v", err)
		}
		same(t, "the notice, claimed by the id ChangeCredentials set", ids(claimIDs(t, st, now, m.ID)), []int64{m.ID})
		// FieldPassword writes the password and leaves the rest of the row
		// as it is now, not as the caller read it.
		fresh, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		fresh.Profile = []byte(`{"nickname":"changed meanwhile"}`)
		ok(t, st.UpdateUser(ctx, fresh, store.FieldProfile))
		stale := changed
		stale.PasswordHash, stale.PasswordLastSetAt, stale.UpdatedAt = "newer-hash", now.Add(time.Second), now.Add(time.Second)
		// Read before the last password change: refused, nothing written.
		is(t, st.ChangeCredentials(ctx, stale, store.Change{Fields: store.FieldPassword}), store.ErrStale)
		if got, err := st.GetUserByID(ctx, ann.ID); err != nil || got.PasswordHash != "new-hash" {
			t.Fatalf("a stale password change wrote %q (%v)", got.PasswordHash, err)
		}
		stale.CredVersion = fresh.CredVersion
		// The kept session must be live and of the version read.
		is(t, st.ChangeCredentials(ctx, stale, store.Change{Fields: store.FieldPassword, Keep: "a-gone"}), store.ErrStale)
		ok(t, st.ChangeCredentials(ctx, stale, store.Change{Fields: store.FieldPassword}))
		got, err = st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.PasswordHash != "newer-hash" || !got.PasswordLastSetAt.Equal(now.Add(time.Second)) || string(got.Profile) != `{"nickname":"changed meanwhile"}` {
			t.Fatalf("after a FieldPassword change: hash %q, set at %v, profile %s", got.PasswordHash, got.PasswordLastSetAt, got.Profile)
		}
		is(t, st.ChangeCredentials(ctx, store.User{ID: "nope", UpdatedAt: now}, store.Change{Fields: store.FieldPassword}), store.ErrNotFound)
		// Without EndOthers the sessions stay.
		newSession(t, st, "a-3", ann.ID)
		cur, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		changed.CredVersion = cur.CredVersion
		ok(t, st.ChangeCredentials(ctx, changed, store.Change{}))
		if at := revokedAt(t, st, "a-3"); !at.IsZero() {
			t.Errorf("a change without EndOthers revoked a session")
		}
	}},
	{"ChangeCredentialsSpendsAResetToken", func(t *testing.T, st store.Store) {
		ann := newUser(t, st, "ann", "")
		bob := newUser(t, st, "bob", "")
		ok(t, st.CreateResetToken(ctx, resetToken("ann-tok", ann.ID, t0)))
		ok(t, st.CreateResetToken(ctx, resetToken("bob-tok", bob.ID, t0)))
		hour := t0.Truncate(time.Hour)
		_, err := st.Hit(ctx, store.PasswordFailures(ann.ID), hour, hour.Add(time.Hour))
		ok(t, err)
		changed := ann
		changed.PasswordHash = "new-hash"
		// Refused, writing nothing: another user's token, an unknown one,
		// one expired at the change.
		for _, c := range []struct {
			name string
			tok  []byte
			at   time.Time
		}{
			{"bob's token", hash("bob-tok"), t0.Add(time.Minute)},
			{"an unknown token", hash("nope"), t0.Add(time.Minute)},
			{"an expired token", hash("ann-tok"), t0.Add(15 * time.Minute)},
		} {
			changed.UpdatedAt = c.at
			is(t, st.ChangeCredentials(ctx, changed, store.Change{Fields: store.FieldPassword, SpendReset: c.tok}), store.ErrNotFound)
			got, err := st.GetUserByID(ctx, ann.ID)
			ok(t, err)
			if got.PasswordHash == "new-hash" {
				t.Fatalf("%s: the password changed", c.name)
			}
			if n, err := st.Count(ctx, store.PasswordFailures(ann.ID), hour); err != nil || n != 1 {
				t.Fatalf("%s: failure count %d (%v), want 1", c.name, n, err)
			}
		}
		for _, name := range []string{"ann-tok", "bob-tok"} {
			if _, err := st.GetResetToken(ctx, hash(name), t0.Add(time.Minute)); err != nil {
				t.Fatalf("%s after the refused changes: %v", name, err)
			}
		}
		changed.UpdatedAt = t0.Add(time.Minute)
		ok(t, st.ChangeCredentials(ctx, changed, store.Change{Fields: store.FieldPassword, SpendReset: hash("ann-tok")}))
		got, err := st.GetUserByID(ctx, ann.ID)
		ok(t, err)
		if got.PasswordHash != "new-hash" {
			t.Fatalf("hash %q after the change", got.PasswordHash)
		}
		_, err = st.GetResetToken(ctx, hash("ann-tok"), t0.Add(time.Minute))
		is(t, err, store.ErrNotFound)
		if n, err := st.Count(ctx, store.PasswordFailures(ann.ID), hour); err != nil || n != 0 {
			t.Fatalf("failure count %d (%v) after the change, want 0", n, err)
		}
		// Spent once: a second change with it is refused.
		is(t, st.ChangeCredentials(ctx, changed, store.Change{SpendReset: hash("ann-tok")}), store.ErrNotFound)
		if _, err := st.GetResetToken(ctx, hash("bob-tok"), t0.Add(time.Minute)); err != nil {
			t.Fatalf("bob's token: %v", err)
		}
	}},
	{"GetRefreshToken", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		rt := newSession(t, st, "s-1", u.ID)
		for i := range 2 { // reading does not use it
			got, err := st.GetRefreshToken(ctx, rt.TokenHash, t0.Add(time.Minute))
			ok(t, err)
			same(t, fmt.Sprint("refresh token, read ", i+1), got, rt)
		}
		_, err := st.GetRefreshToken(ctx, rt.TokenHash, rt.ExpiresAt)
		is(t, err, store.ErrNotFound)
		_, err = st.GetRefreshToken(ctx, hash("unknown"), t0)
		is(t, err, store.ErrNotFound)
		_, err = st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n1", t0), t0)
		ok(t, err)
		_, err = st.GetRefreshToken(ctx, rt.TokenHash, t0)
		is(t, err, store.ErrNotFound)
		got, err := st.GetRefreshToken(ctx, hash("n1"), t0)
		ok(t, err)
		if got.SessionID != "s-1" || got.UserID != u.ID {
			t.Fatalf("the rotated-in token belongs to %s/%s, want s-1/%s", got.SessionID, got.UserID, u.ID)
		}
	}},
	{"Rotate", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		rt := newSession(t, st, "s-1", u.ID)
		now := t0.Add(time.Minute)
		s, err := st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n1", now), now)
		ok(t, err)
		if s.ID != "s-1" || s.UserID != u.ID || s.AppID != "app" {
			t.Fatalf("rotate returned session %+v", s)
		}
		// The new token rotates in turn.
		_, err = st.RotateRefreshToken(ctx, "app", hash("n1"), next("n2", now), now.Add(time.Second))
		ok(t, err)
		if at := revokedAt(t, st, "s-1"); !at.IsZero() {
			t.Fatal("normal rotation revoked the session")
		}
	}},
	{"ReuseRevokesSession", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		rt := newSession(t, st, "s-1", u.ID)
		now := t0.Add(time.Minute)
		_, err := st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n1", now), now)
		ok(t, err)
		// The old token comes back: someone kept a copy.
		_, err = st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n2", now), now.Add(time.Second))
		is(t, err, store.ErrNotFound)
		if at := revokedAt(t, st, "s-1"); !at.Equal(now.Add(time.Second)) {
			t.Fatalf("after reuse the session is revoked at %v, want %v", at, now.Add(time.Second))
		}
		// The legitimate holder's new token is dead too.
		_, err = st.RotateRefreshToken(ctx, "app", hash("n1"), next("n3", now), now.Add(2*time.Second))
		is(t, err, store.ErrNotFound)
	}},
	{"RotateIsPerApp", func(t *testing.T, st store.Store) {
		// Another app presenting the token, live or already rotated, gets
		// nothing, uses nothing up and ends nothing.
		u := newUser(t, st, "ann", "")
		rt := newSession(t, st, "s-1", u.ID)
		now := t0.Add(time.Minute)
		_, err := st.RotateRefreshToken(ctx, "other-app", rt.TokenHash, next("n0", now), now)
		is(t, err, store.ErrNotFound)
		_, err = st.RotateRefreshToken(ctx, "app", rt.TokenHash, next("n1", now), now)
		ok(t, err)
		_, err = st.RotateRefreshToken(ctx, "other-app", rt.TokenHash, next("n2", now), now.Add(time.Second))
		is(t, err, store.ErrNotFound)
		if at := revokedAt(t, st, "s-1"); !at.IsZero() {
			t.Fatal("another app's replay revoked the session")
		}
		_, err = st.RotateRefreshToken(ctx, "app", hash("n1"), next("n3", now), now.Add(2*time.Second))
		ok(t, err)
	}},
	{"RotateRefused", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		cases := []struct {
			name  string
			setup func() []byte
			at    time.Time
		}{
			{"unknown", func() []byte { return hash("unknown") }, t0},
			{"expired token", func() []byte { return newSession(t, st, "s-exp", u.ID).TokenHash }, t0.Add(24 * time.Hour)},
			{"revoked session", func() []byte {
				rt := newSession(t, st, "s-rev", u.ID)
				ok(t, st.RevokeSession(ctx, "s-rev", t0))
				return rt.TokenHash
			}, t0.Add(time.Minute)},
			{"expired session", func() []byte {
				rt := store.RefreshToken{TokenHash: hash("long"), SessionID: "s-short", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(48 * time.Hour)}
				ok(t, st.CreateSession(ctx, store.Session{ID: "s-short", UserID: u.ID, AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, &rt))
				return rt.TokenHash
			}, t0.Add(2 * time.Hour)},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				old := tc.setup()
				_, err := st.RotateRefreshToken(ctx, "app", old, next(fmt.Sprint("next-", i), tc.at), tc.at)
				is(t, err, store.ErrNotFound)
				// A refused rotation stored nothing: the would-be token is unknown.
				_, err = st.RotateRefreshToken(ctx, "app", hash(fmt.Sprint("next-", i)), next(fmt.Sprint("x-", i), tc.at), tc.at)
				is(t, err, store.ErrNotFound)
			})
		}
	}},
	{"ConcurrentRotateOneWins", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "ann", "")
		now := t0.Add(time.Minute)
		// A crowd, then pairs: with two racers the loser often reads the
		// token before the winner commits, which is the case to get right.
		for round, n := range []int{racers, 2, 2, 2, 2, 2, 2, 2, 2} {
			sid := fmt.Sprint("s-", round)
			rt := newSession(t, st, sid, u.ID)
			errs := race(n, func(i int) error {
				_, err := st.RotateRefreshToken(ctx, "app", rt.TokenHash, next(fmt.Sprint(sid, "-", i), now), now)
				return err
			})
			if w := winners(t, errs, store.ErrNotFound); w != 1 {
				t.Fatalf("round %d: %d of %d concurrent rotations of one token succeeded, want exactly 1", round, w, n)
			}
			// The losers presented a token that had been rotated: that is
			// reuse, however the database ordered them, and it ends the session.
			if at := revokedAt(t, st, sid); at.IsZero() {
				t.Fatalf("round %d: concurrent reuse of a refresh token left the session live", round)
			}
		}
	}},
}
