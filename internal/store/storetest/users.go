package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

func fullUser() store.User {
	return store.User{ID: "u-1", Email: "Ann@Example.com", EmailKey: "ann@example.com", EmailVerified: true,
		Phone: "+8613800138000", PhoneVerified: true, Username: "Ann", UsernameKey: "ann",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Profile: []byte(`{"nickname":"A","given_name":"Ann"}`),
		Status: "Activated", LoginsCount: 3, LastLogin: t0.Add(-time.Hour), LastIP: "192.0.2.1",
		PasswordLastSetAt: t0.Add(-2 * time.Hour), CreatedAt: t0.Add(-3 * time.Hour), UpdatedAt: t0}
}

var userTests = []test{
	{"CreateAndGetByEveryKey", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		for _, g := range []struct {
			name string
			get  func() (store.User, error)
		}{
			{"id", func() (store.User, error) { return st.GetUserByID(ctx, u.ID) }},
			{"email", func() (store.User, error) { return st.GetUserByEmail(ctx, u.EmailKey) }},
			{"phone", func() (store.User, error) { return st.GetUserByPhone(ctx, u.Phone) }},
			{"username", func() (store.User, error) { return st.GetUserByUsername(ctx, u.UsernameKey) }},
		} {
			got, err := g.get()
			ok(t, err)
			same(t, "user by "+g.name, got, u)
		}
	}},
	{"OptionalFieldsAreAbsentNotEmpty", func(t *testing.T, st store.Store) {
		// Two users without phone or username do not collide, and looking up
		// an empty phone or username finds nobody.
		a := store.User{ID: "a", Email: "a@x.test", EmailKey: "a@x.test", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
		b := store.User{ID: "b", Email: "b@x.test", EmailKey: "b@x.test", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
		c := store.User{ID: "c", Phone: "+15555550100", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
		d := store.User{ID: "d", Phone: "+15555550101", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
		for _, u := range []store.User{a, b, c, d} {
			ok(t, st.CreateUser(ctx, u))
		}
		got, err := st.GetUserByID(ctx, "c")
		ok(t, err)
		if got.Email != "" || got.EmailKey != "" || got.Username != "" || string(got.Profile) != "{}" {
			t.Fatalf("absent fields read back as %+v", got)
		}
		_, err = st.GetUserByPhone(ctx, "")
		is(t, err, store.ErrNotFound)
		_, err = st.GetUserByUsername(ctx, "")
		is(t, err, store.ErrNotFound)
		_, err = st.GetUserByEmail(ctx, "")
		is(t, err, store.ErrNotFound)
	}},
	{"CreateConflicts", func(t *testing.T, st store.Store) {
		ok(t, st.CreateUser(ctx, fullUser()))
		for _, tc := range []struct {
			name   string
			change func(*store.User)
		}{
			{"id", func(u *store.User) { u.EmailKey, u.Phone, u.UsernameKey = "other@x.test", "+15555550199", "other" }},
			{"email", func(u *store.User) { u.ID, u.Phone, u.UsernameKey = "u-2", "+15555550199", "other" }},
			{"phone", func(u *store.User) { u.ID, u.EmailKey, u.UsernameKey = "u-2", "other@x.test", "other" }},
			{"username", func(u *store.User) { u.ID, u.EmailKey, u.Phone = "u-2", "other@x.test", "+15555550199" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := fullUser()
				tc.change(&u)
				is(t, st.CreateUser(ctx, u), store.ErrConflict)
			})
		}
		_, err := st.GetUserByEmail(ctx, "other@x.test")
		is(t, err, store.ErrNotFound) // nothing half-written
	}},
	{"ConcurrentGets", func(t *testing.T, st store.Store) {
		// Reads arriving together may be merged into one statement: each
		// must get its own user by its own key, and an unknown key
		// ErrNotFound, even beside a read for a key that exists.
		const users = 8
		for i := range users {
			u := fullUser()
			u.ID, u.EmailKey, u.Phone, u.UsernameKey = fmt.Sprintf("u-%d", i), fmt.Sprintf("u%d@example.com", i),
				fmt.Sprintf("+861380013800%d", i), fmt.Sprintf("user%d", i)
			ok(t, st.CreateUser(ctx, u))
		}
		errs := race(64, func(i int) error {
			n := i % (users + 1) // n == users: unknown
			var got store.User
			var err error
			switch i % 4 {
			case 0:
				got, err = st.GetUserByID(ctx, fmt.Sprintf("u-%d", n))
			case 1:
				got, err = st.GetUserByEmail(ctx, fmt.Sprintf("u%d@example.com", n))
			case 2:
				got, err = st.GetUserByPhone(ctx, fmt.Sprintf("+861380013800%d", n))
			case 3:
				got, err = st.GetUserByUsername(ctx, fmt.Sprintf("user%d", n))
			}
			switch {
			case n == users && !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("read %d of an unknown key: %v, %v", i, got.ID, err)
			case n < users && err != nil:
				return fmt.Errorf("read %d: %w", i, err)
			case n < users && got.ID != fmt.Sprintf("u-%d", n):
				return fmt.Errorf("read %d: got %q, want u-%d", i, got.ID, n)
			}
			return nil
		})
		for _, err := range errs {
			ok(t, err)
		}
	}},
	{"GetUnknown", func(t *testing.T, st store.Store) {
		ok(t, st.CreateUser(ctx, fullUser()))
		for name, get := range map[string]func() (store.User, error){
			"id":       func() (store.User, error) { return st.GetUserByID(ctx, "nope") },
			"email":    func() (store.User, error) { return st.GetUserByEmail(ctx, "ANN@example.com") }, // keys are exact
			"phone":    func() (store.User, error) { return st.GetUserByPhone(ctx, "+8613800138001") },
			"username": func() (store.User, error) { return st.GetUserByUsername(ctx, "nope") },
			// PostgreSQL's text cannot hold a NUL: such a key is simply absent.
			"id with NUL":       func() (store.User, error) { return st.GetUserByID(ctx, "no\x00pe") },
			"email with NUL":    func() (store.User, error) { return st.GetUserByEmail(ctx, "ann\x00@example.com") },
			"phone with NUL":    func() (store.User, error) { return st.GetUserByPhone(ctx, "+86138\x00") },
			"username with NUL": func() (store.User, error) { return st.GetUserByUsername(ctx, "no\x00pe") },
			"email not UTF-8":   func() (store.User, error) { return st.GetUserByEmail(ctx, "ann\xff@example.com") },
		} {
			_, err := get()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get by %s: %v, want ErrNotFound", name, err)
			}
		}
	}},
	{"Update", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		v := u
		v.Email, v.EmailKey, v.EmailVerified = "new@x.test", "new@x.test", false
		v.Phone, v.PhoneVerified = "", false
		v.Username, v.UsernameKey = "Bea", "bea"
		v.PasswordHash, v.Profile, v.Status = "new-hash", []byte(`{"nickname":"B"}`), "Suspended"
		v.PasswordLastSetAt, v.UpdatedAt = t0.Add(time.Minute), t0.Add(time.Minute)
		// Fields UpdateUser does not own keep their stored values.
		v.LoginsCount, v.LastIP = 99, "ignored"
		ok(t, st.UpdateUser(ctx, v, store.FieldProfile|store.FieldEmail|store.FieldPhone|store.FieldPassword))
		got, err := st.GetUserByID(ctx, u.ID)
		ok(t, err)
		v.LoginsCount, v.LastIP, v.Status, v.CredVersion = u.LoginsCount, u.LastIP, u.Status, u.CredVersion+1
		same(t, "updated user", got, v)
		// The old email, phone and username are free again.
		_, err = st.GetUserByPhone(ctx, u.Phone)
		is(t, err, store.ErrNotFound)
		w := fullUser()
		w.ID = "u-2"
		ok(t, st.CreateUser(ctx, w))
	}},
	{"UpdateWritesOnlyItsFields", func(t *testing.T, st store.Store) {
		// Two flows read the same row; each writes back only its part, so
		// neither undoes the other (a profile update read before a reset
		// must not restore the old password).
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		stale := u
		fresh := u
		fresh.PasswordHash, fresh.PasswordLastSetAt, fresh.UpdatedAt = "reset-hash", t0.Add(time.Minute), t0.Add(time.Minute)
		fresh.Email, fresh.EmailKey = "changed@x.test", "changed@x.test"
		ok(t, st.UpdateUser(ctx, fresh, store.FieldPassword|store.FieldEmail))
		stale.Profile, stale.UpdatedAt = []byte(`{"nickname":"stale"}`), t0.Add(2*time.Minute)
		ok(t, st.UpdateUser(ctx, stale, store.FieldProfile))
		stale.Phone, stale.PhoneVerified = "", false
		// A change of credentials also needs the version it read: the
		// password changed since.
		is(t, st.ChangeCredentials(ctx, stale, store.Change{Fields: store.FieldPhone}), store.ErrStale)
		stale.CredVersion = 1
		ok(t, st.ChangeCredentials(ctx, stale, store.Change{Fields: store.FieldPhone}))
		got, err := st.GetUserByID(ctx, u.ID)
		ok(t, err)
		want := fresh
		want.Profile, want.Phone, want.PhoneVerified, want.UpdatedAt, want.CredVersion = stale.Profile, "", false, stale.UpdatedAt, 1
		same(t, "user after two stale writes of other fields", got, want)
	}},
	{"KeepsAWayToSignIn", func(t *testing.T, st store.Store) {
		// Two removals that each read an account with two sign-in names
		// cannot both land: the second would leave none.
		u := fullUser()
		u.Username, u.UsernameKey = "", ""
		ok(t, st.CreateUser(ctx, u))
		noEmail, noPhone := u, u
		noEmail.Email, noEmail.EmailKey, noEmail.EmailVerified = "", "", false
		noPhone.Phone, noPhone.PhoneVerified = "", false
		ok(t, st.ChangeCredentials(ctx, noEmail, store.Change{Fields: store.FieldEmail}))
		is(t, st.ChangeCredentials(ctx, noPhone, store.Change{Fields: store.FieldPhone}), store.ErrLastSignInName)
		is(t, st.UpdateUser(ctx, noPhone, store.FieldPhone), store.ErrLastSignInName)
		got, err := st.GetUserByID(ctx, u.ID)
		ok(t, err)
		if got.Phone != u.Phone {
			t.Errorf("phone %q after a refused removal, want %q", got.Phone, u.Phone)
		}
		// A username signs in only with a password: without one it keeps
		// nothing; with one, the phone may go.
		named := got
		named.Username, named.UsernameKey = "Ann", "ann"
		ok(t, st.UpdateUser(ctx, named, store.FieldProfile))
		noPassword := named
		noPassword.PasswordHash = ""
		ok(t, st.UpdateUser(ctx, noPassword, store.FieldPassword))
		named, err = st.GetUserByID(ctx, u.ID)
		ok(t, err)
		named.Phone, named.PhoneVerified = "", false
		is(t, st.UpdateUser(ctx, named, store.FieldPhone), store.ErrLastSignInName)
		named.PasswordHash = "a-hash"
		ok(t, st.UpdateUser(ctx, named, store.FieldPhone|store.FieldPassword))
		named, err = st.GetUserByID(ctx, u.ID)
		ok(t, err)
		named.PasswordHash = ""
		is(t, st.UpdateUser(ctx, named, store.FieldPassword), store.ErrLastSignInName)
		named.PasswordHash = "a-hash"
		named.Username, named.UsernameKey = "", ""
		is(t, st.UpdateUser(ctx, named, store.FieldProfile), store.ErrLastSignInName)
	}},
	{"UpdateErrors", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		other := store.User{ID: "u-2", Email: "b@x.test", EmailKey: "b@x.test", Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
		ok(t, st.CreateUser(ctx, other))
		other.EmailKey = u.EmailKey
		is(t, st.UpdateUser(ctx, other, store.FieldEmail), store.ErrConflict)
		other.EmailKey, other.Phone = "b@x.test", u.Phone
		is(t, st.UpdateUser(ctx, other, store.FieldPhone), store.ErrConflict)
		gone := fullUser()
		gone.ID, gone.EmailKey, gone.Phone, gone.UsernameKey = "gone", "gone@x.test", "", ""
		is(t, st.UpdateUser(ctx, gone, store.FieldProfile), store.ErrNotFound)
	}},
	{"RecordSignIn", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		ok(t, st.RecordSignIn(ctx, u.ID, t0.Add(time.Minute), "198.51.100.7", store.Rehash{}, nil))
		got, err := st.GetUserByID(ctx, u.ID)
		ok(t, err)
		if got.LoginsCount != u.LoginsCount+1 || !got.LastLogin.Equal(t0.Add(time.Minute)) || got.LastIP != "198.51.100.7" {
			t.Fatalf("after sign-in: count %d, last %v from %q", got.LoginsCount, got.LastLogin, got.LastIP)
		}
		if got.PasswordHash != u.PasswordHash {
			t.Fatalf("an empty newHash changed the hash to %q", got.PasswordHash)
		}
		ok(t, st.RecordSignIn(ctx, u.ID, t0.Add(2*time.Minute), "198.51.100.8", store.Rehash{From: u.PasswordHash, To: "rehashed"}, nil))
		got, err = st.GetUserByID(ctx, u.ID)
		ok(t, err)
		if got.LoginsCount != u.LoginsCount+2 || got.PasswordHash != "rehashed" {
			t.Fatalf("after rehash: count %d, hash %q", got.LoginsCount, got.PasswordHash)
		}
		// A rehash of a hash replaced meanwhile (a reset) leaves the new one.
		ok(t, st.RecordSignIn(ctx, u.ID, t0.Add(3*time.Minute), "198.51.100.8", store.Rehash{From: u.PasswordHash, To: "stale"}, nil))
		got, err = st.GetUserByID(ctx, u.ID)
		ok(t, err)
		if got.LoginsCount != u.LoginsCount+3 || got.PasswordHash != "rehashed" {
			t.Fatalf("after a stale rehash: count %d, hash %q", got.LoginsCount, got.PasswordHash)
		}
		is(t, st.RecordSignIn(ctx, "nope", t0, "", store.Rehash{}, nil), store.ErrNotFound)
	}},
	{"RecordSignInGivesTheTryBack", func(t *testing.T, st store.Store) {
		u := fullUser()
		ok(t, st.CreateUser(ctx, u))
		try := store.Counter{Key: store.PasswordFailures(u.ID), Window: t0, ExpiresAt: t0.Add(time.Hour)}
		for range 3 {
			_, err := st.Hit(ctx, try.Key, try.Window, try.ExpiresAt)
			ok(t, err)
		}
		other := try
		other.Window = t0.Add(time.Hour)
		_, err := st.Hit(ctx, other.Key, other.Window, other.ExpiresAt)
		ok(t, err)
		ok(t, st.RecordSignIn(ctx, u.ID, t0, "", store.Rehash{}, &try))
		// An unknown user gives nothing back.
		is(t, st.RecordSignIn(ctx, "nope", t0, "", store.Rehash{}, &try), store.ErrNotFound)
		for _, c := range []struct {
			win  time.Time
			want int
		}{{try.Window, 2}, {other.Window, 1}} {
			if n, err := st.Count(ctx, try.Key, c.win); err != nil || n != c.want {
				t.Fatalf("count in window %v = %d (%v), want %d", c.win, n, err, c.want)
			}
		}
		// Never below zero, and an absent counter stays absent.
		for range 3 {
			ok(t, st.RecordSignIn(ctx, u.ID, t0, "", store.Rehash{}, &try))
		}
		absent := store.Counter{Key: "signin-fail:none", Window: t0}
		ok(t, st.RecordSignIn(ctx, u.ID, t0, "", store.Rehash{}, &absent))
		for key, want := range map[string]int{try.Key: 0, absent.Key: 0} {
			if n, err := st.Count(ctx, key, t0); err != nil || n != want {
				t.Fatalf("count %s = %d (%v), want %d", key, n, err, want)
			}
		}
		if n, err := st.Hit(ctx, try.Key, try.Window, try.ExpiresAt); err != nil || n != 1 {
			t.Fatalf("a hit after the count reached zero: %d (%v), want 1", n, err)
		}
		got, err := st.GetUserByID(ctx, u.ID)
		ok(t, err)
		if got.LoginsCount != u.LoginsCount+5 {
			t.Fatalf("logins count %d, want %d", got.LoginsCount, u.LoginsCount+5)
		}
	}},
	{"Delete", func(t *testing.T, st store.Store) {
		u := newUser(t, st, "del", "+15555550123")
		keep := newUser(t, st, "keep", "")
		rt := newSession(t, st, "s-del", u.ID)
		newSession(t, st, "s-keep", keep.ID)
		ok(t, st.CreateResetToken(ctx, store.ResetToken{TokenHash: hash("reset"), UserID: u.ID, AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))

		// Asked by a session: only a live one of the user's version.
		ok(t, st.RevokeSession(ctx, "s-del", t0))
		is(t, st.DeleteUser(ctx, u.ID, "s-del", nil), store.ErrStale)
		is(t, st.DeleteUser(ctx, u.ID, "s-keep", nil), store.ErrStale) // another user's
		if _, err := st.GetUserByID(ctx, u.ID); err != nil {
			t.Fatalf("a refused delete deleted: %v", err)
		}
		newSession(t, st, "s-live", u.ID)
		notice := message(1)
		ok(t, st.DeleteUser(ctx, u.ID, "s-live", &notice))
		same(t, "the notice, claimed by the id DeleteUser set", ids(claimIDs(t, st, t0, notice.ID)), []int64{notice.ID})
		_, err := st.GetUserByID(ctx, u.ID)
		is(t, err, store.ErrNotFound)
		_, err = st.GetSession(ctx, "s-del")
		is(t, err, store.ErrNotFound)
		_, err = st.GetResetToken(ctx, hash("reset"), t0)
		is(t, err, store.ErrNotFound)
		_, err = st.RotateRefreshToken(ctx, "app", rt.TokenHash, store.RefreshToken{TokenHash: hash("next"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0)
		is(t, err, store.ErrNotFound)
		if _, err := st.GetSession(ctx, "s-keep"); err != nil {
			t.Fatalf("another user's session went too: %v", err)
		}
		// Email and phone are free for a new account.
		ok(t, st.CreateUser(ctx, store.User{ID: "new", Email: u.Email, EmailKey: u.EmailKey, Phone: u.Phone,
			Status: "Activated", CreatedAt: t0, UpdatedAt: t0}))
		before := outboxCount(t, st)
		gone := message(2)
		is(t, st.DeleteUser(ctx, u.ID, "", &gone), store.ErrNotFound)
		if n := outboxCount(t, st); n != before {
			t.Fatalf("%d messages in the outbox after a refused delete, want %d", n, before)
		}
	}},
}
