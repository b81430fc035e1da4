// Package session issues, checks, refreshes and ends sign-in sessions. Access
// tokens are JWTs (ES256 unless the operator chooses RS256) naming a
// server-side session (sid), so ending a session ends its tokens at once, on
// every replica.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Service manages sessions.
type Service struct {
	verified   verifiedCache
	st         store.Sessions
	signer     *token.Signer
	accessAlg  token.Alg
	pepper     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
}

// NewService returns a Service that signs access tokens with accessAlg and
// id tokens with RS256.
func NewService(st store.Sessions, signer *token.Signer, accessAlg token.Alg, pepper []byte, accessTTL, refreshTTL time.Duration, now func() time.Time) *Service {
	return &Service{st: st, signer: signer, accessAlg: accessAlg, pepper: pepper, accessTTL: accessTTL, refreshTTL: refreshTTL, now: now}
}

// TokenSet is what sign-in and refresh answer (LoginTokenResponseDataDto).
// expire_in is the Node SDK's spelling; expires_in the RFC's: both are sent.
type TokenSet struct {
	Scope        string `json:"scope,omitempty"`
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpireIn     int    `json:"expire_in"`
	ExpiresIn    int    `json:"expires_in"`
}

// AccessClaims are an access token's claims.
type AccessClaims struct {
	token.Common
	SessionID string `json:"sid"`
	Scope     string `json:"scope,omitempty"`
	AppID     string `json:"azp,omitempty"`
}

// IDClaims are OIDC standard claims for the id token, by scope.
type IDClaims struct {
	token.Common
	SessionID           string `json:"sid,omitempty"`
	Nonce               string `json:"nonce,omitempty"`
	Email               string `json:"email,omitempty"`
	EmailVerified       *bool  `json:"email_verified,omitempty"`
	PhoneNumber         string `json:"phone_number,omitempty"`
	PhoneNumberVerified *bool  `json:"phone_number_verified,omitempty"`
	Username            string `json:"username,omitempty"`
	Name                string `json:"name,omitempty"`
	Nickname            string `json:"nickname,omitempty"`
	Picture             string `json:"picture,omitempty"`
	UpdatedAt           int64  `json:"updated_at,omitempty"`
}

// Claims holds the user facts an id token may carry.
type Claims struct {
	Email, Phone, Username, Name, Nickname, Picture string
	EmailVerified, PhoneVerified                    bool
	UpdatedAt                                       time.Time
}

// Principal is who an access token speaks for.
type Principal struct {
	UserID    string
	SessionID string
	AppID     string
	Scope     string
}

// ErrUnauthorized is the answer to any token that is not a live session's.
var ErrUnauthorized = apierr.New(401, apierr.CodeUnauthorized, "access token is missing, invalid or expired")

// NewID returns a random 24-hex-character identifier (GenAuth ids look alike).
func NewID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) hashRefresh(raw string) []byte {
	m := hmac.New(sha256.New, s.pepper)
	m.Write([]byte("refresh\x00" + raw))
	return m.Sum(nil)
}

// DefaultScope is used when a client names none.
const DefaultScope = "openid profile"

// Start opens a session for userID in appID and returns its tokens.
// credVersion is the user's store.User.CredVersion read with the password
// or code the sign-in checked: a password change since then ends the
// session at once.
func (s *Service) Start(ctx context.Context, userID string, credVersion int64, appID, scope string, c Claims) (TokenSet, error) {
	if scope == "" {
		scope = DefaultScope
	}
	now := s.now()
	sess := store.Session{ID: NewID(), UserID: userID, AppID: appID, Scope: scope, CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL),
		CredVersion: credVersion}
	refresh := newSecret()
	rt := store.RefreshToken{TokenHash: s.hashRefresh(refresh), SessionID: sess.ID, UserID: userID, CreatedAt: now, ExpiresAt: sess.ExpiresAt}
	if err := s.st.CreateSession(ctx, sess, &rt); err != nil {
		return TokenSet{}, fmt.Errorf("session: start: %w", err)
	}
	return s.tokens(sess, scope, refresh, c, now)
}

func (s *Service) tokens(sess store.Session, scope, refresh string, c Claims, now time.Time) (TokenSet, error) {
	access, err := s.signer.Sign(s.accessAlg, AccessClaims{
		Common:    s.signer.NewCommon(sess.UserID, sess.AppID, NewID(), now, s.accessTTL),
		SessionID: sess.ID, Scope: scope, AppID: sess.AppID,
	})
	if err != nil {
		return TokenSet{}, fmt.Errorf("session: sign access token: %w", err)
	}
	idc := IDClaims{Common: s.signer.NewCommon(sess.UserID, sess.AppID, NewID(), now, s.accessTTL), SessionID: sess.ID}
	scopes := " " + scope + " "
	if strings.Contains(scopes, " email ") && c.Email != "" {
		idc.Email, idc.EmailVerified = c.Email, &c.EmailVerified
	}
	if strings.Contains(scopes, " phone ") && c.Phone != "" {
		idc.PhoneNumber, idc.PhoneNumberVerified = c.Phone, &c.PhoneVerified
	}
	if strings.Contains(scopes, " username ") {
		idc.Username = c.Username
	}
	if strings.Contains(scopes, " profile ") {
		idc.Name, idc.Nickname, idc.Picture = c.Name, c.Nickname, c.Picture
		if !c.UpdatedAt.IsZero() {
			idc.UpdatedAt = c.UpdatedAt.Unix()
		}
	}
	// OIDC Core §15.1: RS256 is the id token algorithm every relying party
	// supports, and the one discovery advertises.
	id, err := s.signer.Sign(token.RS256, idc)
	if err != nil {
		return TokenSet{}, fmt.Errorf("session: sign id token: %w", err)
	}
	ttl := int(s.accessTTL / time.Second)
	return TokenSet{Scope: scope, AccessToken: access, IDToken: id, RefreshToken: refresh, TokenType: "Bearer", ExpireIn: ttl, ExpiresIn: ttl}, nil
}

// Authenticate checks an access token (with or without "Bearer ") and that
// its session is still live.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	c, now, err := s.claims(raw)
	if err != nil {
		return Principal{}, err
	}
	// The session is read on every call, cache or not: ending it ends the
	// token at once, on every replica.
	sess, err := s.st.GetSession(ctx, c.SessionID)
	return s.principal(c, sess, now, err)
}

// AuthenticateUser is Authenticate for handlers that need the user too: it
// reads the session and the user together.
func (s *Service) AuthenticateUser(ctx context.Context, raw string) (Principal, store.User, error) {
	c, now, err := s.claims(raw)
	if err != nil {
		return Principal{}, store.User{}, err
	}
	sess, u, err := s.st.GetSessionUser(ctx, c.SessionID)
	p, err := s.principal(c, sess, now, err)
	if err != nil {
		return Principal{}, store.User{}, err
	}
	return p, u, nil
}

// claims verifies an access token's signature (or finds it verified
// before) and its expiry.
func (s *Service) claims(raw string) (AccessClaims, time.Time, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return AccessClaims{}, time.Time{}, ErrUnauthorized
	}
	now := s.now()
	c, ok := s.verified.get(raw)
	if !ok {
		// azp marks an access token: an id token names a session too, but it
		// is handed to clients to read, not to call the API with.
		if err := s.signer.Verify(raw, now, &c); err != nil || c.SessionID == "" || c.AppID == "" {
			return AccessClaims{}, now, ErrUnauthorized
		}
		s.verified.put(raw, c)
	}
	if c.Expiry == nil || !now.Before(c.Expiry.Time()) {
		return AccessClaims{}, now, ErrUnauthorized
	}
	return c, now, nil
}

// principal checks the session an access token names, as read from the
// store (err is the read's error).
func (s *Service) principal(c AccessClaims, sess store.Session, now time.Time, err error) (Principal, error) {
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("session: authenticate: %w", err)
	}
	if !sess.RevokedAt.IsZero() || !sess.ExpiresAt.After(now) || sess.UserID != c.Subject || sess.AppID != c.AppID {
		return Principal{}, ErrUnauthorized
	}
	return Principal{UserID: sess.UserID, SessionID: sess.ID, AppID: sess.AppID, Scope: c.Scope}, nil
}

// verifiedCache remembers access tokens whose signature checked out, so a
// busy client does not pay a signature verification and a JSON decode per
// request. A token's claims never change; expiry and the session are still
// checked every time. Bounded by emptying it when full.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]AccessClaims
}

const verifiedCacheMax = 20000

func (v *verifiedCache) get(raw string) (AccessClaims, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c, ok := v.m[raw]
	return c, ok
}

func (v *verifiedCache) put(raw string, c AccessClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= verifiedCacheMax {
		v.m = make(map[string]AccessClaims, 1024)
	}
	v.m[raw] = c
}

// Scopes are the scope values a session may hold (discovery's
// scopes_supported).
var Scopes = []string{"openid", "profile", "email", "phone", "username", "offline_access"}

// KnownScopes keeps the values of scope this server understands, once
// each, in order: OIDC Core §3.1.2.1 has others ignored, and a session
// stores only what it can grant.
func KnownScopes(scope string) string {
	var out []string
	for _, v := range strings.Fields(scope) {
		if slices.Contains(Scopes, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}

// ErrInvalidGrant is the OAuth answer to a bad refresh token.
var ErrInvalidGrant = errors.New("invalid_grant")

// ErrInvalidScope answers a refresh asking for more than was granted.
var ErrInvalidScope = errors.New("invalid_scope")

// narrow returns the scope a refresh gets: the granted one, or the requested
// subset of it (RFC 6749 §6: never more than the original grant).
func narrow(granted, requested string) (string, error) {
	if granted == "" {
		granted = DefaultScope
	}
	if strings.TrimSpace(requested) == "" {
		return granted, nil
	}
	have := map[string]bool{}
	for _, s := range strings.Fields(granted) {
		have[s] = true
	}
	for _, s := range strings.Fields(requested) {
		if !have[s] {
			return "", ErrInvalidScope
		}
	}
	return strings.Join(strings.Fields(requested), " "), nil
}

// Refresh rotates a refresh token: the old one stops working, a replayed
// old one ends the session (RFC 9700 §4.14.2).
func (s *Service) Refresh(ctx context.Context, appID, raw, scope string, claims func(userID string) (Claims, error)) (TokenSet, error) {
	now := s.now()
	// Check client and scope before the rotation uses the token up.
	rt, err := s.st.GetRefreshToken(ctx, s.hashRefresh(raw), now)
	if err == nil {
		var cur store.Session
		if cur, err = s.st.GetSession(ctx, rt.SessionID); err == nil {
			if cur.AppID != appID {
				return TokenSet{}, ErrInvalidGrant
			}
			if scope, err = narrow(cur.Scope, scope); err != nil {
				return TokenSet{}, err
			}
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return TokenSet{}, fmt.Errorf("session: refresh: %w", err)
	}
	next := newSecret()
	sess, err := s.st.RotateRefreshToken(ctx, appID, s.hashRefresh(raw), store.RefreshToken{
		TokenHash: s.hashRefresh(next), CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL)}, now)
	if errors.Is(err, store.ErrNotFound) {
		return TokenSet{}, ErrInvalidGrant
	}
	if err != nil {
		return TokenSet{}, fmt.Errorf("session: refresh: %w", err)
	}
	if scope == "" {
		scope = sess.Scope
	}
	c, err := claims(sess.UserID)
	if err != nil {
		return TokenSet{}, err
	}
	if sess.ExpiresAt.After(now.Add(s.refreshTTL)) {
		sess.ExpiresAt = now.Add(s.refreshTTL)
	}
	return s.tokens(sess, scope, next, c, now)
}

// Introspection is RFC 7662's answer.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Iss       string `json:"iss,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// liveRefresh returns the live session behind a refresh token of appID.
func (s *Service) liveRefresh(ctx context.Context, appID, raw string) (store.RefreshToken, store.Session, bool) {
	now := s.now()
	rt, err := s.st.GetRefreshToken(ctx, s.hashRefresh(raw), now)
	if err != nil {
		return rt, store.Session{}, false
	}
	sess, err := s.st.GetSession(ctx, rt.SessionID)
	if err != nil || sess.AppID != appID || !sess.RevokedAt.IsZero() || !sess.ExpiresAt.After(now) {
		return rt, sess, false
	}
	return rt, sess, true
}

// Introspect reports whether an access or refresh token is live, for appID only.
func (s *Service) Introspect(ctx context.Context, appID, raw string) Introspection {
	var c AccessClaims
	if err := s.signer.Verify(raw, s.now(), &c); err != nil {
		rt, sess, ok := s.liveRefresh(ctx, appID, raw)
		if !ok {
			return Introspection{}
		}
		return Introspection{Active: true, Scope: sess.Scope, ClientID: sess.AppID, Sub: sess.UserID,
			Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Iss: s.signer.Issuer(), TokenType: "refresh_token"}
	}
	if c.AppID != appID {
		return Introspection{}
	}
	if _, err := s.Authenticate(ctx, raw); err != nil {
		return Introspection{}
	}
	return Introspection{Active: true, Scope: c.Scope, ClientID: c.AppID, Sub: c.Subject,
		Exp: c.Expiry.Time().Unix(), Iat: c.IssuedAt.Time().Unix(), Iss: c.Issuer, TokenType: "Bearer"}
}

// Revoke ends the session behind an access or refresh token of appID.
// Unknown tokens are ignored, as RFC 7009 asks.
func (s *Service) Revoke(ctx context.Context, appID, raw string) error {
	now := s.now()
	var c AccessClaims
	if err := s.signer.Verify(raw, now, &c); err == nil {
		if c.AppID != appID {
			return nil
		}
		return s.st.RevokeSession(ctx, c.SessionID, now)
	}
	// A refresh token: end its session, if it is this app's (RFC 7009 §2.1).
	_, sess, ok := s.liveRefresh(ctx, appID, raw)
	if !ok {
		return nil
	}
	return s.st.RevokeSession(ctx, sess.ID, now)
}

// End ends one session.
func (s *Service) End(ctx context.Context, sessionID string) error {
	return s.st.RevokeSession(ctx, sessionID, s.now())
}

// EndAll ends every session of a user.
func (s *Service) EndAll(ctx context.Context, userID string) error {
	return s.st.RevokeUserSessions(ctx, userID, s.now())
}
