// Package ops serves what an operator needs beside the API: a liveness
// probe (/healthz), a readiness probe (/readyz) and Prometheus metrics
// (/metrics).
//
// Metrics live in a registry owned by one Metrics value, never in the
// global default registry, so every server in a process (tests start many)
// counts on its own.
package ops

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyhaven/keyhaven/internal/apierr"
)

// OutboxStats is what the outbox gauges read at each scrape
// (store.Outbox.OutboxStats): the number of waiting messages and the
// creation time of the oldest, zero if none.
type OutboxStats interface {
	OutboxStats(ctx context.Context) (int, time.Time, error)
}

// The API routes whose outcomes feed the domain counters.
const (
	routeSignIn    = "POST /api/v3/signin"
	routeSendEmail = "POST /api/v3/send-email"
	routeSendSMS   = "POST /api/v3/send-sms"
	routeReset     = "POST /api/v3/reset-password"
)

// Metrics holds Keyhaven's Prometheus collectors. Its methods are the
// observer hooks of the HTTP API (ObserveRequest, ObserveOutcome), the
// password hasher (HashQueued, HashDone) and the outbox worker (Sent,
// Failed); all are safe for concurrent use and cost a few hundred
// nanoseconds.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	replies  *prometheus.CounterVec

	hashWait prometheus.Histogram
	hashDur  prometheus.Histogram

	outboxSent   *prometheus.CounterVec
	outboxFailed *prometheus.CounterVec

	codesSent     *prometheus.CounterVec
	codesVerified *prometheus.CounterVec
	codesFailed   prometheus.Counter
	resets        *prometheus.CounterVec
	signIns       *prometheus.CounterVec
}

// Options configures NewMetrics.
type Options struct {
	// Outbox, if set, is read at scrape time for the outbox depth and the
	// age of its oldest message, at most once every OutboxEvery.
	Outbox OutboxStats
	// OutboxEvery is how long one read of Outbox answers scrapes; default
	// 1s. The read counts the whole outbox, so scrapers polling often (the
	// load test samples memory every 50 ms) must not each pay for one.
	OutboxEvery time.Duration
	// Now is the clock the outbox age is measured with (the clock the
	// outbox's creation times come from); default time.Now.
	Now func() time.Time
	// Version is reported by keyhaven_build_info.
	Version string
	// LoggedKinds are the message kinds (email, sms) written to the log
	// instead of sent (no SMTP server or SMS webhook configured): reported
	// by keyhaven_messages_logged_instead_of_sent, since their "deliveries"
	// count in keyhaven_outbox_sent_total like real ones.
	LoggedKinds []string
	// CodeChannels are the channels codes are spent on (account.CodeChannels):
	// keyhaven_codes_verified_total's series exist for them from the first
	// scrape.
	CodeChannels []string
	// Logger receives scrape errors; default slog.Default().
	Logger *slog.Logger
}

// Latency buckets: API calls that hash take tens of milliseconds, the rest
// well under one.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers every collector, with the Go runtime and process
// collectors, in a new registry.
func NewMetrics(o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		log: o.Logger,
		requests: f.counterVec("keyhaven_http_requests_total",
			"HTTP requests by route pattern and HTTP status.", "route", "status"),
		duration: f.histogramVec("keyhaven_http_request_duration_seconds",
			"HTTP request latency by route pattern.", latencyBuckets, "route"),
		replies: f.counterVec("keyhaven_api_replies_total",
			"/api/v3 replies by route and envelope statusCode (business failures are sent as HTTP 200).", "route", "status_code"),
		hashWait: f.histogram("keyhaven_password_hash_queue_wait_seconds",
			"Time a password hash or verify waited for a free hashing slot.", latencyBuckets),
		hashDur: f.histogram("keyhaven_password_hash_duration_seconds",
			"Time one password hash or verify computed.", latencyBuckets),
		outboxSent: f.counterVec("keyhaven_outbox_sent_total",
			"Outbox messages delivered, by kind (email, sms).", "kind"),
		outboxFailed: f.counterVec("keyhaven_outbox_failed_total",
			"Outbox send attempts that failed (the message may be retried), by kind.", "kind"),
		codesSent: f.counterVec("keyhaven_codes_sent_total",
			"Code requests accepted (send-email, send-sms), by medium; delivery is counted by keyhaven_outbox_sent_total.", "medium"),
		codesVerified: f.counterVec("keyhaven_codes_verified_total",
			"Codes accepted and spent by their flow (sign-in, sign-up, reset, bind, change, delete), by channel.", "channel"),
		codesFailed: f.counter("keyhaven_codes_failed_total",
			"Replies refusing a code as wrong, used or expired, on any route."),
		resets: f.counterVec("keyhaven_password_resets_total",
			"Password resets with a reset token, by result (ok, failed).", "result"),
		signIns: f.counterVec("keyhaven_signins_total",
			"Sign-ins, by result: ok, failed (wrong account or password), error (anything else).", "result"),
	}
	// Create the label values a dashboard expects, so rates exist from the
	// first scrape instead of appearing with the first event.
	for _, r := range []string{"ok", "failed", "error"} {
		m.signIns.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "failed"} {
		m.resets.WithLabelValues(r)
	}
	for _, ch := range o.CodeChannels {
		m.codesVerified.WithLabelValues(ch)
	}
	for _, k := range []string{"email", "sms"} {
		m.codesSent.WithLabelValues(k)
		m.outboxSent.WithLabelValues(k)
		m.outboxFailed.WithLabelValues(k)
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "keyhaven_build_info",
		Help: "Always 1; the version label names the running build."}, []string{"version"})
	info.WithLabelValues(o.Version).Set(1)
	logged := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "keyhaven_messages_logged_instead_of_sent",
		Help: "1 for a message kind (email, sms) written to the log instead of sent: development only."}, []string{"kind"})
	for _, k := range []string{"email", "sms"} {
		logged.WithLabelValues(k).Set(0)
	}
	for _, k := range o.LoggedKinds {
		logged.WithLabelValues(k).Set(1)
	}
	reg.MustRegister(info, logged,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Outbox != nil {
		every := o.OutboxEvery
		if every <= 0 {
			every = time.Second
		}
		reg.MustRegister(&outboxCollector{stats: o.Outbox, now: o.Now, every: every})
	}
	return m
}

// Registry returns the registry, for a caller that adds its own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format. A collector
// that fails is logged and left out; the rest are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

// ObserveRequest counts one HTTP request (httpapi.Options.Observe). route
// is the matched pattern; "" (no route matched) is reported as "unmatched"
// so that scanning for paths cannot grow the label set.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, statusText(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveOutcome counts one /api/v3 reply by its envelope
// (httpapi.Options.Outcome) and moves the domain counters it stands for.
func (m *Metrics) ObserveOutcome(route string, statusCode, apiCode int) {
	m.replies.WithLabelValues(route, statusText(statusCode)).Inc()
	ok := statusCode == http.StatusOK
	switch route {
	case routeSignIn:
		switch {
		case ok:
			m.signIns.WithLabelValues("ok").Inc()
		case apiCode == apierr.CodeBadCredentials:
			m.signIns.WithLabelValues("failed").Inc()
		default:
			m.signIns.WithLabelValues("error").Inc()
		}
	case routeSendEmail:
		if ok {
			m.codesSent.WithLabelValues("email").Inc()
		}
	case routeSendSMS:
		if ok {
			m.codesSent.WithLabelValues("sms").Inc()
		}
	case routeReset:
		if ok {
			m.resets.WithLabelValues("ok").Inc()
		} else {
			m.resets.WithLabelValues("failed").Inc()
		}
	}
	if apiCode == apierr.CodeCodeInvalid {
		m.codesFailed.Inc()
	}
}

// CodeSpent counts a code its flow accepted and spent
// (passcode.NewService's spent).
func (m *Metrics) CodeSpent(channel string) { m.codesVerified.WithLabelValues(channel).Inc() }

// HashQueued implements pwhash.Observer.
func (m *Metrics) HashQueued(wait time.Duration) { m.hashWait.Observe(wait.Seconds()) }

// HashDone implements pwhash.Observer.
func (m *Metrics) HashDone(d time.Duration) { m.hashDur.Observe(d.Seconds()) }

// Sent implements notify.Observer.
func (m *Metrics) Sent(kind string) { m.outboxSent.WithLabelValues(kind).Inc() }

// Failed implements notify.Observer.
func (m *Metrics) Failed(kind string) { m.outboxFailed.WithLabelValues(kind).Inc() }

// statusText avoids strconv's allocation for the common statuses.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 429:
		return "429"
	case 500:
		return "500"
	}
	return strconv.Itoa(code)
}

// outboxCollector reads the outbox at scrape time: a gauge kept up to date
// by the worker would be wrong on every replica but the one that sent.
// Scrapes within every of a read share it.
type outboxCollector struct {
	stats OutboxStats
	now   func() time.Time
	every time.Duration

	mu     sync.Mutex // held through a read: concurrent scrapes share it
	readAt time.Time  // zero until a read succeeds
	n      int
	oldest time.Time
}

// read returns the outbox stats, read again if the last read is older than
// every. A failed read is not kept.
func (c *outboxCollector) read() (int, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && time.Since(c.readAt) < c.every {
		return c.n, c.oldest, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.stats.OutboxStats(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	c.readAt, c.n, c.oldest = time.Now(), n, oldest
	return n, oldest, nil
}

var (
	outboxDepthDesc = prometheus.NewDesc("keyhaven_outbox_depth",
		"Messages waiting in the outbox (due, retrying or being sent).", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("keyhaven_outbox_oldest_age_seconds",
		"Age of the oldest message in the outbox; 0 when it is empty.", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	n, oldest, err := c.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(c.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
}

// factory registers collectors as it makes them.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// slogPrinter adapts slog to promhttp's error logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics: scrape error", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}
