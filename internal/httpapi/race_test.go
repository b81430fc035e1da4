package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// post is env.Post for other goroutines: no t.Fatal; the envelope's
// statusCode and data, or -1.
func post(env *khtest.Env, path, access string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", env.URL+path, bytes.NewReader(b))
	if err != nil {
		return -1, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-authing-app-id", env.AppID)
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	resp, err := env.Client().Do(req)
	if err != nil {
		return -1, nil
	}
	defer resp.Body.Close()
	var out struct {
		StatusCode int            `json:"statusCode"`
		Data       map[string]any `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return -1, nil
	}
	return out.StatusCode, out.Data
}

// during runs f in three goroutines, over and over, while reset runs.
func during(reset func(), f func()) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					f()
				}
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	reset()
	close(stop)
	wg.Wait()
}

func unthrottledCodes(c *config.Config) { c.CodeInterval, c.CodeHourlyCap = 0, 1000 }

// Someone who knows the old password and holds a session keeps updating
// the profile while the owner resets: an update that read the row before
// the reset and wrote after it must not write the old hash back.
func TestProfileUpdateDuringAResetKeepsTheNewPassword(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	const email = "lost-update@example.com"
	env.SignUp(email, oldPW)
	cur := oldPW
	for round := range 10 {
		attacker := env.SignIn(email, cur).MustOK(t).Str("access_token")
		tok := env.ResetToken(email)
		next := fmt.Sprintf("fresh meadow lantern %d", round)
		during(func() {
			env.Post("/api/v3/reset-password", map[string]any{"password": next, "passwordResetToken": tok}).MustOK(t)
		}, func() {
			post(env, "/api/v3/update-profile", attacker, map[string]any{"nickname": "x"})
		})
		if r := env.SignIn(email, cur); r.StatusCode == 200 {
			t.Fatalf("round %d: the old password signs in after the reset", round)
		}
		env.SignIn(email, next).MustOK(t)
		cur = next
	}
}

// Someone who knows the old password keeps signing in while the owner
// resets: a sign-in that checked the old password before the reset and
// opened its session after it must not keep that session.
func TestSignInDuringAResetDoesNotOutliveIt(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	const email = "in-flight@example.com"
	env.SignUp(email, oldPW)
	cur := oldPW
	opened := 0
	for round := range 10 {
		tok := env.ResetToken(email)
		next := fmt.Sprintf("quiet harbor signal %d", round)
		var mu sync.Mutex
		var got []string
		during(func() {
			env.Post("/api/v3/reset-password", map[string]any{"password": next, "passwordResetToken": tok}).MustOK(t)
		}, func() {
			code, d := post(env, "/api/v3/signin", "", map[string]any{"connection": "PASSWORD",
				"passwordPayload": map[string]any{"email": email, "password": cur}})
			if a, _ := d["access_token"].(string); code == 200 && a != "" {
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
			}
		})
		opened += len(got)
		for _, a := range got {
			if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", a); r.StatusCode != 401 {
				t.Fatalf("round %d: a session opened with the old password answers %d after the reset", round, r.StatusCode)
			}
		}
		cur = next
	}
	if opened == 0 {
		t.Fatal("no sign-in with the old password succeeded: the test raced nothing")
	}
}

// Someone registers another person's address with a password of their own
// (the pre-account hijack). When the owner first signs in by a code to it,
// that password and its sessions end; a reset by email ends them anyway
// and proves the address, so a later code sign-in keeps the new password.
func TestFirstProofOfAnEmailEndsWhatWasSetBeforeIt(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	const squatterPW = "squatter chosen secret 7"
	codeSignIn := func(email string) string {
		code := sendEmail(t, env, email, "CHANNEL_LOGIN")
		return env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
			"passCodePayload": map[string]any{"email": email, "passCode": code}}).MustOK(t).Str("access_token")
	}
	verified := func(access string) any {
		return env.Do("GET", "/api/v3/get-profile", nil, "Authorization", access).MustOK(t).Data["emailVerified"]
	}
	for _, via := range []string{"code sign-in", "reset"} {
		t.Run(via, func(t *testing.T) {
			victim := "owner-" + strings.ReplaceAll(via, " ", "-") + "@example.com"
			env.SignUp(victim, squatterPW)
			squatter := env.SignIn(victim, squatterPW).MustOK(t).Str("access_token")
			if v := verified(squatter); v != false {
				t.Fatalf("a password sign-up's email is verified: %v", v)
			}
			ownerPW := "owner chosen secret 8"
			if via == "code sign-in" {
				owner := codeSignIn(victim)
				if !strings.Contains(env.Mail.WaitFor(t, victim, 10*time.Second).Text, "was removed") {
					t.Errorf("the owner was not told the old password was removed")
				}
				if v := verified(owner); v != true {
					t.Errorf("after a code sign-in the email is not verified: %v", v)
				}
				// The account has no password now: the owner sets one.
				env.Post("/api/v3/update-password", map[string]any{"newPassword": ownerPW}, "Authorization", owner).MustOK(t)
			} else {
				env.Post("/api/v3/reset-password", map[string]any{"password": ownerPW, "passwordResetToken": env.ResetToken(victim)}).MustOK(t)
			}
			if r := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", squatter); r.StatusCode != 401 {
				t.Errorf("the squatter's session answers %d after the owner proved the address", r.StatusCode)
			}
			if r := env.SignIn(victim, squatterPW); r.StatusCode == 200 {
				t.Errorf("the password set before the address was proven still signs in")
			}
			// The address is proven now: another code sign-in changes nothing.
			if v := verified(codeSignIn(victim)); v != true {
				t.Errorf("emailVerified %v after the %s", v, via)
			}
			env.SignIn(victim, ownerPW).MustOK(t)
		})
	}
}

// A squatter keeps changing the password (update-password, with the one
// they set) while the owner first proves the email: a change that read the
// account before the proof must not put a password back after it.
func TestPasswordChangesRacingTheFirstProof(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	pws := [2]string{"squatter chosen secret 7", "squatter second secret 9"}
	for round := range 8 {
		victim := fmt.Sprintf("owner-race-%d@example.com", round)
		env.SignUp(victim, pws[0])
		access := env.SignIn(victim, pws[0]).MustOK(t).Str("access_token")
		var cur atomic.Int32 // which of pws is the password now
		during(func() {
			code := sendEmail(t, env, victim, "CHANNEL_LOGIN")
			env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
				"passCodePayload": map[string]any{"email": victim, "passCode": code}}).MustOK(t)
		}, func() {
			from := cur.Load()
			if code, _ := post(env, "/api/v3/update-password", access, map[string]any{"oldPassword": pws[from], "newPassword": pws[1-from]}); code == 200 {
				cur.CompareAndSwap(from, 1-from)
			}
		})
		for _, pw := range pws {
			if r := env.SignIn(victim, pw); r.StatusCode == 200 {
				t.Fatalf("round %d: the squatter's password signs in after the owner's first code sign-in", round)
			}
		}
	}
}

// A phone bound before the email was proven goes with the proof, by code
// sign-in or by reset: its SMS codes would sign in too.
func TestFirstProofEndsAPhoneBoundBeforeIt(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	for i, via := range []string{"code sign-in", "reset"} {
		victim := fmt.Sprintf("owner-phone-%d@example.com", i)
		phone := fmt.Sprintf("1370013700%d", i)
		complete := sendSMS(t, env, phone, "CHANNEL_COMPLETE_PHONE")
		env.Post("/api/v3/signup", map[string]any{"connection": "PASSWORD",
			"passwordPayload": map[string]any{"email": victim, "password": "squatter chosen secret 7"},
			"profile":         map[string]any{"phone": phone},
			"options":         map[string]any{"phonePassCodeForInformationCompletion": complete}}).MustOK(t)
		if via == "code sign-in" {
			code := sendEmail(t, env, victim, "CHANNEL_LOGIN")
			env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
				"passCodePayload": map[string]any{"email": victim, "passCode": code}}).MustOK(t)
		} else {
			env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": env.ResetToken(victim)}).MustOK(t)
		}
		// CHANNEL_LOGIN codes go only to a number an account holds.
		env.Post("/api/v3/send-sms", map[string]any{"phoneNumber": phone, "channel": "CHANNEL_LOGIN"}).MustOK(t)
		if m, err := env.SMS.Next(t.Context(), phone, 2*time.Second); err == nil {
			r := env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
				"passCodePayload": map[string]any{"phone": phone, "passCode": m.Code}})
			t.Fatalf("%s: a sign-in code went to the phone bound before the proof; it signs in: %v", via, r.StatusCode == 200)
		}
	}
}

// A squatter binds their phone over and over while the owner first proves
// the email: a bind that read the account before the proof, or whose
// session the proof ended, must not leave a phone on the proven account.
func TestPhoneBindsRacingTheFirstProof(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	for round := range 5 {
		victim := fmt.Sprintf("owner-bind-%d@example.com", round)
		phone := fmt.Sprintf("1370013800%d", round)
		env.SignUp(victim, oldPW)
		access := env.SignIn(victim, oldPW).MustOK(t).Str("access_token")
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				post(env, "/api/v3/send-sms", "", map[string]any{"phoneNumber": phone, "channel": "CHANNEL_BIND_PHONE"})
				m, err := env.SMS.Next(t.Context(), phone, 2*time.Second)
				if err != nil {
					return
				}
				if code, _ := post(env, "/api/v3/bind-phone", access, map[string]any{"phoneNumber": phone, "passCode": m.Code}); code == 401 {
					return
				}
				// Bound: unbind it again, so the next bind races too.
				post(env, "/api/v3/send-sms", "", map[string]any{"phoneNumber": phone, "channel": "CHANNEL_UNBIND_PHONE"})
				if m, err := env.SMS.Next(t.Context(), phone, 2*time.Second); err == nil {
					post(env, "/api/v3/unbind-phone", access, map[string]any{"passCode": m.Code})
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
		code := sendEmail(t, env, victim, "CHANNEL_LOGIN")
		owner := env.Post("/api/v3/signin", map[string]any{"connection": "PASSCODE",
			"passCodePayload": map[string]any{"email": victim, "passCode": code}}).MustOK(t).Str("access_token")
		time.Sleep(30 * time.Millisecond)
		close(stop)
		<-done
		if p := env.Do("GET", "/api/v3/get-profile", nil, "Authorization", owner).MustOK(t); p.Str("phone") != "" {
			t.Fatalf("round %d: the squatter's phone %s is bound to the proven account", round, p.Str("phone"))
		}
	}
}

// A delete authorised before the owner's reset (a deleteAccountToken, and a
// request whose session check ran before the reset) must not remove the
// account after it.
func TestDeleteAuthorisedBeforeAResetIsRefused(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	ctx := t.Context()
	const victim = "del-inflight@example.com"
	env.SignUp(victim, oldPW)
	access := env.SignIn(victim, oldPW).MustOK(t).Str("access_token")
	tok := env.Post("/api/v3/verify-delete-account-request", map[string]any{"verifyMethod": "PASSWORD",
		"passwordPayload": map[string]any{"password": oldPW}}, "Authorization", access).MustOK(t).Str("deleteAccountToken")
	p, err := env.Server.Sessions.Authenticate(ctx, "Bearer "+access) // the handler's check, before the reset
	if err != nil {
		t.Fatal(err)
	}
	env.Post("/api/v3/reset-password", map[string]any{"password": newPW, "passwordResetToken": env.ResetToken(victim)}).MustOK(t)
	if err := env.Server.Accounts.DeleteAccount(ctx, p, tok, "en"); err == nil {
		t.Fatal("a delete authorised before the owner's reset deleted the account after it")
	}
	env.SignIn(victim, newPW).MustOK(t)
}

// Unbinding the email and the phone at once, each read while the other
// was still bound, must leave one of them.
func TestUnbindsRacingKeepAWayToSignIn(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(unthrottledCodes))
	for round := range 8 {
		email, phone := fmt.Sprintf("unbinds%d@example.com", round), fmt.Sprintf("1390013%04d", round)
		u := signUpIn(t, env, email)
		code := sendSMS(t, env, phone, "CHANNEL_BIND_PHONE")
		u.post("/api/v3/bind-phone", map[string]any{"phoneNumber": phone, "passCode": code}).MustOK(t)
		ec, pc := sendEmail(t, env, email, "CHANNEL_UNBIND_EMAIL"), sendSMS(t, env, phone, "CHANNEL_UNBIND_PHONE")
		var wg sync.WaitGroup
		var se, sp int
		wg.Add(2)
		go func() {
			defer wg.Done()
			se, _ = post(env, "/api/v3/unbind-email", u.access, map[string]any{"passCode": ec})
		}()
		go func() {
			defer wg.Done()
			sp, _ = post(env, "/api/v3/unbind-phone", u.access, map[string]any{"passCode": pc})
		}()
		wg.Wait()
		p := u.profile().MustOK(t)
		if se == 200 && sp == 200 || p.Str("email") == "" && p.Str("phone") == "" {
			t.Fatalf("round %d: unbind-email %d, unbind-phone %d: email %q, phone %q left", round, se, sp, p.Str("email"), p.Str("phone"))
		}
	}
}

// Code texts asked for at once cannot all pass the SMS budget: it is
// counted before it is checked.
func TestSMSBudgetHoldsUnderConcurrency(t *testing.T) {
	env := khtest.Start(t, khtest.FastHash, khtest.WithConfig(func(c *config.Config) { c.SMSHourlyCap = 5 }))
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _ := post(env, "/api/v3/send-sms", "", map[string]any{"phoneNumber": fmt.Sprintf("1390014%04d", i), "channel": "CHANNEL_REGISTER"}); st == 200 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := ok.Load(); n != 5 {
		t.Fatalf("%d texts accepted at once under a budget of 5", n)
	}
}
