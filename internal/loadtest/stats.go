package loadtest

import (
	"slices"
	"sync"
	"time"
)

// recorder collects latencies; safe for concurrent use. A run records at
// most a few million samples, so keeping them all (8 bytes each) is cheaper
// and exacter than a histogram.
type recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// summary is a recorder's percentiles.
type summary struct {
	N             int
	P50, P95, P99 time.Duration
	Max           time.Duration
}

func (r *recorder) summary() summary {
	r.mu.Lock()
	d := slices.Clone(r.d)
	r.mu.Unlock()
	if len(d) == 0 {
		return summary{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return summary{N: len(d), P50: at(.50), P95: at(.95), P99: at(.99), Max: d[len(d)-1]}
}

// counts are a phase's outcomes.
type counts struct {
	mu        sync.Mutex
	ok        int
	failed    int // answered, but not statusCode 200
	serverErr int // HTTP 5xx or envelope statusCode >= 500
	transport int // no answer (connection error, timeout)
	firstErr  string
}

func (c *counts) record(res result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case res.err != nil:
		c.transport++
	case res.httpStatus >= 500 || res.statusCode >= 500:
		c.serverErr++
	case res.statusCode == 200:
		c.ok++
		return
	default:
		c.failed++
	}
	if c.firstErr == "" {
		c.firstErr = res.describe()
	}
}

func (c *counts) snapshot() (ok, failed, serverErr, transport int, firstErr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok, c.failed, c.serverErr, c.transport, c.firstErr
}
