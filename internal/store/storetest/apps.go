package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

var appTests = []test{
	{"PutGetUpdate", func(t *testing.T, st store.Store) {
		a := store.App{ID: "app-1", Name: "first", SecretHash: hash("s1"), CreatedAt: t0}
		ok(t, st.PutApp(ctx, a))
		got, err := st.GetApp(ctx, a.ID)
		ok(t, err)
		same(t, "app", got, a)

		// PutApp is idempotent and updates name and secret, not the creation time.
		b := store.App{ID: a.ID, Name: "renamed", SecretHash: hash("s2"), CreatedAt: t0.Add(time.Hour)}
		ok(t, st.PutApp(ctx, b))
		ok(t, st.PutApp(ctx, b))
		got, err = st.GetApp(ctx, a.ID)
		ok(t, err)
		same(t, "updated app", got, store.App{ID: a.ID, Name: "renamed", SecretHash: hash("s2"), CreatedAt: t0})
	}},
	{"Public", func(t *testing.T, st store.Store) {
		a := store.App{ID: "app-pub", Name: "spa", SecretHash: hash("s1"), Public: true, CreatedAt: t0}
		ok(t, st.PutApp(ctx, a))
		got, err := st.GetApp(ctx, a.ID)
		ok(t, err)
		same(t, "public app", got, a)

		// PutApp on an existing app (KEYHAVEN_APP_ID at every start) keeps
		// the setting; only SetAppPublic changes it.
		ok(t, st.PutApp(ctx, store.App{ID: a.ID, Name: "spa", SecretHash: hash("s2"), CreatedAt: t0}))
		got, err = st.GetApp(ctx, a.ID)
		ok(t, err)
		if !got.Public || !bytes.Equal(got.SecretHash, hash("s2")) {
			t.Fatalf("after PutApp: %+v, want still public with the new secret", got)
		}
		ok(t, st.SetAppPublic(ctx, a.ID, false))
		got, err = st.GetApp(ctx, a.ID)
		ok(t, err)
		if got.Public {
			t.Fatal("SetAppPublic(false) left the app public")
		}
		ok(t, st.SetAppPublic(ctx, a.ID, true))
		got, err = st.GetApp(ctx, a.ID)
		ok(t, err)
		if !got.Public {
			t.Fatal("SetAppPublic(true) left the app confidential")
		}
		is(t, st.SetAppPublic(ctx, "nope", true), store.ErrNotFound)
	}},
	{"LogoutRedirects", func(t *testing.T, st store.Store) {
		a := store.App{ID: "app-spa", Name: "spa", SecretHash: hash("s1"), CreatedAt: t0}
		ok(t, st.PutApp(ctx, a))
		uris := []string{"https://app.example.com/signed-out", "http://localhost:3000/"}
		ok(t, st.SetAppLogoutRedirects(ctx, a.ID, uris))
		// PutApp (KEYHAVEN_APP_ID at every start) keeps them.
		ok(t, st.PutApp(ctx, store.App{ID: a.ID, Name: "spa", SecretHash: hash("s2"), CreatedAt: t0}))
		got, err := st.GetApp(ctx, a.ID)
		ok(t, err)
		same(t, "logout redirects", got.LogoutRedirectURIs, uris)
		ok(t, st.SetAppLogoutRedirects(ctx, a.ID, nil))
		got, err = st.GetApp(ctx, a.ID)
		ok(t, err)
		if len(got.LogoutRedirectURIs) != 0 {
			t.Fatalf("after clearing: %q", got.LogoutRedirectURIs)
		}
		is(t, st.SetAppLogoutRedirects(ctx, "nope", uris), store.ErrNotFound)
	}},
	{"GetUnknown", func(t *testing.T, st store.Store) {
		// PostgreSQL's text holds neither a NUL nor invalid UTF-8: such
		// ids are simply absent.
		for _, id := range []string{"nope", "no\x00pe", "no\xffpe"} {
			_, err := st.GetApp(ctx, id)
			is(t, err, store.ErrNotFound)
		}
	}},
	{"BootstrapKeepsExistingApps", func(t *testing.T, st store.Store) {
		// Apps made before the first start (app create, KEYHAVEN_APP_ID):
		// no other is created, and the oldest is the first.
		older := store.App{ID: "made-1", Name: "Shop", SecretHash: hash("s1"), CreatedAt: t0}
		ok(t, st.PutApp(ctx, older))
		ok(t, st.PutApp(ctx, store.App{ID: "made-2", Name: "Blog", SecretHash: hash("s2"), CreatedAt: t0.Add(time.Minute)}))
		got, created, err := st.BootstrapApp(ctx, store.App{ID: "boot-1", Name: "default", SecretHash: hash("b1"), CreatedAt: t0})
		ok(t, err)
		if created || got.ID != older.ID {
			t.Fatalf("BootstrapApp with apps present: %s, created %v", got.ID, created)
		}
		_, err = st.GetApp(ctx, "boot-1")
		is(t, err, store.ErrNotFound)
	}},
	{"BootstrapOnce", func(t *testing.T, st store.Store) {
		first := store.App{ID: "boot-1", Name: "default", SecretHash: hash("b1"), CreatedAt: t0}
		got, created, err := st.BootstrapApp(ctx, first)
		ok(t, err)
		if !created {
			t.Fatal("first BootstrapApp: created = false")
		}
		same(t, "bootstrap app", got, first)

		second := store.App{ID: "boot-2", Name: "default", SecretHash: hash("b2"), CreatedAt: t0.Add(time.Minute)}
		got, created, err = st.BootstrapApp(ctx, second)
		ok(t, err)
		if created {
			t.Fatal("second BootstrapApp: created = true")
		}
		same(t, "second BootstrapApp returns the first app", got, first)
		_, err = st.GetApp(ctx, second.ID)
		is(t, err, store.ErrNotFound)
	}},
	{"BootstrapConcurrent", func(t *testing.T, st store.Store) {
		apps := make([]store.App, racers)
		created := make([]bool, racers)
		errs := race(racers, func(i int) error {
			var err error
			apps[i], created[i], err = st.BootstrapApp(ctx, store.App{ID: fmt.Sprintf("boot-%d", i), Name: "default",
				SecretHash: hash(fmt.Sprint(i)), CreatedAt: t0})
			return err
		})
		n := 0
		for i := range racers {
			ok(t, errs[i])
			if created[i] {
				n++
			}
			if apps[i].ID != apps[0].ID || !bytes.Equal(apps[i].SecretHash, apps[0].SecretHash) {
				t.Errorf("racer %d got app %s, racer 0 got %s", i, apps[i].ID, apps[0].ID)
			}
		}
		if n != 1 {
			t.Fatalf("%d racers created the bootstrap app, want exactly 1", n)
		}
		for i := range racers {
			_, err := st.GetApp(ctx, fmt.Sprintf("boot-%d", i))
			if (err == nil) != (fmt.Sprintf("boot-%d", i) == apps[0].ID) {
				t.Errorf("GetApp(boot-%d) = %v; only %s should exist", i, err, apps[0].ID)
			}
		}
	}},
}

var secretTests = []test{
	{"FirstWriterWins", func(t *testing.T, st store.Store) {
		v1 := []byte{0, 1, 2, 0xff, 0, 'k'} // binary, with NUL bytes
		got, err := st.EnsureSecret(ctx, "key", v1)
		ok(t, err)
		same(t, "first EnsureSecret", got, v1)
		got, err = st.EnsureSecret(ctx, "key", []byte("other"))
		ok(t, err)
		same(t, "second EnsureSecret", got, v1)
		if got, err = st.Secret(ctx, "key"); err != nil || string(got) != string(v1) {
			t.Fatalf("Secret: %q %v", got, err)
		}
		if _, err = st.Secret(ctx, "absent"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Secret of an absent name: %v, want ErrNotFound", err)
		}
		got, err = st.EnsureSecret(ctx, "another", []byte("other"))
		ok(t, err)
		same(t, "a second name", got, []byte("other"))
	}},
	{"Concurrent", func(t *testing.T, st store.Store) {
		vals := make([][]byte, racers)
		errs := race(racers, func(i int) error {
			var err error
			vals[i], err = st.EnsureSecret(ctx, "pepper", []byte(fmt.Sprintf("value-%d", i)))
			return err
		})
		for i := range racers {
			ok(t, errs[i])
			if !bytes.Equal(vals[i], vals[0]) {
				t.Errorf("racer %d got %q, racer 0 got %q", i, vals[i], vals[0])
			}
		}
		stored, err := st.EnsureSecret(ctx, "pepper", []byte("late"))
		ok(t, err)
		same(t, "stored value", stored, vals[0])
	}},
}
