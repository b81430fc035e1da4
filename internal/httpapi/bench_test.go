package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

// The hot paths through the whole in-process server: real HTTP on
// loopback, a real SQLite file, real SMTP. "hash=default" uses the
// production argon2id parameters, so its time is mostly the hash;
// "hash=cheap" (1 MiB, 1 pass) leaves what everything else costs, which
// is what these benchmarks exist to keep small.
//
//	go test -run '^$' -bench . -benchmem ./internal/httpapi/

const benchPassword = "bench password 0123"

var hashes = []struct{ name, spec string }{
	{"hash=default", config.Default().PasswordHash},
	{"hash=cheap", "argon2id:m=1024,t=1,p=1"},
}

// benchEnv starts a server with code throttles off (a benchmark asks for
// many codes per address) and returns a client that keeps connections.
func benchEnv(b *testing.B, spec string) (*khtest.Env, *benchClient) {
	b.Helper()
	env := khtest.Start(b, khtest.WithConfig(func(c *config.Config) {
		c.PasswordHash = spec
		c.CodeInterval = 0
		c.CodeHourlyCap = 1 << 30
		c.LogLevel = "warn"
	}))
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return env, &benchClient{env: env, hc: &http.Client{Transport: tr, Timeout: time.Minute}}
}

type benchClient struct {
	env *khtest.Env
	hc  *http.Client
}

type reply struct {
	StatusCode int             `json:"statusCode"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data"`
}

// do sends one request and fails unless the envelope says 200. Safe from
// several goroutines (it reports with Error, not Fatal).
func (c *benchClient) do(b *testing.B, method, path string, body any, bearer string) (reply, bool) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			b.Error(err)
			return reply{}, false
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.env.URL+path, rd)
	if err != nil {
		b.Error(err)
		return reply{}, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-authing-app-id", c.env.AppID)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		b.Error(err)
		return reply{}, false
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.StatusCode != 200 {
		b.Errorf("%s %s: %v %+v", method, path, err, r)
		return r, false
	}
	return r, true
}

func (c *benchClient) signUp(b *testing.B, email string) {
	c.do(b, "POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]any{"email": email, "password": benchPassword}}, "")
}

func signInBody(email string) map[string]any {
	return map[string]any{"connection": "PASSWORD", "passwordPayload": map[string]any{"email": email, "password": benchPassword}}
}

// BenchmarkSignIn: one password sign-in (one verify, the session write, two
// RS256 signatures). The parallel form keeps the hasher's queue full, as a
// server under load does; its ns/op is the inverse of throughput.
func BenchmarkSignIn(b *testing.B) {
	for _, h := range hashes {
		b.Run(h.name, func(b *testing.B) {
			_, c := benchEnv(b, h.spec)
			c.signUp(b, "signin@example.com")
			body := signInBody("signin@example.com")
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.do(b, "POST", "/api/v3/signin", body, ""); !ok {
					b.FailNow()
				}
			}
		})
		b.Run(h.name+"/parallel", func(b *testing.B) {
			_, c := benchEnv(b, h.spec)
			c.signUp(b, "signin@example.com")
			body := signInBody("signin@example.com")
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok := c.do(b, "POST", "/api/v3/signin", body, ""); !ok {
						return
					}
				}
			})
		})
	}
}

// BenchmarkGetProfile: a JWT-authenticated read, with 16 clients (the
// target's) in the parallel form.
func BenchmarkGetProfile(b *testing.B) {
	_, c := benchEnv(b, "argon2id:m=1024,t=1,p=1")
	c.signUp(b, "profile@example.com")
	r, ok := c.do(b, "POST", "/api/v3/signin", signInBody("profile@example.com"), "")
	if !ok {
		b.FailNow()
	}
	var ts struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.Data, &ts); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.do(b, "GET", "/api/v3/get-profile", nil, ts.AccessToken); !ok {
				b.FailNow()
			}
		}
	})
	b.Run("clients=16", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok := c.do(b, "GET", "/api/v3/get-profile", nil, ts.AccessToken); !ok {
					return
				}
			}
		})
	})
}

// BenchmarkSendEmailCode: a reset-code request (code issue: account lookup,
// throttle counters, the code and its outbox message in one transaction).
// Delivery happens behind it and is not waited for.
func BenchmarkSendEmailCode(b *testing.B) {
	_, c := benchEnv(b, "argon2id:m=1024,t=1,p=1")
	c.signUp(b, "codes@example.com")
	body := map[string]any{"email": "codes@example.com", "channel": "CHANNEL_RESET_PASSWORD"}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.do(b, "POST", "/api/v3/send-email", body, ""); !ok {
			b.FailNow()
		}
	}
}

// BenchmarkResetFlow: the whole forgot-password flow: send-email, the code
// arriving over SMTP, verify, reset (two hashes: the comparison with the
// current password and the new hash). code-to-inbox is the mean time from
// the send-email request to the message in the sink.
func BenchmarkResetFlow(b *testing.B) {
	for _, h := range hashes {
		b.Run(h.name, func(b *testing.B) {
			env, c := benchEnv(b, h.spec)
			const email = "reset@example.com"
			c.signUp(b, email)
			var inbox time.Duration
			var n atomic.Int64
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, ok := c.do(b, "POST", "/api/v3/send-email", map[string]any{"email": email, "channel": "CHANNEL_RESET_PASSWORD"}, ""); !ok {
					b.FailNow()
				}
				msg, err := env.Mail.Next(context.Background(), email, 10*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				inbox += msg.ReceivedAt.Sub(start)
				r, ok := c.do(b, "POST", "/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
					"emailPassCodePayload": map[string]any{"email": email, "passCode": msg.Code()}}, "")
				if !ok {
					b.FailNow()
				}
				var v struct {
					Token string `json:"passwordResetToken"`
				}
				if err := json.Unmarshal(r.Data, &v); err != nil {
					b.Fatal(err)
				}
				pw := fmt.Sprintf("new bench password %d", n.Add(1))
				if _, ok := c.do(b, "POST", "/api/v3/reset-password", map[string]any{"password": pw, "passwordResetToken": v.Token}, ""); !ok {
					b.FailNow()
				}
				// The "password changed" notice: take it so the next
				// round's Next finds the code.
				if _, err := env.Mail.Next(context.Background(), email, 10*time.Second); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(inbox.Microseconds())/1000/float64(b.N), "ms-code-to-inbox")
		})
	}
}
