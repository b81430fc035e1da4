package mailsink_test

import (
	"context"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testkit/mailsink"
)

// A base64, nested multipart message sent with the standard library's
// client: the sink decodes what any client sends, not only go-mail.
const nested = "From: a@example.com\r\n" +
	"To: b@example.com\r\n" +
	"Subject: =?UTF-8?B?6YeN572u5a+G56CB?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"6aqM6K+B56CB5Li677yaCiAgICAxMjM0NTYK\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<p style=3D\"x\">123456</p>\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n"

func TestSinkDecodesAndHandsOutMessagesOnce(t *testing.T) {
	sink := mailsink.Start(t)
	for range 2 {
		if err := smtp.SendMail(sink.Addr(), nil, "a@example.com", []string{"B@example.com"}, []byte(nested)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		m := sink.WaitFor(t, "b@example.com", time.Second)
		if m.Subject != "重置密码" || m.Text != "验证码为：\n    123456\n" || m.HTML != `<p style="x">123456</p>` || m.Code() != "123456" {
			t.Errorf("%+v", m)
		}
	}
	if _, err := sink.Next(context.Background(), "b@example.com", 50*time.Millisecond); err == nil {
		t.Error("a third message from two sends")
	}
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("Messages() = %d", n)
	}
}

func TestSinkFailuresAndURL(t *testing.T) {
	sink := mailsink.Start(t)
	sink.SetFailures(1)
	err := smtp.SendMail(sink.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(nested))
	if err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("err = %v, want 451", err)
	}
	if err := smtp.SendMail(sink.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(nested)); err != nil {
		t.Fatal(err)
	}
	if u := sink.URL(); !strings.HasPrefix(u, "smtp://127.0.0.1:") || !strings.Contains(u, "tls=none") || !strings.Contains(u, "from=no-reply%40keyhaven.test") {
		t.Errorf("URL() = %q", u)
	}
	if u := mailsink.Start(t, mailsink.WithImplicitTLS(), mailsink.WithAuth("u", "p w")).URL(); !strings.Contains(u, "tls=tls") || !strings.Contains(u, "u:p%20w@") {
		t.Errorf("URL() = %q", u)
	}
}

func TestCode(t *testing.T) {
	for text, want := range map[string]string{
		"code 123456.":            "123456",
		"1234567 then 654321":     "654321",
		"2025-06-01 12345 000001": "000001",
		"none here 12345":         "",
	} {
		if got := (mailsink.Message{Text: text}).Code(); got != want {
			t.Errorf("Code(%q) = %q, want %q", text, got, want)
		}
	}
}
