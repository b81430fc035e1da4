package notify_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// newSMTPSender returns a sender configured from the sink's URL, the way the
// server configures one from KEYHAVEN_SMTP_URL.
func newSMTPSender(t testing.TB, sink *mailsink.Sink) *notify.SMTPSender {
	t.Helper()
	cfg, err := notify.ParseSMTPURL(sink.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = sink.TLSConfig()
	s := notify.NewSMTPSender(cfg)
	t.Cleanup(func() { s.Close() })
	return s
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestSMTPSenderDeliversTextAndHTML(t *testing.T) {
	sink := mailsink.Start(t)
	s := newSMTPSender(t, sink)

	e := notify.CodeEmail("zh-CN", "CHANNEL_RESET_PASSWORD", "钥匙港 Keyhaven", "654321", 5*time.Minute)
	e.To = "zhang.wei@example.com"
	if err := s.SendEmail(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	m := sink.WaitFor(t, "zhang.wei@example.com", 5*time.Second)
	if m.Subject != e.Subject {
		t.Errorf("subject = %q, want %q", m.Subject, e.Subject)
	}
	if crlf(m.Text) != e.Text {
		t.Errorf("text = %q, want %q", m.Text, e.Text)
	}
	if crlf(m.HTML) != e.HTML {
		t.Errorf("html differs:\n%s\nwant\n%s", m.HTML, e.HTML)
	}
	if got := m.Code(); got != "654321" {
		t.Errorf("Code() = %q", got)
	}
	if m.From != mailsink.DefaultFrom || len(m.To) != 1 {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q", ct)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" || !strings.HasSuffix(m.Header.Get("Message-Id"), "@keyhaven.test>") {
		t.Errorf("headers: %v", m.Header)
	}
	if strings.Contains(m.Header.Get("Subject"), "654321") {
		t.Error("code in the subject header")
	}
}

func TestSMTPSenderReusesConnections(t *testing.T) {
	sink := mailsink.Start(t)
	s := newSMTPSender(t, sink)
	send := func(to string) {
		t.Helper()
		if err := s.SendEmail(context.Background(), notify.Email{To: to, Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		sink.WaitFor(t, to, 5*time.Second)
	}
	for range 5 {
		send("a@example.com")
	}
	if n := sink.Connections(); n != 1 {
		t.Errorf("5 sequential sends used %d connections, want 1", n)
	}
	// The server drops the idle connection: the next send fails at MAIL,
	// before anything of the message went out, and redials, sending the
	// message exactly once.
	sink.DropConnections()
	send("b@example.com")
	if n := sink.Connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
	if n := len(sink.Messages()); n != 6 {
		t.Errorf("messages = %d, want 6", n)
	}
}

func TestSMTPSenderReusesConnectionIdleLongerThanTimeout(t *testing.T) {
	sink := mailsink.Start(t)
	cfg, err := notify.ParseSMTPURL(sink.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 100 * time.Millisecond
	s := notify.NewSMTPSender(cfg)
	defer s.Close()
	for i := range 2 {
		if err := s.SendEmail(context.Background(), notify.Email{To: "idle@example.com", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			time.Sleep(300 * time.Millisecond) // idle past the per-command timeout
		}
	}
	if n := sink.Connections(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
}

func TestSMTPSenderConcurrent(t *testing.T) {
	sink := mailsink.Start(t)
	s := newSMTPSender(t, sink)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- s.SendEmail(context.Background(), notify.Email{To: "c@example.com", Subject: "s", Text: string(rune('a' + i))})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(sink.Messages()); n != 20 {
		t.Errorf("messages = %d, want 20", n)
	}
}

// With MaxIdle set to the sends in flight, later waves of concurrent sends
// reuse the earlier waves' connections instead of dialling again.
func TestSMTPSenderKeepsMaxIdleConnections(t *testing.T) {
	sink := mailsink.Start(t)
	cfg, err := notify.ParseSMTPURL(sink.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxIdle = 8
	s := notify.NewSMTPSender(cfg)
	defer s.Close()
	wave := func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := s.SendEmail(context.Background(), notify.Email{To: "w@example.com", Subject: "s", Text: "t"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// No connection is ever closed, so eight in flight never need a ninth.
	for range 5 {
		wave()
	}
	if n := sink.Connections(); n > 8 {
		t.Errorf("5 waves of 8 sends dialled %d connections, want at most 8", n)
	}
}

func TestSMTPSenderSTARTTLSRequiredButNotOffered(t *testing.T) {
	sink := mailsink.Start(t) // offers no STARTTLS
	cfg, err := notify.ParseSMTPURL(strings.Replace(sink.URL(), "tls=none", "tls=starttls", 1))
	if err != nil {
		t.Fatal(err)
	}
	err = notify.NewSMTPSender(cfg).SendEmail(context.Background(), notify.Email{To: "x@example.com", Subject: "s", Text: "123456"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "tls=starttls") {
		t.Fatalf("err = %v, want a clear STARTTLS error", err)
	}
	t.Logf("error: %v", err)
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d messages went through in plain text", n)
	}
}

func TestSMTPSenderTLSModesAndAuth(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []mailsink.Option
	}{
		{"starttls", []mailsink.Option{mailsink.WithSTARTTLS()}},
		{"implicit tls", []mailsink.Option{mailsink.WithImplicitTLS()}},
		{"starttls+auth", []mailsink.Option{mailsink.WithSTARTTLS(), mailsink.WithAuth("mailer", "p@ss:w/rd")}},
		{"tls+auth", []mailsink.Option{mailsink.WithImplicitTLS(), mailsink.WithAuth("mailer", "secret")}},
		{"none+auth on loopback", []mailsink.Option{mailsink.WithAuth("mailer", "secret")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := mailsink.Start(t, c.opts...)
			s := newSMTPSender(t, sink)
			if err := s.SendEmail(context.Background(), notify.Email{To: "tls@example.com", Subject: "s", Text: "code 246810"}); err != nil {
				t.Fatal(err)
			}
			if got := sink.WaitFor(t, "tls@example.com", 5*time.Second).Code(); got != "246810" {
				t.Errorf("code = %q", got)
			}
		})
	}
}

func TestSMTPSenderTLSFailures(t *testing.T) {
	t.Run("untrusted certificate", func(t *testing.T) {
		sink := mailsink.Start(t, mailsink.WithImplicitTLS())
		cfg, _ := notify.ParseSMTPURL(sink.URL())
		err := notify.NewSMTPSender(cfg).SendEmail(context.Background(), notify.Email{To: "x@example.com", Text: "t"})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		sink := mailsink.Start(t, mailsink.WithSTARTTLS(), mailsink.WithAuth("mailer", "right"))
		cfg, _ := notify.ParseSMTPURL(strings.Replace(sink.URL(), "right", "wrong", 1))
		cfg.TLSConfig = sink.TLSConfig()
		err := notify.NewSMTPSender(cfg).SendEmail(context.Background(), notify.Email{To: "x@example.com", Text: "t"})
		if err == nil || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v (must fail and not quote the password)", err)
		}
		t.Logf("error: %v", err)
	})
}

func TestSMTPSenderTemporaryFailure(t *testing.T) {
	sink := mailsink.Start(t)
	sink.SetFailures(1)
	s := newSMTPSender(t, sink)
	e := notify.Email{To: "retry@example.com", Subject: "s", Text: "t"}
	err := s.SendEmail(context.Background(), e)
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("err = %v, want a temporary 451", err)
	}
	if err := s.SendEmail(context.Background(), e); err != nil {
		t.Fatalf("second try: %v", err)
	}
	sink.WaitFor(t, e.To, 5*time.Second)
}

func TestSMTPSenderHonoursContext(t *testing.T) {
	sink := mailsink.Start(t)
	sink.SetDelay(3 * time.Second)
	s := newSMTPSender(t, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.SendEmail(ctx, notify.Email{To: "slow@example.com", Subject: "s", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("send took %v after a 200ms deadline", d)
	}

	// Cancellation (no deadline) interrupts too.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	err = s.SendEmail(ctx, notify.Email{To: "slow@example.com", Subject: "s", Text: "t"})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want canceled promptly", err, time.Since(start))
	}
}

func TestSMTPSenderDeadServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg, err := notify.ParseSMTPURL("smtp://" + addr + "?from=a@example.com&tls=none")
	if err != nil {
		t.Fatal(err)
	}
	err = notify.NewSMTPSender(cfg).SendEmail(context.Background(), notify.Email{To: "x@example.com", Text: "t"})
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
}

func TestSMTPSenderBadRecipientIsPermanent(t *testing.T) {
	sink := mailsink.Start(t)
	s := newSMTPSender(t, sink)
	err := s.SendEmail(context.Background(), notify.Email{To: "not an address", Text: "t"})
	if !notify.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want notify.SMTPConfig
	}{
		{"smtp://mail.example.com?from=no-reply@example.com",
			notify.SMTPConfig{Host: "mail.example.com", Port: 587, From: "no-reply@example.com", TLS: notify.TLSStartTLS}},
		{"smtp://u%40example.com:p%40ss%3Aw@mail.example.com:2525?tls=starttls",
			notify.SMTPConfig{Host: "mail.example.com", Port: 2525, Username: "u@example.com", Password: "p@ss:w", From: "u@example.com", TLS: notify.TLSStartTLS}},
		{"smtp://smtp.example.com?from=Keyhaven%20%3Cno-reply%40example.com%3E&tls=tls",
			notify.SMTPConfig{Host: "smtp.example.com", Port: 465, From: "Keyhaven <no-reply@example.com>", TLS: notify.TLSImplicit}},
		{"smtp://127.0.0.1:1025?from=a@b.c&tls=NONE",
			notify.SMTPConfig{Host: "127.0.0.1", Port: 1025, From: "a@b.c", TLS: notify.TLSNone}},
		{"smtp://localhost?from=a@b.c&tls=none",
			notify.SMTPConfig{Host: "localhost", Port: 25, From: "a@b.c", TLS: notify.TLSNone}},
		{"smtp://u:p@127.0.0.1:2525?from=a@b.c&tls=none", // a password in the clear, but to this machine
			notify.SMTPConfig{Host: "127.0.0.1", Port: 2525, Username: "u", Password: "p", From: "a@b.c", TLS: notify.TLSNone}},
		{"smtp://[::1]:25/?from=a@b.c",
			notify.SMTPConfig{Host: "::1", Port: 25, From: "a@b.c", TLS: notify.TLSStartTLS}},
	} {
		got, err := notify.ParseSMTPURL(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got.Timeout = 0
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}

	const secret = "hunter2-S3CRET"
	for _, in := range []string{
		"",
		"mail.example.com:587",
		"smtps://u:" + secret + "@mail.example.com?from=a@b.c",
		"smtp://u:" + secret + "@mail.example.com",
		"smtp://u:" + secret + "@mail.example.com?from=a@b.c&tls=ssl",
		"smtp://u:" + secret + "@mail.example.com?from=a@b.c&tsl=none",
		"smtp://u:" + secret + "@mail.example.com:99999?from=a@b.c",
		"smtp://u:" + secret + "@mail.example.com:x?from=a@b.c",
		"smtp://u:" + secret + "%zz@mail.example.com?from=a@b.c",
		"smtp://u:" + secret + " x@mail.example.com?from=a@b.c",
		"smtp://u:" + secret + "@?from=a@b.c",
		"smtp://u@mail.example.com?from=a@b.c",
		"smtp://:" + secret + "@mail.example.com?from=a@b.c",
		"smtp://u:" + secret + "@mail.example.com?from=not-an-address",
		"smtp://u:" + secret + "@mail.example.com/path?from=a@b.c",
		"smtp://u:" + secret + "@mail.example.com?from=a@b.c&tls=none", // a password in the clear off this machine
	} {
		_, err := notify.ParseSMTPURL(in)
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		if !strings.HasPrefix(err.Error(), "KEYHAVEN_SMTP_URL: ") || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("%q: error %q must name the setting and hide the password", in, err)
		}
	}
}

func TestSMTPConfigHidesPassword(t *testing.T) {
	cfg, err := notify.ParseSMTPURL("smtp://user:topsecret@mail.example.com?from=a@b.c")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.String() + cfg.LogValue().String(); strings.Contains(s, "topsecret") || !strings.Contains(s, "user") {
		t.Errorf("String/LogValue = %q", s)
	}
}
