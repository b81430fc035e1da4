package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/testkit/smssink"
)

func TestWebhookSMSSenderPostsContractJSON(t *testing.T) {
	sink := smssink.Start(t)
	s := notify.NewWebhookSMSSender(sink.URL(), nil)
	sms := notify.SMS{
		PhoneNumber: "13800138000", PhoneCountryCode: "+86", Channel: "CHANNEL_RESET_PASSWORD", Code: "123456",
		Text: notify.CodeSMSText("zh-CN", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute),
	}
	if err := s.SendSMS(context.Background(), sms); err != nil {
		t.Fatal(err)
	}
	m := sink.WaitFor(t, "+8613800138000", time.Second)
	var body map[string]any
	if err := json.Unmarshal(m.Raw, &body); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"channel", "code", "phoneCountryCode", "phoneNumber", "text"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	want := map[string]any{"phoneNumber": "13800138000", "phoneCountryCode": "+86", "channel": "CHANNEL_RESET_PASSWORD", "code": "123456", "text": sms.Text}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if ct := m.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestWebhookSMSSenderFailures(t *testing.T) {
	sink := smssink.Start(t)
	sink.SetFailures(1)
	s := notify.NewWebhookSMSSender(sink.URL()+"?token=S3CRET", nil)
	sms := notify.SMS{PhoneNumber: "13800138000", PhoneCountryCode: "+86", Channel: "CHANNEL_LOGIN", Code: "111111", Text: "t"}
	err := s.SendSMS(context.Background(), sms)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") || strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("err = %v", err)
	}
	if err := s.SendSMS(context.Background(), sms); err != nil {
		t.Fatal(err)
	}
	sink.WaitFor(t, "13800138000", time.Second)

	// Dead endpoint: an error, quickly, without the token.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err = notify.NewWebhookSMSSender("http://"+addr+"/sms?token=S3CRET", nil).SendSMS(context.Background(), sms)
	if err == nil || strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("dead endpoint: err = %v", err)
	}

	// Slow endpoint: the context bounds the wait.
	sink.SetDelay(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.SendSMS(ctx, sms); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow endpoint: err = %v", err)
	}
}

func TestParseSMSWebhookURL(t *testing.T) {
	if u, err := notify.ParseSMSWebhookURL(" https://sms.example.com/hook?key=x "); err != nil || u != "https://sms.example.com/hook?key=x" {
		t.Errorf("got %q, %v", u, err)
	}
	for _, in := range []string{"", "sms.example.com/hook", "ftp://h/x?key=S3CRET", "http:///x?key=S3CRET", "http://h/%zz?key=S3CRET"} {
		_, err := notify.ParseSMSWebhookURL(in)
		if err == nil || !strings.HasPrefix(err.Error(), "KEYHAVEN_SMS_WEBHOOK_URL: ") || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

func TestLogSendersShowTextOnlyAsDevelopmentWarning(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	e := notify.CodeEmail("en", "CHANNEL_LOGIN", "K", "135790", time.Minute)
	e.To = "alice@example.com"
	if err := notify.NewLogEmailSender(log).SendEmail(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := notify.NewLogSMSSender(log).SendSMS(context.Background(), notify.SMS{PhoneNumber: "13800138000", PhoneCountryCode: "+86", Code: "246802", Text: "code 246802"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, code := range []string{"135790", "246802"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["level"] != "WARN" || rec["dev_sender"] != true || !strings.Contains(rec["text"].(string), code) {
			t.Errorf("line %d: %v", i, rec)
		}
	}
	if strings.Contains(buf.String(), "alice@example.com") || strings.Contains(buf.String(), "13800138000") {
		t.Errorf("unmasked recipient: %s", buf.String())
	}
}

func TestOutboxMessageBuilders(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := notify.EmailMessage(notify.Email{To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "email" || !m.NotBefore.Equal(now) || !m.CreatedAt.Equal(now) || !m.ExpiresAt.Equal(now.Add(5*time.Minute)) {
		t.Errorf("%+v", m)
	}
	var e notify.Email
	if err := json.Unmarshal(m.Payload, &e); err != nil || e.To != "a@example.com" || e.HTML != "<p>h</p>" {
		t.Errorf("payload %s: %v", m.Payload, err)
	}
	// HTML is stored as it is, not as \u003cp\u003e: the outbox holds less.
	if !strings.Contains(string(m.Payload), `"html":"<p>h</p>"`) || strings.HasSuffix(string(m.Payload), "\n") {
		t.Errorf("payload %q", m.Payload)
	}
	m, err = notify.SMSMessage(notify.SMS{PhoneNumber: "13800138000", PhoneCountryCode: "+86", Code: "1", Text: "t"}, now, time.Minute)
	if err != nil || m.Kind != "sms" || !strings.Contains(string(m.Payload), `"phoneCountryCode":"+86"`) {
		t.Errorf("%+v %s: %v", m, m.Payload, err)
	}
	if _, err := notify.EmailMessage(notify.Email{}, now, time.Minute); err == nil {
		t.Error("email without recipient: no error")
	}
	if _, err := notify.SMSMessage(notify.SMS{PhoneNumber: "1"}, now, 0); err == nil {
		t.Error("zero ttl: no error")
	}
}
