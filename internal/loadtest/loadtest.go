// Package loadtest drives a running Keyhaven through its public API and
// measures it against the targets of docs/performance.md: sign-in and
// reset throughput as a share of the password-hash ceiling (measured in the
// same run, with the server's parameters), token-authenticated reads, code
// requests with real SMTP delivery, and a burst of concurrent sign-ins.
//
// It only ever talks to loopback addresses, and every phase is bounded in
// time: it is a measuring tool for one's own machine, not a traffic
// generator.
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

// Phase names, in the order they run.
const (
	PhaseSignIn  = "signin"
	PhaseProfile = "profile"
	PhaseReset   = "reset"
	PhaseCodes   = "codes"
	PhaseBurst   = "burst"
)

// AllPhases is every phase in run order.
var AllPhases = []string{PhaseSignIn, PhaseProfile, PhaseReset, PhaseCodes, PhaseBurst}

// Config describes a run. Zero values take the defaults noted.
type Config struct {
	URL   string // the server, e.g. http://127.0.0.1:8080; must be loopback
	AppID string // sent as x-authing-app-id

	Users       int           // accounts created through the API before the phases (default 200)
	Concurrency int           // clients in the sign-in, reset and code phases (default 8)
	Duration    time.Duration // length of each timed phase (default 20s)
	// ProfileConcurrency is the number of clients reading profiles
	// (default 16, the target's).
	ProfileConcurrency int
	Burst              int      // concurrent sign-ins in the burst phase (default 1000)
	Phases             []string // default AllPhases

	// HashSpec is the server's KEYHAVEN_PASSWORD_HASH: the ceiling is
	// measured with it (default pwhash.DefaultSpecString).
	HashSpec string
	// HashConcurrency is the server's KEYHAVEN_HASH_CONCURRENCY, for the
	// burst's memory bound (default: this machine's CPU count, the
	// server's own default).
	HashConcurrency int
	// CeilingTime is how long the hash ceiling is measured (default 5s).
	CeilingTime time.Duration

	// SMTP is where the load test's SMTP server listens; the server under
	// test must send mail there (Report.SMTPURL, or SinkURL before Run).
	SMTP net.Listener
	// ServerPID, if set, lets the burst read the server's peak resident
	// memory (VmHWM) from /proc as well as from /metrics.
	ServerPID int

	// Log receives progress lines (default io.Discard).
	Log io.Writer
}

func (c *Config) defaults() error {
	if c.Users <= 0 {
		c.Users = 200
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Duration <= 0 {
		c.Duration = 20 * time.Second
	}
	if c.ProfileConcurrency <= 0 {
		c.ProfileConcurrency = 16
	}
	if c.Burst <= 0 {
		c.Burst = 1000
	}
	if len(c.Phases) == 0 {
		c.Phases = AllPhases
	}
	if c.HashSpec == "" {
		c.HashSpec = pwhash.DefaultSpecString
	}
	if c.HashConcurrency <= 0 {
		c.HashConcurrency = runtime.NumCPU()
	}
	if c.CeilingTime <= 0 {
		c.CeilingTime = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("--app-id: is required (the server's KEYHAVEN_APP_ID)"))
	}
	if err := CheckLoopbackURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("--url: %w", err))
	}
	for _, p := range c.Phases {
		if !contains(AllPhases, p) {
			errs = append(errs, fmt.Errorf("--phases: unknown phase %q (have %s)", p, strings.Join(AllPhases, ", ")))
		}
	}
	if c.SMTP == nil {
		errs = append(errs, errors.New("no SMTP listener"))
	} else if err := checkLoopbackHost(c.SMTP.Addr().(*net.TCPAddr).IP.String()); err != nil {
		errs = append(errs, fmt.Errorf("--smtp-listen: %w", err))
	}
	if c.Users < c.Concurrency {
		errs = append(errs, fmt.Errorf("--users (%d) must be at least --concurrency (%d): a reset flow holds its user", c.Users, c.Concurrency))
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// CheckLoopbackURL accepts only http URLs whose host is a loopback address
// or "localhost".
func CheckLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("want http://127.0.0.1:PORT, got %q", raw)
	}
	return checkLoopbackHost(u.Hostname())
}

func checkLoopbackHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the load test only targets this machine", host)
	}
	return nil
}

// user is an account the run created; a reset changes its password.
type user struct {
	email    string
	password string
	token    string // an access token, once signed in
}

// run is one Run's state.
type run struct {
	cfg   Config
	id    string
	api   *client
	sink  *sink
	users []*user
	rep   *Report
}

// Run creates the users, measures the hash ceiling, runs the phases and
// returns the report. It stops early, with what it has, if ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	spec, err := pwhash.ParseSpec(cfg.HashSpec)
	if err != nil {
		return nil, fmt.Errorf("--hash: %w", err)
	}
	r := &run{cfg: cfg, id: randomHex(3), sink: startSink(cfg.SMTP)}
	defer r.sink.close()
	r.api = newClient(strings.TrimRight(cfg.URL, "/"), cfg.AppID, max(cfg.Concurrency, cfg.ProfileConcurrency)+4, 60*time.Second)
	defer r.api.close()
	r.rep = &Report{Started: time.Now(), Config: cfg, Machine: describeMachine(), SMTPURL: r.sink.URL(), HashSpec: spec}

	if err := r.checkServer(ctx); err != nil {
		return nil, err
	}
	// The ceiling is measured before the phases and again after them, while
	// the server idles; phases are judged against the higher of the two, so
	// a machine that was busier at one moment flatters nothing.
	r.logf("measuring the hash ceiling (%s, %d goroutines, %s)", cfg.HashSpec, runtime.NumCPU(), cfg.CeilingTime)
	r.rep.CeilingBefore, r.rep.HashCPU = measureCeiling(ctx, spec, cfg.CeilingTime)
	r.rep.Ceiling = r.rep.CeilingBefore
	r.logf("hash ceiling: %.1f/s", r.rep.Ceiling)
	if err := r.createUsers(ctx); err != nil {
		return r.rep, err
	}
	for _, p := range AllPhases {
		if !contains(cfg.Phases, p) || ctx.Err() != nil {
			continue
		}
		r.logf("phase %s", p)
		cpu0, server0 := processCPU(), r.serverCPU(ctx)
		var res PhaseResult
		switch p {
		case PhaseSignIn:
			res = r.signInPhase(ctx)
		case PhaseProfile:
			res = r.profilePhase(ctx)
		case PhaseReset:
			res = r.resetPhase(ctx)
		case PhaseCodes:
			res = r.codesPhase(ctx)
		case PhaseBurst:
			res = r.burstPhase(ctx)
		}
		res.LoadCPU = processCPU() - cpu0
		if server1 := r.serverCPU(ctx); server0 >= 0 && server1 >= 0 {
			res.ServerCPU = server1 - server0
		}
		r.rep.Phases = append(r.rep.Phases, res)
		r.logf("  %s", res.oneLine())
	}
	if ctx.Err() == nil {
		var cpuAfter time.Duration
		r.rep.CeilingAfter, cpuAfter = measureCeiling(ctx, spec, cfg.CeilingTime)
		r.logf("hash ceiling after the phases: %.1f/s", r.rep.CeilingAfter)
		r.rep.Ceiling = max(r.rep.CeilingBefore, r.rep.CeilingAfter)
		r.rep.HashCPU = min(r.rep.HashCPU, cpuAfter)
		for i := range r.rep.Phases {
			r.rep.Phases[i].judge(r.rep.Ceiling)
			r.rep.Phases[i].account(r.rep.HashCPU)
		}
	}
	r.rep.Finished = time.Now()
	return r.rep, ctx.Err()
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// checkServer fails fast, with a useful message, when the URL or app id is
// wrong.
func (r *run) checkServer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := r.api.call(ctx, "GET", "/api/v3/system", nil, "", false)
	if !res.ok() {
		return fmt.Errorf("the server at %s does not answer GET /api/v3/system for app %q: %s", r.cfg.URL, r.cfg.AppID, res.describe())
	}
	return nil
}

// measureCeiling is the hash rate of this machine with one goroutine per
// core, each hashing back to back, under spec; and the CPU time one hash
// took (this process's CPU time over the hashes, which other processes on
// the machine do not inflate as they do the wall time).
func measureCeiling(ctx context.Context, spec pwhash.Spec, d time.Duration) (rate float64, cpuPerHash time.Duration) {
	n := runtime.NumCPU()
	h := pwhash.NewHasher(spec, n, nil)
	var ops atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := h.Hash(ctx, "ceiling measurement password"); err == nil {
					ops.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	if ops.Load() == 0 {
		return 0, 0
	}
	return float64(ops.Load()) / elapsed.Seconds(), cpu / time.Duration(ops.Load())
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// createUsers signs up cfg.Users accounts, as fast as the server hashes,
// within a bound derived from the ceiling.
func (r *run) createUsers(ctx context.Context) error {
	n := r.cfg.Users
	limit := time.Duration(float64(n)/max(r.rep.Ceiling, 1)*4*float64(time.Second)) + 30*time.Second
	r.logf("creating %d users (at most %s)", n, limit.Round(time.Second))
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r.users = make([]*user, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range max(r.cfg.Concurrency, 2*runtime.NumCPU()) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				u := &user{email: fmt.Sprintf("lt-%s-%d@example.com", r.id, i), password: randomPassword()}
				if res := r.api.signUp(ctx, u.email, u.password); !res.ok() {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("sign-up of user %d: %s", i, res.describe())
					}
					mu.Unlock()
					cancel()
					return
				}
				r.users[i] = u
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if ctx.Err() != nil {
		return fmt.Errorf("creating %d users did not finish within %s", n, limit.Round(time.Second))
	}
	r.rep.SetupTime = time.Since(start)
	return nil
}

// forDuration runs fn in workers loops until d has passed; it returns the
// time until the last call finished.
func forDuration(ctx context.Context, d time.Duration, workers int, fn func(ctx context.Context, worker int)) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				fn(ctx, w)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func (r *run) signInPhase(ctx context.Context) PhaseResult {
	var lat recorder
	var cnt counts
	var next atomic.Int64
	elapsed := forDuration(ctx, r.cfg.Duration, r.cfg.Concurrency, func(ctx context.Context, _ int) {
		u := r.users[int(next.Add(1)-1)%len(r.users)]
		start := time.Now()
		res, _ := r.api.signIn(ctx, u.email, u.password, false)
		if ctx.Err() != nil {
			return
		}
		lat.add(time.Since(start))
		cnt.record(res)
	})
	p := newPhase(PhaseSignIn, "sign-ins", elapsed, &cnt, &lat, r.cfg.Concurrency)
	p.HashesPerOp = 1
	p.Target = "≥ 95% of the hash ceiling"
	p.judge(r.rep.Ceiling)
	return p
}

// tokens makes sure at least n users hold an access token and returns them.
func (r *run) tokens(ctx context.Context, n int) ([]string, error) {
	var out []string
	for _, u := range r.users {
		if len(out) == n {
			break
		}
		if u.token == "" {
			res, tok := r.api.signIn(ctx, u.email, u.password, true)
			if !res.ok() {
				return nil, fmt.Errorf("sign-in for a token: %s", res.describe())
			}
			u.token = tok
		}
		out = append(out, u.token)
	}
	return out, nil
}

func (r *run) profilePhase(ctx context.Context) PhaseResult {
	c := r.cfg.ProfileConcurrency
	toks, err := r.tokens(ctx, min(len(r.users), 4*c))
	if err != nil {
		return PhaseResult{Name: PhaseProfile, FirstError: err.Error()}
	}
	reqs := make([][]byte, len(toks))
	for i, tok := range toks {
		reqs[i] = r.api.raw("GET", "/api/v3/get-profile", tok, nil)
	}
	conns := r.api.keepAlives(c)
	defer closeAll(conns)
	var lat recorder
	var cnt counts
	var next atomic.Int64
	elapsed := forDuration(ctx, r.cfg.Duration, c, func(ctx context.Context, w int) {
		req := reqs[int(next.Add(1)-1)%len(reqs)]
		start := time.Now()
		res := conns[w].do("get-profile", req)
		if ctx.Err() != nil {
			return
		}
		lat.add(time.Since(start))
		cnt.record(res)
	})
	p := newPhase(PhaseProfile, "requests", elapsed, &cnt, &lat, c)
	p.Target = "≥ 10,000/s, p99 ≤ 10 ms at 16 clients"
	p.judge(r.rep.Ceiling)
	return p
}

// resetPhase runs whole forgot-password flows: send-email, the code
// arriving over SMTP, verify, reset. A user is in one flow at a time.
func (r *run) resetPhase(ctx context.Context) PhaseResult {
	pool := make(chan *user, len(r.users))
	for _, u := range r.users {
		pool <- u
	}
	var lat, codeLat recorder
	var cnt counts
	elapsed := forDuration(ctx, r.cfg.Duration, r.cfg.Concurrency, func(ctx context.Context, _ int) {
		u := <-pool
		defer func() { pool <- u }()
		start := time.Now()
		res := r.resetFlow(ctx, u, &codeLat)
		if ctx.Err() != nil {
			return
		}
		lat.add(time.Since(start))
		cnt.record(res)
	})
	p := newPhase(PhaseReset, "resets", elapsed, &cnt, &lat, r.cfg.Concurrency)
	p.HashesPerOp = 2 // compare with the current password, hash the new one
	p.CodeLatency = codeLat.summary()
	p.Target = "≥ 90% of ceiling/2, code in inbox p50 ≤ 50 ms"
	p.judge(r.rep.Ceiling)
	return p
}

func (r *run) resetFlow(ctx context.Context, u *user, codeLat *recorder) result {
	start := time.Now()
	exp := r.sink.expect(u.email, start, codeLat)
	if res := r.api.sendResetCode(ctx, u.email); !res.ok() {
		r.sink.cancel(u.email, exp)
		return res
	}
	code, err := exp.wait(ctx, 30*time.Second)
	if err != nil {
		r.sink.cancel(u.email, exp)
		return result{err: fmt.Errorf("reset code for %s: %w", u.email, err)}
	}
	res, tok := r.api.verifyReset(ctx, u.email, code)
	if !res.ok() {
		return res
	}
	pw := randomPassword()
	res = r.api.resetPassword(ctx, tok, pw)
	if res.ok() {
		u.password, u.token = pw, "" // the reset ended its sessions
	}
	return res
}

// codesPhase requests reset codes for existing accounts as fast as the
// clients go, then waits (at most 30s) for every code to reach the sink.
func (r *run) codesPhase(ctx context.Context) PhaseResult {
	reqs := make([][]byte, len(r.users))
	for i, u := range r.users {
		body, _ := json.Marshal(resetCodeBody(u.email)) // a map of strings always marshals
		reqs[i] = r.api.raw("POST", "/api/v3/send-email", "", body)
	}
	conns := r.api.keepAlives(r.cfg.Concurrency)
	defer closeAll(conns)
	var lat, deliv recorder
	var cnt counts
	var throttled atomic.Int64
	var next atomic.Int64
	start := time.Now()
	elapsed := forDuration(ctx, r.cfg.Duration, r.cfg.Concurrency, func(ctx context.Context, w int) {
		i := int(next.Add(1)-1) % len(r.users)
		u := r.users[i]
		t := time.Now()
		exp := r.sink.expect(u.email, t, &deliv)
		res := conns[w].do("send-email", reqs[i])
		if !res.ok() {
			r.sink.cancel(u.email, exp)
		}
		if res.statusCode == 429 {
			throttled.Add(1)
		}
		if ctx.Err() != nil {
			return
		}
		lat.add(time.Since(t))
		cnt.record(res)
	})
	drainStart := time.Now()
	for r.sink.pending() > 0 && time.Since(drainStart) < 30*time.Second && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	drain := time.Since(drainStart)
	p := newPhase(PhaseCodes, "code requests", elapsed, &cnt, &lat, r.cfg.Concurrency)
	d := deliv.summary()
	p.Delivered, p.Undelivered, p.DeliveryLatency, p.Drain = d.N, r.sink.pending(), d, drain
	p.DeliveryRate = float64(d.N) / time.Since(start).Seconds()
	p.Throttled = int(throttled.Load())
	p.Target = "≥ 1,000/s, every code delivered ≤ 1 s after the last request"
	p.judge(r.rep.Ceiling)
	return p
}

// burstPhase sends cfg.Burst sign-ins at once, each on its own connection,
// and watches the server's resident memory while they are answered.
func (r *run) burstPhase(ctx context.Context) PhaseResult {
	n := r.cfg.Burst
	bc := newClient(r.api.base, r.api.appID, n, 5*time.Minute)
	defer bc.close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	var peak atomic.Int64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := r.residentMemory(ctx); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()

	var lat recorder
	var cnt counts
	var ready, wg sync.WaitGroup
	startGun := make(chan struct{})
	ready.Add(n)
	for i := range n {
		u := r.users[i%len(r.users)]
		wg.Go(func() {
			ready.Done()
			<-startGun
			t := time.Now()
			res, _ := bc.signIn(ctx, u.email, u.password, false)
			lat.add(time.Since(t))
			cnt.record(res)
		})
	}
	ready.Wait()
	start := time.Now()
	close(startGun)
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	p := newPhase(PhaseBurst, "sign-ins", elapsed, &cnt, &lat, n)
	p.PeakRSS = peak.Load()
	if r.cfg.ServerPID > 0 {
		p.PeakRSSHWM, _ = vmHWM(r.cfg.ServerPID)
	}
	p.MemoryLimit = int64(r.cfg.HashConcurrency)*int64(r.rep.HashSpec.Memory)*1024 + 100<<20
	p.Target = fmt.Sprintf("all %d answered, no 5xx, RSS < %d MiB", n, p.MemoryLimit>>20)
	p.judge(r.rep.Ceiling)
	return p
}

// residentMemory reads process_resident_memory_bytes from /metrics.
func (r *run) residentMemory(ctx context.Context) (int64, error) {
	f, err := r.metric(ctx, "process_resident_memory_bytes")
	return int64(f), err
}

// serverCPU reads process_cpu_seconds_total from /metrics; -1 if it
// cannot.
func (r *run) serverCPU(ctx context.Context) time.Duration {
	f, err := r.metric(ctx, "process_cpu_seconds_total")
	if err != nil {
		return -1
	}
	return time.Duration(f * float64(time.Second))
}

// metric reads one unlabelled sample from the server's /metrics.
func (r *run) metric(ctx context.Context, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	code, body, err := r.api.get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("/metrics: HTTP %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

// vmHWM is a process's peak resident set size from /proc/PID/status.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomPassword is 16 random characters: always accepted by the policy.
func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
