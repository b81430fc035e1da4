package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// EmailSender delivers one email. Implementations are safe for concurrent
// use and stop when ctx is done. An error wrapped with Permanent means no
// retry can succeed.
type EmailSender interface {
	SendEmail(ctx context.Context, e Email) error
}

// SMTPEnv is the setting SMTP configuration errors name.
const SMTPEnv = "KEYHAVEN_SMTP_URL"

// TLSMode is how the SMTP connection is encrypted.
type TLSMode string

// TLS modes of KEYHAVEN_SMTP_URL's tls= parameter.
const (
	// TLSNone: plain text; STARTTLS is not used even if offered. For a relay
	// on the same host or a development sink only.
	TLSNone TLSMode = "none"
	// TLSStartTLS: connect in plain text and upgrade with STARTTLS; fail if
	// the server does not offer it (no silent downgrade). The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit: TLS from the first byte (port 465, RFC 8314).
	TLSImplicit TLSMode = "tls"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	From     string // the sender, "no-reply@example.com" or "Name <addr>"
	TLS      TLSMode
	// TLSConfig, if set, is used for STARTTLS and implicit TLS (a private CA,
	// or a test server's certificate); its ServerName defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command (default 10s); the
	// context given to SendEmail bounds the whole send.
	Timeout time.Duration
	// MaxIdle is how many connections are kept open between sends (default
	// 4). Set it to the sends in flight: with fewer, a busy worker dials
	// and greets the server again for most messages.
	MaxIdle int
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "redacted")
	}
	q := url.Values{}
	q.Set("from", c.From)
	q.Set("tls", string(c.TLS))
	u.RawQuery = q.Encode()
	return u.String()
}

// LogValue keeps the password out of structured logs.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// loopback reports whether host is this machine, where a password may go
// without TLS.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseSMTPURL parses KEYHAVEN_SMTP_URL:
//
//	smtp://[user:pass@]host[:port]?from=addr[&tls=none|starttls|tls]
//
// tls defaults to starttls; the port to 465 for tls, 587 for starttls and 25
// for none. User name and password are percent-encoded. from may be omitted
// when the user name is an email address. Errors name KEYHAVEN_SMTP_URL and
// never contain the password.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	const usage = "want smtp://[user:pass@]host:port?from=addr&tls=none|starttls|tls"
	fail := func(format string, args ...any) (SMTPConfig, error) {
		return SMTPConfig{}, fmt.Errorf(SMTPEnv+": "+format, args...)
	}
	if strings.TrimSpace(s) == "" {
		return fail("empty (%s)", usage)
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, password included: report only the
		// reason, and not even that when it may quote part of the userinfo.
		reason := "not a valid URL"
		var ue *url.Error
		if errors.As(err, &ue) && !strings.Contains(ue.Err.Error(), "escape") {
			reason = ue.Err.Error()
		} else if errors.As(err, &ue) {
			reason = "bad percent-escape (percent-encode special characters in the user name and password)"
		}
		return fail("%s (%s)", reason, usage)
	}
	if u.Scheme != "smtp" {
		hint := ""
		if u.Scheme == "smtps" {
			hint = "; for implicit TLS use smtp://...&tls=tls"
		}
		return fail("scheme %q, want smtp%s (%s)", u.Scheme, hint, usage)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return fail("unexpected path or fragment (%s)", usage)
	}
	cfg := SMTPConfig{Host: u.Hostname(), TLS: TLSStartTLS, Timeout: 10 * time.Second}
	if cfg.Host == "" {
		return fail("missing host (%s)", usage)
	}
	q := u.Query()
	for k := range q {
		if k != "from" && k != "tls" {
			return fail("unknown parameter %q (%s)", k, usage)
		}
	}
	if v, ok := q["tls"]; ok {
		switch m := TLSMode(strings.ToLower(v[len(v)-1])); m {
		case TLSNone, TLSStartTLS, TLSImplicit:
			cfg.TLS = m
		default:
			return fail("tls=%q, want none, starttls or tls", v[len(v)-1])
		}
	}
	switch p := u.Port(); {
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail("bad port %q", p)
		}
		cfg.Port = n
	case cfg.TLS == TLSImplicit:
		cfg.Port = 465
	case cfg.TLS == TLSStartTLS:
		cfg.Port = 587
	default:
		cfg.Port = 25
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return fail("empty user name before @")
		}
		if cfg.Password == "" {
			return fail("user name without a password")
		}
		if cfg.TLS == TLSNone && !loopback(cfg.Host) {
			// net/smtp's PLAIN and LOGIN refuse to send a password in the
			// clear except to this machine: say so now, not at every send.
			return fail("a user name and password need tls=starttls or tls unless the server is on this machine (localhost)")
		}
	}
	cfg.From = q.Get("from")
	if cfg.From == "" && strings.Contains(cfg.Username, "@") {
		cfg.From = cfg.Username
	}
	if cfg.From == "" {
		return fail("missing from= (the sender address, e.g. from=no-reply@example.com)")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return fail("from=%q is not an email address", cfg.From)
	}
	return cfg, nil
}

// SMTPSender sends email through one SMTP server with github.com/wneessen/go-mail.
//
// It keeps up to a few idle connections for the next messages instead of a
// TCP + TLS + AUTH handshake each. A message is MAIL, RCPT and DATA,
// without go-mail's NOOP and RSET around it (RFC 5321: a completed
// transaction needs no reset): four round trips instead of seven. If the
// server dropped an idle connection, the MAIL command fails before anything
// of the message went out, and the message is sent on a new connection. A
// connection that failed in any way is closed, never reused.
type SMTPSender struct {
	cfg  SMTPConfig
	from *mail.Address
	tls  *tls.Config

	mu     sync.Mutex
	idle   []*smtpConn
	closed bool
}

const (
	smtpMaxIdle     = 4                // when SMTPConfig.MaxIdle is unset
	smtpIdleTimeout = 30 * time.Second // well under the 5 minutes RFC 5321 lets servers wait
)

// NewSMTPSender returns a sender for cfg (from ParseSMTPURL). It does not
// connect: a wrong host shows up on the first send, in the Worker's log.
func NewSMTPSender(cfg SMTPConfig) *SMTPSender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = smtpMaxIdle
	}
	s := &SMTPSender{cfg: cfg}
	s.from, _ = mail.ParseAddress(cfg.From)
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = cfg.Host
	}
	if s.tls.MinVersion == 0 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	return s
}

func (s *SMTPSender) addr() string {
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
}

// SendEmail delivers e, within ctx.
func (s *SMTPSender) SendEmail(ctx context.Context, e Email) error {
	if s.from == nil {
		return Permanent(fmt.Errorf("smtp: bad sender address %q", s.cfg.From))
	}
	msg, err := s.message(e)
	if err != nil {
		return err
	}
	for {
		c, reused, err := s.conn(ctx)
		if err != nil {
			return fmt.Errorf("smtp %s (tls=%s): %w", s.addr(), s.cfg.TLS, err)
		}
		err = c.send(ctx, msg)
		if err == nil {
			s.release(c)
			return nil
		}
		c.close()
		if reused && isStale(err) && ctxErr(ctx) == nil {
			continue // the server dropped the idle connection; nothing was sent
		}
		err = fmt.Errorf("smtp %s: %w", s.addr(), err)
		if isRejection(err) {
			return Permanent(err)
		}
		return err
	}
}

// Close closes the idle connections; later sends fail.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

func (s *SMTPSender) message(e Email) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(s.from)
	if err := m.To(e.To); err != nil {
		return nil, Permanent(fmt.Errorf("smtp: bad recipient address: %w", err))
	}
	m.Subject(e.Subject)
	m.SetDate()
	m.SetMessageIDWithValue(messageID(s.from.Address))
	// RFC 3834: no vacation auto-replies to a code mail.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	return m, nil
}

func messageID(from string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	domain := "keyhaven.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at+1 < len(from) {
		domain = from[at+1:]
	}
	return hex.EncodeToString(b[:]) + "@" + domain
}

// conn returns an idle connection (reused=true) or dials a new one.
func (s *SMTPSender) conn(ctx context.Context) (c *smtpConn, reused bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, errors.New("sender closed")
	}
	for len(s.idle) > 0 {
		c = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(c.idleSince) < smtpIdleTimeout {
			s.mu.Unlock()
			return c, true, nil
		}
		go c.quit()
	}
	s.mu.Unlock()
	c, err = s.dial(ctx)
	return c, false, err
}

func (s *SMTPSender) release(c *smtpConn) {
	c.idleSince = time.Now()
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.cfg.MaxIdle {
		s.idle = append(s.idle, c)
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		c.quit()
	}
}

// smtpConn is one SMTP session.
type smtpConn struct {
	client    *gomail.Client
	smtp      *smtp.Client
	raw       *ctxConn
	timeout   time.Duration
	idleSince time.Time
}

func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	c := &smtpConn{timeout: s.cfg.Timeout}
	dialer := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.cfg.Timeout}
		tcp, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		// Bound everything after the dial by the send's ctx, not dctx (go-mail
		// cancels dctx as soon as the dial returns).
		c.raw = newCtxConn(tcp)
		c.raw.bind(ctx)
		if s.cfg.TLS != TLSImplicit {
			return c.raw, nil
		}
		tc := tls.Client(c.raw, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			tc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		// A *tls.Conn, so the SMTP client knows it is encrypted and AUTH
		// PLAIN/LOGIN may send the password.
		return tc, nil
	}
	policy := gomail.NoTLS // also for implicit TLS: the dialer does it
	if s.cfg.TLS == TLSStartTLS {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(s.tls),
		gomail.WithDialContextFunc(dialer),
		gomail.WithoutNoop(), // a dropped connection fails at MAIL instead
		gomail.WithoutRset(),
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&pickAuth{user: s.cfg.Username, pass: s.cfg.Password, host: s.cfg.Host}))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if c.raw != nil {
			c.raw.unbind()
			c.raw.Close()
		}
		if cerr := ctxErr(ctx); cerr != nil {
			return nil, fmt.Errorf("connect: %w (%w)", cerr, err)
		}
		if s.cfg.TLS == TLSStartTLS && strings.Contains(err.Error(), "does not support STARTTLS") {
			return nil, fmt.Errorf("the server does not offer STARTTLS, which tls=starttls requires "+
				"(for a port-465 server use tls=tls; tls=none sends mail unencrypted): %w", err)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	c.raw.unbind()
	c.client, c.smtp = client, sc
	return c, nil
}

func (c *smtpConn) send(ctx context.Context, m *gomail.Msg) error {
	c.raw.bind(ctx)
	defer c.raw.unbind()
	// The deadline left from the last use has likely passed while the
	// connection sat idle.
	if err := c.raw.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return &gomail.SendError{Reason: gomail.ErrConnCheck}
	}
	err := c.client.SendWithSMTPClient(c.smtp, m)
	if cerr := ctxErr(ctx); err != nil && cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// ctxErr is ctx.Err(), counting a deadline as passed from the instant it
// passes: the connection's I/O deadline (the same instant) may fire before
// the context's own timer does.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// quit says goodbye politely, within a short time.
func (c *smtpConn) quit() {
	_ = c.raw.SetDeadline(time.Now().Add(2 * time.Second))
	_ = c.smtp.Quit()
	c.raw.Close()
}

func (c *smtpConn) close() { c.raw.Close() }

// isStale reports whether err is a pooled connection found dead before
// anything of the message was sent: the MAIL command failed without a reply
// or with 421 (the server closing), or the connection could not be used.
func isStale(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck:
		return true
	case gomail.ErrSMTPMailFrom:
		return se.ErrorCode() == 0 || se.ErrorCode() == 421
	}
	return false
}

// isRejection reports whether the server refused the recipient for good
// (5xx to RCPT TO): retrying cannot help.
func isRejection(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp()
}

// ctxConn is a net.Conn whose deadlines never reach past the bound
// context's, and which unblocks at once when that context ends, whatever
// deadlines go-mail sets meanwhile.
type ctxConn struct {
	net.Conn
	mu    sync.Mutex
	limit time.Time // the bound context's deadline, zero if none
	dead  bool      // the bound context is done
	stop  func() bool
}

func newCtxConn(c net.Conn) *ctxConn { return &ctxConn{Conn: c} }

var longAgo = time.Unix(1, 0)

func (c *ctxConn) bind(ctx context.Context) {
	c.mu.Lock()
	c.limit, _ = ctx.Deadline()
	c.dead = false
	c.mu.Unlock()
	c.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.dead = true
		_ = c.Conn.SetDeadline(longAgo)
		c.mu.Unlock()
	})
}

func (c *ctxConn) unbind() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.mu.Lock()
	c.limit, c.dead = time.Time{}, false
	c.mu.Unlock()
}

func (c *ctxConn) clamp(t time.Time) time.Time {
	if c.dead {
		return longAgo
	}
	if !c.limit.IsZero() && (t.IsZero() || t.After(c.limit)) {
		return c.limit
	}
	return t
}

func (c *ctxConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

func (c *ctxConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *ctxConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// pickAuth chooses the strongest mechanism the server offers among the
// ones we speak. PLAIN and LOGIN refuse to send the password over an
// unencrypted connection except to localhost (go-mail's check), so
// tls=none with credentials works only with a challenge-response mechanism
// or a local relay.
type pickAuth struct {
	user, pass, host string
	chosen           smtp.Auth
}

func (a *pickAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	offered := map[string]bool{}
	for _, m := range server.Auth {
		offered[strings.ToUpper(m)] = true
	}
	switch {
	case offered["SCRAM-SHA-256"]:
		a.chosen = smtp.ScramSHA256Auth(a.user, a.pass)
	case offered["SCRAM-SHA-1"]:
		a.chosen = smtp.ScramSHA1Auth(a.user, a.pass)
	case offered["PLAIN"]:
		a.chosen = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case offered["LOGIN"]:
		a.chosen = smtp.LoginAuth(a.user, a.pass, a.host, false)
	case offered["CRAM-MD5"]:
		a.chosen = smtp.CRAMMD5Auth(a.user, a.pass)
	default:
		return "", nil, fmt.Errorf("server offers no AUTH mechanism we speak (offered %q; we speak SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN, CRAM-MD5)", server.Auth)
	}
	return a.chosen.Start(server)
}

func (a *pickAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
