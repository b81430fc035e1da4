// Package storetest is the conformance suite every store.Store passes: each
// method, its error contract, and the races that matter when several
// replicas share one database (single-use claims, attempt counting,
// throttles, outbox leases, first-writer-wins bootstrap).
//
// A store package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// open must return an empty, migrated store for every call and close it
// when t ends; the suite calls it once per test, from parallel tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

// Run runs the suite; open gives each test a fresh store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Apps", appTests},
		{"Secrets", secretTests},
		{"Users", userTests},
		{"Codes", codeTests},
		{"Throttles", throttleTests},
		{"Resets", resetTests},
		{"Sessions", sessionTests},
		{"Outbox", outboxTests},
		{"Store", storeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					// Each test has its own store, so they may overlap;
					// setting up a database is mostly waiting.
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, st store.Store)
}

// t0 is the suite's "now": a fixed instant with millisecond precision, as
// the stores keep it.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

// racers is how many goroutines race for a single-use thing.
const racers = 12

// race runs fn(i) for i in [0, n) at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts nil errors and fails t on any error that is not allowed.
func winners(t *testing.T, errs []error, allowed error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, allowed):
			t.Errorf("racer %d: got %v, want nil or %v", i, err, allowed)
		}
	}
	return n
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// is fails t unless errors.Is(err, want).
func is(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// hash stands in for the HMACs and hashes the services store.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

var ctx = context.Background()

// newUser creates a user with an email address (and phone when given).
func newUser(t *testing.T, st store.Store, id, phone string) store.User {
	t.Helper()
	u := store.User{ID: id, Email: id + "@Example.com", EmailKey: id + "@example.com", Phone: phone,
		PasswordHash: "hash-" + id, Status: "Activated", CreatedAt: t0, UpdatedAt: t0}
	ok(t, st.CreateUser(ctx, u))
	got, err := st.GetUserByID(ctx, id)
	ok(t, err)
	return got
}

// newSession creates a live session for userID with one refresh token.
func newSession(t *testing.T, st store.Store, id, userID string) store.RefreshToken {
	t.Helper()
	u, err := st.GetUserByID(ctx, userID)
	ok(t, err)
	rt := store.RefreshToken{TokenHash: hash("rt-" + id), SessionID: id, UserID: userID, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	ok(t, st.CreateSession(ctx, store.Session{ID: id, UserID: userID, AppID: "app", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
		CredVersion: u.CredVersion}, &rt))
	return rt
}

func message(n int) store.OutboxMessage {
	return store.OutboxMessage{Kind: "email", Payload: []byte(fmt.Sprintf(`{"n":%d}`, n)),
		CreatedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Hour)}
}

// outboxCount is the number of waiting messages.
func outboxCount(t *testing.T, st store.Store) int {
	t.Helper()
	n, _, err := st.OutboxStats(ctx)
	ok(t, err)
	return n
}
