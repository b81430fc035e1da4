package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is the SMTP server the load test points Keyhaven at. It speaks real
// SMTP, pulls the code out of each message and hands it to whoever said it
// expected a code for that address. It keeps no message: a long run must
// not grow with what it received.
type sink struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	expects map[string][]*expectation // recipient (lower case) → oldest first

	codes      atomic.Int64 // code messages received
	notices    atomic.Int64 // messages without a code (password-changed notices)
	unexpected atomic.Int64 // codes nobody was waiting for
}

// expectation is one code request waiting for its message.
type expectation struct {
	sent time.Time
	code chan string // buffered: delivery never blocks
	lat  *recorder   // where the request-to-inbox time goes; may be nil
}

func startSink(ln net.Listener) *sink {
	s := &sink{ln: ln, expects: map[string][]*expectation{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "loadtest.keyhaven.invalid"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s
}

// URL is the KEYHAVEN_SMTP_URL that makes a server send here.
func (s *sink) URL() string {
	return "smtp://" + s.ln.Addr().String() + "?from=loadtest%40example.com&tls=none"
}

func (s *sink) close() { _ = s.srv.Close() }

// expect registers a code request to addr made at sent; the code arrives
// on the returned expectation's channel. lat, if not nil, receives the
// time from sent to the message's arrival.
func (s *sink) expect(addr string, sent time.Time, lat *recorder) *expectation {
	e := &expectation{sent: sent, code: make(chan string, 1), lat: lat}
	k := strings.ToLower(addr)
	s.mu.Lock()
	s.expects[k] = append(s.expects[k], e)
	s.mu.Unlock()
	return e
}

// cancel withdraws e (its request was refused: no message will come).
func (s *sink) cancel(addr string, e *expectation) {
	k := strings.ToLower(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.expects[k]
	for i, x := range q {
		if x == e {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(s.expects, k)
	} else {
		s.expects[k] = q
	}
}

// pending is the number of code requests still waiting for their message.
func (s *sink) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.expects {
		n += len(q)
	}
	return n
}

// waitCode waits for e's code.
func (e *expectation) wait(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c := <-e.code:
		return c, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", errors.New("no code arrived within " + timeout.String())
	}
}

func (s *sink) deliver(rcpts []string, raw []byte, at time.Time) {
	code := codeOf(raw)
	if code == "" {
		s.notices.Add(1)
		return
	}
	s.codes.Add(1)
	for _, r := range rcpts {
		k := strings.ToLower(r)
		s.mu.Lock()
		q := s.expects[k]
		var e *expectation
		if len(q) > 0 {
			e = q[0]
			if len(q) == 1 {
				delete(s.expects, k)
			} else {
				s.expects[k] = q[1:]
			}
		}
		s.mu.Unlock()
		if e == nil {
			s.unexpected.Add(1)
			continue
		}
		if e.lat != nil {
			e.lat.add(at.Sub(e.sent))
		}
		e.code <- code
	}
}

type sinkSession struct {
	sink *sink
	to   []string
}

func (se *sinkSession) AuthMechanisms() []string { return nil }

func (se *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (se *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.sink.deliver(se.to, raw, time.Now())
	return nil
}

func (se *sinkSession) Reset() { se.to = nil }

func (se *sinkSession) Logout() error { return nil }

var sixDigits = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// codeOf returns the first run of exactly six digits in the message's
// plain-text body (the only body if it is not multipart), or "".
func codeOf(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	text := textPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
	if g := sixDigits.FindStringSubmatch(text); g != nil {
		return g[1]
	}
	return ""
}

// textPart returns the decoded first text/plain part under a message or
// multipart part.
func textPart(contentType, encoding string, body io.Reader, depth int) string {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || depth > 5 {
		return ""
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return ""
			}
			if t := textPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); t != "" {
				return t
			}
		}
	}
	if mediaType != "text/plain" {
		return ""
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, _ := io.ReadAll(io.LimitReader(body, 1<<20))
	return string(b)
}
