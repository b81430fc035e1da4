// Package mailsink is an SMTP server for tests. It speaks real SMTP over
// loopback TCP (github.com/emersion/go-smtp), keeps every message it accepts,
// and decodes them (MIME multipart, quoted-printable, base64, encoded-word
// subjects) so a test can read the code a user would have read.
//
// It can refuse messages with a 451 or answer slowly, for retry and backoff
// tests, and can offer STARTTLS, implicit TLS and AUTH PLAIN.
package mailsink

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultFrom is the sender address URL puts in its from= parameter.
const DefaultFrom = "no-reply@keyhaven.test"

// Message is one accepted message.
type Message struct {
	From       string   // envelope sender (MAIL FROM)
	To         []string // envelope recipients (RCPT TO)
	Header     mail.Header
	Subject    string // decoded
	Text       string // decoded text/plain part
	HTML       string // decoded text/html part
	Raw        []byte // the message as received after DATA
	ReceivedAt time.Time
}

var codePattern = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// Code returns the first number of exactly six digits in the text body (the
// HTML body if there is no text), or "" if there is none.
func (m Message) Code() string {
	body := m.Text
	if body == "" {
		body = m.HTML
	}
	if g := codePattern.FindStringSubmatch(body); g != nil {
		return g[1]
	}
	return ""
}

// Option configures Start.
type Option func(*config)

type config struct {
	tls      string // "none", "starttls", "tls"
	user     string
	password string
}

// WithSTARTTLS makes the sink offer STARTTLS with a self-signed certificate
// for 127.0.0.1 (clients trust it through TLSConfig).
func WithSTARTTLS() Option { return func(c *config) { c.tls = "starttls" } }

// WithImplicitTLS makes the sink speak TLS from the first byte (port-465
// style) with a self-signed certificate for 127.0.0.1.
func WithImplicitTLS() Option { return func(c *config) { c.tls = "tls" } }

// WithAuth makes the sink offer AUTH PLAIN and require it before MAIL FROM.
// Over a plain connection the credentials are accepted too (loopback only).
func WithAuth(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// Sink is a running SMTP server on 127.0.0.1.
type Sink struct {
	cfg       config
	srv       *smtp.Server
	ln        net.Listener
	clientTLS *tls.Config
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever msgs grows
	msgs     []Message
	taken    []bool
	failures int
	filtered int
	delay    time.Duration
	conns    int
	open     map[net.Conn]bool
}

// Start starts a sink on 127.0.0.1:0; it is closed by t.Cleanup.
func Start(t testing.TB, opts ...Option) *Sink {
	t.Helper()
	s := &Sink{cfg: config{tls: "none"}, done: make(chan struct{}), changed: make(chan struct{}), open: map[net.Conn]bool{}}
	for _, o := range opts {
		o(&s.cfg)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "mailsink.test"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.EnableSMTPUTF8 = true
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)

	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailsink: listen: %v", err)
	}
	var ln net.Listener = listener{Listener: tcp, sink: s}
	if s.cfg.tls != "none" {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			ln.Close()
			t.Fatalf("mailsink: certificate: %v", err)
		}
		s.clientTLS = clientTLS
		if s.cfg.tls == "starttls" {
			srv.TLSConfig = serverTLS
		} else {
			ln = tls.NewListener(ln, serverTLS)
		}
	}
	s.srv, s.ln = srv, ln
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and drops open connections. Safe to call twice;
// after it the port refuses connections.
func (s *Sink) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.srv.Close()
	})
}

// Addr returns host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL returns a KEYHAVEN_SMTP_URL for this sink: its address, the tls mode
// it speaks, its credentials if WithAuth was given, and from=DefaultFrom.
func (s *Sink) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.password)
	}
	q := url.Values{}
	q.Set("from", DefaultFrom)
	q.Set("tls", s.cfg.tls)
	u.RawQuery = q.Encode()
	return u.String()
}

// TLSConfig returns a client configuration that trusts the sink's
// certificate, or nil if the sink speaks no TLS.
func (s *Sink) TLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// SetFailures makes the sink answer the next n messages' DATA with
// "451 4.3.0" (a temporary failure), discarding them.
func (s *Sink) SetFailures(n int) {
	s.mu.Lock()
	s.failures = n
	s.mu.Unlock()
}

// SetContentFilter makes the sink refuse the next n messages carrying a
// code with "554 5.7.1", quoting the code as a content filter quotes the
// line it objected to: what a sender's error may carry into a log.
func (s *Sink) SetContentFilter(n int) {
	s.mu.Lock()
	s.filtered = n
	s.mu.Unlock()
}

// SetDelay makes the sink wait d after receiving each message before it
// answers DATA (a slow server). Close interrupts the wait.
func (s *Sink) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Connections returns how many TCP connections the sink has accepted.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// DropConnections closes every open client connection from the server
// side without a word, as a server restart or an idle timeout would.
func (s *Sink) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.open {
		c.Close()
		delete(s.open, c)
	}
}

// Messages returns a copy of every accepted message, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor returns the oldest accepted message to recipient to
// (case-insensitive) that no earlier WaitFor returned, waiting up to timeout
// for one to arrive. It fails the test on timeout, so call it from the test's
// own goroutine.
func (s *Sink) WaitFor(t testing.TB, to string, timeout time.Duration) Message {
	t.Helper()
	m, err := s.Next(context.Background(), to, timeout)
	if err != nil {
		t.Fatalf("mailsink: %v", err)
	}
	return m
}

// Next is WaitFor for code that cannot fail a test (benchmarks' helpers,
// goroutines): it returns an error instead.
func (s *Sink) Next(ctx context.Context, to string, timeout time.Duration) (Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.taken[i] && hasRecipient(m.To, to) {
				s.taken[i] = true
				s.mu.Unlock()
				return m, nil
			}
		}
		changed := s.changed
		var seen []string
		for _, m := range s.msgs {
			seen = append(seen, strings.Join(m.To, ","))
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-timer.C:
			return Message{}, fmt.Errorf("no new message to %s within %v (received so far: %d, to %v)", to, timeout, len(seen), seen)
		}
	}
}

func hasRecipient(rcpts []string, to string) bool {
	for _, r := range rcpts {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{sink: s, authed: s.cfg.user == ""}, nil
}

func (s *Sink) store(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.taken = append(s.taken, false)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

type session struct {
	sink   *Sink
	authed bool
	from   string
	to     []string
}

func (se *session) AuthMechanisms() []string {
	if se.sink.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || se.sink.cfg.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if (identity != "" && identity != user) || user != se.sink.cfg.user || password != se.sink.cfg.password {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.sink
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.done:
			return errors.New("mailsink closed")
		}
	}
	s.mu.Lock()
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailsink: try again later"}
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailsink: " + err.Error()}
	}
	s.mu.Lock()
	filter := s.filtered > 0 && m.Code() != ""
	if filter {
		s.filtered--
	}
	s.mu.Unlock()
	if filter {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("mailsink: rejected by content filter: line 5: %q", "    "+m.Code())}
	}
	m.From, m.To, m.ReceivedAt = se.from, append([]string(nil), se.to...), time.Now()
	s.store(m)
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// listener counts and remembers accepted connections.
type listener struct {
	net.Listener
	sink *Sink
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := l.sink
	s.mu.Lock()
	s.conns++
	for o := range s.open { // forget closed ones
		if o.(*trackedConn).closed.Load() {
			delete(s.open, o)
		}
	}
	tc := &trackedConn{Conn: c}
	s.open[tc] = true
	s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// Parse decodes a raw RFC 5322 message: the subject (RFC 2047 words) and the
// first text/plain and text/html parts, through nested multiparts and
// quoted-printable or base64 transfer encodings. Envelope fields stay empty.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("parse message: %w", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("decode subject: %w", err)
	}
	m := Message{Header: msg.Header, Subject: subject, Raw: raw}
	err = walkPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m, err
}

func walkPart(m *Message, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walkPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("unknown transfer encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decode %s body: %w", mediaType, err)
	}
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = string(b)
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
	return nil
}

// selfSigned makes a short-lived certificate for 127.0.0.1 and localhost,
// and a client configuration that trusts exactly it.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailsink"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}
