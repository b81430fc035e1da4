package notify_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// BenchmarkSMTPSender measures one code mail over real SMTP on loopback,
// reusing connections.
func BenchmarkSMTPSender(b *testing.B) {
	sink := mailsink.Start(b)
	s := newSMTPSender(b, sink)
	e := notify.CodeEmail("en", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute)
	e.To = "bench@example.com"
	ctx := context.Background()
	for b.Loop() {
		if err := s.SendEmail(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sink.Connections()), "connections")
}

// BenchmarkWorker measures enqueue-to-delivered through a real SQLite outbox
// and real SMTP, one message at a time (the latency a user waits for), with
// the message handed to the worker by id as the request path does.
func BenchmarkWorker(b *testing.B) {
	st := openStore(b)
	sink := mailsink.Start(b)
	w := notify.NewWorker(st, newSMTPSender(b, sink), nil, notify.WorkerOptions{Logger: slog.New(slog.DiscardHandler), PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for b.Loop() {
		w.Queued(enqueueEmail(b, st, time.Now(), "bench@example.com", "123456", 5*time.Minute))
		if _, err := sink.Next(ctx, "bench@example.com", 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodeEmail measures rendering a code email (subject, text and
// HTML), done on every code request.
func BenchmarkCodeEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		notify.CodeEmail("en", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute)
	}
}

// BenchmarkCodeEmails is BenchmarkCodeEmail through the cache the server
// uses.
func BenchmarkCodeEmails(b *testing.B) {
	c := notify.NewCodeEmails("Keyhaven")
	b.ReportAllocs()
	for b.Loop() {
		c.Email("en", "CHANNEL_RESET_PASSWORD", "123456", 5*time.Minute)
	}
}
