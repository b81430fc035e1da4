package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// failLimit is the wrong passwords an account may see an hour (ASVS 2.2.1).
const failLimit = 100

// signInAs signs in with a passwordPayload of one identifier.
func signInAs(env *khtest.Env, field, value, password string) khtest.Reply {
	return env.Post("/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{field: value, "password": password}})
}

// failSignIns makes n wrong sign-ins by email, eight at a time.
func failSignIns(t *testing.T, env *khtest.Env, email string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if r := signInAs(env, "email", email, "not the password"); r.StatusCode != 401 {
				t.Errorf("wrong password: %s", r.Raw)
			}
		}()
	}
	wg.Wait()
}

func TestPasswordFailuresCountPerAccount(t *testing.T) {
	// A fixed clock: the count is per hour, and a test that crossed the
	// hour would start a fresh one.
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(khtest.NewClock()))
	u := signUpIn(t, env, "limit@example.com")
	u.post("/api/v3/update-profile", map[string]any{"username": "limituser"}).MustOK(t)

	failSignIns(t, env, "limit@example.com", failLimit-1)
	// A right password gives its try back: the count is of failures.
	for range 3 {
		signInAs(env, "username", "limituser", oldPW).MustOK(t)
	}
	// So does a right password to the other checks that count.
	for range 2 {
		u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
			"passwordPayload": map[string]any{"password": oldPW}}).MustOK(t)
	}
	signInAs(env, "email", "limit@example.com", oldPW).MustOK(t)
	if r := signInAs(env, "username", "limituser", "not the password"); r.StatusCode != 401 {
		t.Fatalf("wrong password by username: %s", r.Raw)
	}
	// The limit is reached for the account, whichever name signs in, and
	// it answers as a wrong password does.
	for _, field := range []string{"email", "username"} {
		value := map[string]string{"email": "limit@example.com", "username": "limituser"}[field]
		if r := signInAs(env, field, value, oldPW); r.StatusCode != 401 || r.APICode != 40101 {
			t.Fatalf("right password by %s after %d failures: %s", field, failLimit, r.Raw)
		}
	}
	// Other checks of the password count with it: a stolen access token is
	// no way around the limit.
	if r := u.post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
		"passwordPayload": map[string]any{"password": oldPW}}); r.StatusCode == 200 {
		t.Fatalf("verify-delete with the password past the limit: %s", r.Raw)
	}
	if r := u.post("/api/v3/update-password", map[string]any{"newPassword": newPW, "oldPassword": oldPW}); r.StatusCode == 200 {
		t.Fatalf("update-password past the limit: %s", r.Raw)
	}
	// A reset proves the mailbox: failures someone else caused end with it.
	tok := env.ResetToken("limit@example.com")
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": tok}).MustOK(t)
	signInAs(env, "email", "limit@example.com", newPW).MustOK(t)
	signInAs(env, "username", "limituser", newPW).MustOK(t)
}

func TestParallelGuessesAreCountedBeforeTheHash(t *testing.T) {
	// With one try left, a burst of guesses with the right password among
	// them, queued for one hasher: each try is counted before its hash, so
	// the right password wins only if it is the first to be counted.
	// Counted after the hash, every guess of the burst read a count under
	// the limit, and the right one almost always won.
	const limit, rounds, guesses = 2, 20, 24
	clock := khtest.NewClock()
	env := khtest.Start(t, khtest.WithClock(clock), khtest.WithConfig(func(c *config.Config) {
		c.PasswordFailures = limit
		c.PasswordHash = "argon2id:m=8192,t=1,p=1" // slow enough for the burst to queue
		c.HashConcurrency = 1
	}))
	env.SignUp("burst@example.com", oldPW)
	wins := 0
	for range rounds {
		clock.Advance(time.Hour) // a fresh count
		failSignIns(t, env, "burst@example.com", limit-1)
		right := rand.IntN(guesses)
		replies := make([]khtest.Reply, guesses)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range guesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw := "wrong guess"
				if i == right {
					pw = oldPW
				}
				<-start
				replies[i] = signInAs(env, "email", "burst@example.com", pw)
			}()
		}
		close(start)
		wg.Wait()
		for i, r := range replies {
			if r.StatusCode != 401 && !(i == right && r.StatusCode == 200) {
				t.Fatalf("guess %d: %s", i, r.Raw)
			}
		}
		if replies[right].StatusCode == 200 {
			wins++
		}
	}
	t.Logf("the right password won the last try in %d of %d rounds", wins, rounds)
	if wins > rounds/2-2 {
		t.Fatalf("the right password won the last try in %d of %d bursts of %d: tries were counted after the hash", wins, rounds, guesses)
	}
}

func TestBadScopeSpendsNoCode(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash)
	env.SignUp("scoped@example.com", oldPW)
	code := sendEmail(t, env, "scoped@example.com", "CHANNEL_LOGIN")
	body := func(scope string) map[string]any {
		b := map[string]any{"connection": "PASSCODE",
			"passCodePayload": map[string]any{"email": "scoped@example.com", "passCode": code}}
		if scope != "" {
			b["options"] = map[string]any{"scope": scope}
		}
		return b
	}
	if r := env.Post("/api/v3/signin", body("profile")); r.StatusCode != 400 {
		t.Fatalf("scope without openid: %s", r.Raw)
	}
	env.Post("/api/v3/signin", body("openid profile")).MustOK(t)
}

// A try whose password was never checked (the client gave up while it
// queued for a busy hasher) is given back: an owner whose sign-ins time out
// under load is not counted towards the lockout.
func TestAbandonedSignInsAreNotCounted(t *testing.T) {
	const limit = 2
	env := khtest.Start(t, khtest.WithClock(khtest.NewClock()), khtest.WithConfig(func(c *config.Config) {
		c.PasswordFailures = limit
		c.PasswordHash = "argon2id:m=16384,t=2,p=1" // slow enough to queue behind
		c.HashConcurrency = 1
	}))
	env.SignUp("owner@example.com", oldPW)
	env.SignUp("busy@example.com", oldPW)
	body, err := json.Marshal(map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": "owner@example.com", "password": oldPW}})
	if err != nil {
		t.Fatal(err)
	}
	// abandon sends the owner's right password and gives up after 30 ms;
	// it reports whether the request was abandoned rather than answered.
	abandon := func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v3/signin", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-authing-app-id", env.AppID)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close() // answered: a right password gives its try back anyway
		}
		return err != nil
	}
	abandoned := 0
	for range 20 {
		// Keep the one hasher busy with another account's sign-ins.
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				signInAs(env, "email", "busy@example.com", "not the password")
			}()
		}
		time.Sleep(10 * time.Millisecond)
		if abandon() {
			abandoned++
		}
		wg.Wait()
		if abandoned == 2*limit {
			break
		}
	}
	if abandoned < 2*limit {
		t.Fatalf("only %d sign-ins of 20 queued long enough to be abandoned", abandoned)
	}
	// 2×limit abandoned tries: had they counted, the owner would be out.
	signInAs(env, "email", "owner@example.com", oldPW).MustOK(t)
}

// The failure limit is over the last hour, not the clock hour: 100 wrong
// passwords at 10:59:30 leave none to try at 11:00:01, and the right
// password then still answers as a wrong one. A share of the old failures
// comes back as the hour slides on.
func TestPasswordFailuresSlideAcrossTheHour(t *testing.T) {
	clock := khtest.NewClock()
	now := clock.Now()
	clock.Advance(now.Truncate(time.Hour).Add(time.Hour - 30*time.Second).Sub(now))
	env := khtest.Start(t, khtest.FastHash, khtest.WithClock(clock))
	env.SignUp("slide@example.com", oldPW)
	failSignIns(t, env, "slide@example.com", failLimit)
	clock.Advance(31 * time.Second) // the next clock hour
	if r := env.SignIn("slide@example.com", oldPW); r.StatusCode != 401 {
		t.Fatalf("the right password 31 s after %d failures, in the next clock hour: %s", failLimit, r.Raw)
	}
	clock.Advance(30 * time.Minute) // half the old failures still count
	env.SignIn("slide@example.com", oldPW).MustOK(t)
}
