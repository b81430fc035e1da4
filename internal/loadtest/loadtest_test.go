package loadtest_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/loadtest"
	"github.com/keyhaven/keyhaven/internal/testkit/khtest"
)

const cheapHash = "argon2id:m=1024,t=1,p=1"

// A short run of every phase against a real server that mails the load
// test's own SMTP server: every phase gets answers, every requested code
// arrives, and the report says so.
func TestRunAllPhases(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := khtest.Start(t, khtest.WithConfig(func(c *config.Config) {
		c.PasswordHash = cheapHash
		c.SMTPURL = config.Secret("smtp://" + ln.Addr().String() + "?from=lt%40example.com&tls=none")
		c.CodeInterval = 0
		c.CodeHourlyCap = 1 << 20
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := loadtest.Run(ctx, loadtest.Config{URL: env.URL, AppID: env.AppID, Users: 6, Concurrency: 3,
		Duration: 400 * time.Millisecond, ProfileConcurrency: 4, Burst: 25, HashSpec: cheapHash,
		CeilingTime: 200 * time.Millisecond, SMTP: ln, Log: &progress})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if rep.CeilingBefore <= 0 || rep.CeilingAfter <= 0 {
		t.Errorf("ceiling not measured: %v, %v", rep.CeilingBefore, rep.CeilingAfter)
	}
	if len(rep.Phases) != len(loadtest.AllPhases) {
		t.Fatalf("%d phases reported, want %d", len(rep.Phases), len(loadtest.AllPhases))
	}
	for _, p := range rep.Phases {
		if p.OK == 0 || p.Failed+p.ServerErrors+p.Transport != 0 {
			t.Errorf("%s: %d ok, %d failed, %d 5xx, %d no answer; first error %q", p.Name, p.OK, p.Failed, p.ServerErrors, p.Transport, p.FirstError)
		}
		if p.Latency.N != p.OK || p.Latency.P50 <= 0 || p.Latency.P99 < p.Latency.P50 {
			t.Errorf("%s: latency %+v for %d answers", p.Name, p.Latency, p.OK)
		}
		switch p.Name {
		case loadtest.PhaseSignIn:
			if p.HashesPerOp != 1 || p.Ratio <= 0 {
				t.Errorf("signin: %d hashes per op, ratio %v", p.HashesPerOp, p.Ratio)
			}
		case loadtest.PhaseReset:
			if p.CodeLatency.N != p.OK || p.HashesPerOp != 2 {
				t.Errorf("reset: %d code latencies for %d resets, %d hashes per op", p.CodeLatency.N, p.OK, p.HashesPerOp)
			}
		case loadtest.PhaseCodes:
			if p.Delivered != p.OK || p.Undelivered != 0 || p.Throttled != 0 {
				t.Errorf("codes: %d requested, %d delivered, %d undelivered, %d throttled", p.OK, p.Delivered, p.Undelivered, p.Throttled)
			}
		case loadtest.PhaseBurst:
			if p.OK != 25 || p.PeakRSS <= 0 || p.MemoryLimit <= 0 {
				t.Errorf("burst: %d ok, peak RSS %d, bound %d", p.OK, p.PeakRSS, p.MemoryLimit)
			}
		}
	}
	var out bytes.Buffer
	rep.Write(&out)
	for _, want := range []string{"hash ceiling:", "signin", "profile", "reset", "codes", "burst", "code in the inbox", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

// Only loopback targets are accepted, before any traffic is sent.
func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.3.4.5"} {
		if err := loadtest.CheckLoopbackURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://192.168.1.2", "http://example.com", "https://127.0.0.1", "127.0.0.1:8080", ""} {
		if err := loadtest.CheckLoopbackURL(u); err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = loadtest.Run(context.Background(), loadtest.Config{URL: "http://10.1.2.3:8080", AppID: "app", SMTP: ln})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run against a non-loopback address: %v", err)
	}
}
