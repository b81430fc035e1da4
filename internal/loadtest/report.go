package loadtest

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

// Report is a run's outcome.
type Report struct {
	Started, Finished time.Time
	Config            Config
	Machine           string
	SMTPURL           string
	HashSpec          pwhash.Spec
	// Ceiling is the hash operations a second this machine does with one
	// goroutine per core: the higher of the measurements before and after
	// the phases.
	Ceiling, CeilingBefore, CeilingAfter float64
	// HashCPU is the CPU time one hash takes (the lower of the two
	// ceiling measurements).
	HashCPU   time.Duration
	SetupTime time.Duration // creating the users
	Phases    []PhaseResult
}

// PhaseResult is one phase's numbers.
type PhaseResult struct {
	Name    string
	Unit    string // what Rate counts
	Clients int
	Elapsed time.Duration
	// Outcomes: OK is statusCode 200; Failed any other answer below 500;
	// ServerErrors HTTP 5xx or statusCode >= 500; Transport no answer.
	OK, Failed, ServerErrors, Transport int
	FirstError                          string
	Rate                                float64 // OK per second of Elapsed
	Latency                             summary

	HashesPerOp int     // password hashes one operation costs; 0 if not hash-bound
	Ceiling     float64 // the rate the hash ceiling allows for this phase; 0 if none
	Ratio       float64 // Rate / Ceiling

	// CPU used during the phase by the server (from its /metrics; 0 if
	// unknown) and by the load test itself; for hash-bound phases, the
	// share of the server's CPU its hashes account for.
	ServerCPU, LoadCPU time.Duration
	HashShare          float64

	CodeLatency summary // reset: request to code in the inbox

	// Codes phase.
	Delivered, Undelivered, Throttled int
	DeliveryLatency                   summary // request to inbox
	DeliveryRate                      float64 // delivered a second since the phase began
	Drain                             time.Duration

	// Burst phase.
	PeakRSS, PeakRSSHWM, MemoryLimit int64

	Target string
	Meets  bool
}

func newPhase(name, unit string, elapsed time.Duration, c *counts, lat *recorder, clients int) PhaseResult {
	ok, failed, serverErr, transport, first := c.snapshot()
	p := PhaseResult{Name: name, Unit: unit, Clients: clients, Elapsed: elapsed, OK: ok, Failed: failed,
		ServerErrors: serverErr, Transport: transport, FirstError: first, Latency: lat.summary()}
	if elapsed > 0 {
		p.Rate = float64(ok) / elapsed.Seconds()
	}
	return p
}

// judge sets the phase's ceiling from the hash ceiling and decides whether
// it meets its target.
func (p *PhaseResult) judge(hashCeiling float64) {
	if p.HashesPerOp > 0 && hashCeiling > 0 {
		p.Ceiling = hashCeiling / float64(p.HashesPerOp)
		p.Ratio = p.Rate / p.Ceiling
	}
	clean := p.ServerErrors == 0 && p.Transport == 0
	switch p.Name {
	case PhaseSignIn:
		p.Meets = clean && p.Ratio >= 0.95
	case PhaseReset:
		p.Meets = clean && p.Ratio >= 0.90 && p.CodeLatency.N > 0 && p.CodeLatency.P50 <= 50*time.Millisecond
	case PhaseProfile:
		p.Meets = clean && p.Failed == 0 && p.Clients == 16 && p.Rate >= 10000 && p.Latency.P99 <= 10*time.Millisecond
	case PhaseCodes:
		p.Meets = clean && p.Failed == 0 && p.Rate >= 1000 && p.Undelivered == 0 && p.Drain <= time.Second
	case PhaseBurst:
		worst := max(p.PeakRSS, p.PeakRSSHWM)
		p.Meets = p.OK+p.Failed+p.ServerErrors == p.Clients && p.ServerErrors == 0 && worst > 0 && worst < p.MemoryLimit
	}
}

// account computes the share of the server's CPU that went into hashing:
// what the phase's throughput would be, as a share of the ceiling, on a
// machine where nothing but the server ran.
func (p *PhaseResult) account(hashCPU time.Duration) {
	if p.HashesPerOp > 0 && p.ServerCPU > 0 && hashCPU > 0 {
		p.HashShare = float64(p.OK*p.HashesPerOp) * float64(hashCPU) / float64(p.ServerCPU)
	}
}

func (p PhaseResult) oneLine() string {
	s := fmt.Sprintf("%s: %d ok, %d failed, %d 5xx, %d no answer in %s: %.1f %s/s, p50 %s p95 %s p99 %s",
		p.Name, p.OK, p.Failed, p.ServerErrors, p.Transport, p.Elapsed.Round(time.Millisecond), p.Rate, p.Unit,
		ms(p.Latency.P50), ms(p.Latency.P95), ms(p.Latency.P99))
	if p.FirstError != "" {
		s += "; first error: " + p.FirstError
	}
	return s
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Write prints the report as text (the form docs/performance.md quotes).
func (r *Report) Write(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "keyhaven loadtest  %s\n", r.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	fmt.Fprintf(w, "target:  %s  users=%d concurrency=%d profile-concurrency=%d duration=%s burst=%d\n",
		c.URL, c.Users, c.Concurrency, c.ProfileConcurrency, c.Duration, c.Burst)
	fmt.Fprintf(w, "hash ceiling: %.1f ops/s (%s, %d goroutines, %s each: %.1f before the phases, %.1f after); users created in %s\n\n",
		r.Ceiling, c.HashSpec, runtime.NumCPU(), c.CeilingTime, r.CeilingBefore, r.CeilingAfter, r.SetupTime.Round(time.Millisecond))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tclients\tok\tfailed\t5xx\tno answer\trate/s\tp50\tp95\tp99\tceiling/s\tratio\t")
	for _, p := range r.Phases {
		ceil, ratio := "-", "-"
		if p.Ceiling > 0 {
			ceil, ratio = fmt.Sprintf("%.1f", p.Ceiling), fmt.Sprintf("%.1f%%", 100*p.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", p.Name, p.Clients, p.OK, p.Failed,
			p.ServerErrors, p.Transport, p.Rate, ms(p.Latency.P50), ms(p.Latency.P95), ms(p.Latency.P99), ceil, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, p := range r.Phases {
		verdict := "MISSES"
		if p.Meets {
			verdict = "meets"
		}
		fmt.Fprintf(w, "%-8s %s target (%s)\n", p.Name, verdict, p.Target)
		if span := p.Elapsed + p.Drain; span > 0 { // the codes phase's CPU includes its drain
			cores := func(d time.Duration) float64 { return d.Seconds() / span.Seconds() }
			line := fmt.Sprintf("         CPU: server %.2f cores, load test %.2f cores", cores(p.ServerCPU), cores(p.LoadCPU))
			if p.HashShare > 0 {
				line += fmt.Sprintf("; hashing is %.1f%% of the server's CPU (%s per hash)", 100*p.HashShare, ms(r.HashCPU))
			}
			fmt.Fprintln(w, line)
		}
		switch p.Name {
		case PhaseReset:
			fmt.Fprintf(w, "         code in the inbox after the request: p50 %s p95 %s p99 %s (n=%d)\n",
				ms(p.CodeLatency.P50), ms(p.CodeLatency.P95), ms(p.CodeLatency.P99), p.CodeLatency.N)
		case PhaseCodes:
			fmt.Fprintf(w, "         delivered %d (%.1f/s), undelivered %d, throttled (429) %d, last code %s after the last request\n",
				p.Delivered, p.DeliveryRate, p.Undelivered, p.Throttled, ms(p.Drain))
			fmt.Fprintf(w, "         request to inbox: p50 %s p95 %s p99 %s\n",
				ms(p.DeliveryLatency.P50), ms(p.DeliveryLatency.P95), ms(p.DeliveryLatency.P99))
			if p.Throttled > 0 {
				fmt.Fprintln(w, "         (429: the server's per-address code limits; run it with KEYHAVEN_CODE_INTERVAL=0 and a high KEYHAVEN_CODE_HOURLY_CAP, or use more --users)")
			}
		case PhaseBurst:
			hwm := "not read (no --server-pid)"
			if p.PeakRSSHWM > 0 {
				hwm = mib(p.PeakRSSHWM)
			}
			fmt.Fprintf(w, "         peak RSS sampled from /metrics %s, VmHWM %s, bound %s; all answered in %s, max latency %s\n",
				mib(p.PeakRSS), hwm, mib(p.MemoryLimit), p.Elapsed.Round(time.Millisecond), ms(p.Latency.Max))
		}
		if p.FirstError != "" {
			fmt.Fprintf(w, "         first error: %s\n", p.FirstError)
		}
	}
}

// describeMachine names the CPU, core count, memory and kernel.
func describeMachine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				mem = fmt.Sprintf(", %.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = ", load average " + strings.Join(f[:3], " ") + " at start"
		}
	}
	return fmt.Sprintf("%s, %d CPUs%s%s, %s/%s, %s%s", cpu, runtime.NumCPU(), mem, kernel, runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
}
