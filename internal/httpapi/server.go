// Package httpapi serves the GenAuth V3 authentication API and the OIDC
// endpoints over HTTP. Handlers decode, call one service method and write
// the envelope; they never touch SQL or crypto.
package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/keyring"
	"github.com/keyhaven/keyhaven/internal/recovery"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Version is the server version reported by /api/v3/system.
var Version = "0.1.0"

// Options wires a Server.
type Options struct {
	Store          store.Store
	Accounts       *account.Service
	Recovery       *recovery.Service
	Sessions       *session.Service
	Keys           *keyring.Ring
	Logger         *slog.Logger
	Now            func() time.Time
	RateLimitPerIP int
	TrustedProxies []netip.Prefix
	Issuer         string
	// Extra mounts more handlers (the hosted page, metrics) on the mux.
	Extra func(mux *http.ServeMux)
	// Observe is called after each request with its route and status.
	Observe func(route string, status int, d time.Duration)
	// Outcome is called once per /api/v3 request that reached its handler
	// or was refused before it, with the envelope's statusCode and apiCode
	// (0 on success): business failures travel as HTTP 200, so Observe
	// cannot tell a failed sign-in from a good one.
	Outcome func(route string, statusCode, apiCode int)
}

// Server is the HTTP API.
type Server struct {
	st        store.Store
	accounts  *account.Service
	recovery  *recovery.Service
	sessions  *session.Service
	keys      *keyring.Ring
	log       *slog.Logger
	now       func() time.Time
	rateLimit int
	proxies   []netip.Prefix
	issuer    string
	observe   func(string, int, time.Duration)
	outcome   func(string, int, int)
	handler   http.Handler
	apps      appCache
}

// appCache remembers apps that exist for a few seconds: every /api/v3 call
// checks its x-authing-app-id, and apps are never deleted, so a hit cannot
// answer wrongly. Misses are not cached (an app created on another replica
// works at once), and client authentication reads the app afresh, so a
// changed secret is never checked against a cached one.
type appCache struct {
	mu sync.RWMutex
	m  map[string]cachedApp
}

type cachedApp struct {
	app     store.App
	expires time.Time
}

const appCacheTTL = 5 * time.Second

func (c *appCache) get(id string, now time.Time) (store.App, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	if !ok || now.After(e.expires) {
		return store.App{}, false
	}
	return e.app, true
}

func (c *appCache) put(a store.App, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedApp{}
	}
	c.m[a.ID] = cachedApp{app: a, expires: now.Add(appCacheTTL)}
}

// New builds the server and its routes.
func New(o Options) *Server {
	s := &Server{st: o.Store, accounts: o.Accounts, recovery: o.Recovery, sessions: o.Sessions, keys: o.Keys,
		log: o.Logger, now: o.Now, rateLimit: o.RateLimitPerIP, proxies: o.TrustedProxies, issuer: o.Issuer, observe: o.Observe, outcome: o.Outcome}
	mux := http.NewServeMux()
	methods := map[string]string{} // path → the method it takes
	api := func(pattern string, limited bool, h func(http.ResponseWriter, *http.Request) error) {
		method, path, _ := strings.Cut(pattern, " ")
		methods[path] = method
		mux.Handle(pattern, s.adapt(h, true, limited))
	}
	api("GET /api/v3/system", false, s.handleSystem)
	api("POST /api/v3/send-email", true, s.handleSendEmail)
	api("POST /api/v3/send-sms", true, s.handleSendSMS)
	api("POST /api/v3/verify-reset-password-request", true, s.handleVerifyResetPasswordRequest)
	api("POST /api/v3/reset-password", true, s.handleResetPassword)
	api("POST /api/v3/signup", true, s.handleSignUp)
	api("POST /api/v3/signin", false, s.handleSignIn) // limited inside: see options.clientIp
	api("GET /api/v3/get-profile", false, s.handleGetProfile)
	s.routesUser(api)
	mux.HandleFunc("/api/v3/", func(w http.ResponseWriter, r *http.Request) {
		// HTTP 200 like every envelope failure: the official SDK would
		// throw on a 404 instead of handing its caller the statusCode. The
		// access log says so; the metrics count no reply of an unknown route.
		if sw, ok := w.(*statusWriter); ok {
			sw.statusCode, sw.apiCode = 404, apierr.CodeNotFound
		}
		msg := "no such endpoint: " + r.Method + " " + r.URL.Path
		if m, ok := methods[r.URL.Path]; ok {
			msg = r.URL.Path + " takes " + m + ", not " + r.Method
		}
		writeJSON(w, http.StatusOK, envelope{StatusCode: 404, Message: msg, APICode: apierr.CodeNotFound, RequestID: requestID(r.Context())})
	})
	s.routesOIDC(mux)
	if o.Extra != nil {
		o.Extra(mux)
	}
	s.handler = s.middleware(mux)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type statusWriter struct {
	http.ResponseWriter
	status int
	// statusCode and apiCode are the envelope's, for the access log: a
	// business failure goes out as HTTP 200.
	statusCode, apiCode int
}

// outcomeOf records an /api/v3 reply's envelope status for the access log
// and the metrics.
func (s *Server) outcomeOf(w http.ResponseWriter, r *http.Request, statusCode, apiCode int) {
	if sw, ok := w.(*statusWriter); ok {
		sw.statusCode, sw.apiCode = statusCode, apiCode
	}
	if s.outcome != nil {
		s.outcome(r.Pattern, statusCode, apiCode)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// middleware: request id, body limit, panic recovery, access log.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(contextWithRequestID(r.Context(), id))
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		sw := &statusWriter{ResponseWriter: w}
		w.Header().Set("X-Request-Id", id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", id, "route", r.Pattern, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			d := time.Since(start)
			s.logRequest(r, sw, float64(d.Microseconds())/1000)
			if s.observe != nil {
				s.observe(r.Pattern, sw.status, d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// adapt turns an error-returning handler into an http.Handler. needApp checks
// x-authing-app-id; limited applies the per-IP limit.
func (s *Server) adapt(h func(http.ResponseWriter, *http.Request) error, needApp, limited bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if needApp {
			app, err := s.app(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = r.WithContext(contextWithApp(r.Context(), app))
		}
		if limited {
			if err := s.limit(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.outcomeOf(w, r, http.StatusOK, 0)
	})
}

var errNoApp = apierr.New(400, apierr.CodeAppUnknown, "x-authing-app-id header is missing or names no application")

func (s *Server) app(r *http.Request) (store.App, error) {
	id := r.Header.Get("x-authing-app-id")
	if id == "" || len(id) > 128 {
		return store.App{}, errNoApp
	}
	now := time.Now()
	if a, ok := s.apps.get(id, now); ok {
		return a, nil
	}
	a, err := s.st.GetApp(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return a, errNoApp
	}
	if err == nil {
		s.apps.put(a, now)
	}
	return a, err
}

var errRate = apierr.New(429, apierr.CodeRateLimited, "too many requests from this address: try again in a minute")

// limit counts the request against its client address in a fixed one-minute
// window kept in the database, so every replica counts together.
func (s *Server) limit(r *http.Request) error { return s.limitIP(r, s.clientIP(r)) }

// limitIP is limit for the client address ip.
func (s *Server) limitIP(r *http.Request, ip string) error {
	if s.rateLimit <= 0 {
		return nil
	}
	now := s.now()
	win := now.Truncate(time.Minute)
	n, err := s.st.Hit(r.Context(), "ip:"+limitKey(ip), win, win.Add(time.Minute))
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if n > s.rateLimit {
		return errRate
	}
	return nil
}

// limitKey is what the per-IP limit counts for a client address: an IPv6
// address by its /64, the least a provider hands one subscriber, so its
// 2^64 addresses share one budget; IPv4 (mapped or not) by the address.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// clientIP is the connection's address, or, when that address is a trusted
// proxy, the right-most X-Forwarded-For entry that is not one.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkClient authenticates the app when the request carries credentials
// (client_secret_post in the body or client_secret_basic in the header).
// Public clients send none; a client that sends some must send the right ones.
func (s *Server) checkClient(r *http.Request, app store.App, postID, postSecret string) (proven bool, err error) {
	id, secret := postID, postSecret
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id == "" && secret == "" {
		return false, nil
	}
	if fresh, err := s.st.GetApp(r.Context(), app.ID); err == nil {
		app = fresh // never check a secret against a cached app
	}
	if !secretMatches(app, id, secret) {
		return false, apierr.New(401, apierr.CodeBadClient, "client authentication failed: client_id or client_secret is wrong")
	}
	return true, nil
}

// secretMatches reports whether id and secret are app's, in constant time
// over the secret.
func secretMatches(app store.App, id, secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return id == app.ID && subtle.ConstantTimeCompare(sum[:], app.SecretHash) == 1
}
