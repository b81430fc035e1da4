package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

// The /oidc endpoints follow the RFCs: real HTTP status and
// {"error","error_description"} bodies.

func (s *Server) routesOIDC(mux *http.ServeMux) {
	plain := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, h) }
	plain("GET /oidc/.well-known/jwks.json", s.handleJWKS)
	// OIDC Discovery §4 puts the document under the issuer, which is the
	// public URL's root; GenAuth serves it under /oidc, so both answer.
	plain("GET /.well-known/openid-configuration", s.handleDiscovery)
	plain("GET /oidc/.well-known/openid-configuration", s.handleDiscovery)
	plain("POST /oidc/token", s.handleToken)
	plain("POST /oidc/token/introspection", s.handleIntrospect)
	plain("POST /oidc/token/revocation", s.handleRevoke)
	// RP-Initiated Logout §2: GET and POST both.
	plain("GET /oidc/session/end", s.handleEndSession)
	plain("POST /oidc/session/end", s.handleEndSession)
	plain("GET /oidc/me", s.handleMe)
	plain("POST /oidc/me", s.handleMe)
}

// oauthError writes an RFC 6749 §5.2 error. A 401 without a challenge gets
// the token endpoint's Basic one; /oidc/me sets its Bearer one first.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="keyhaven"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.keys.Signer.JWKS())
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	base := s.issuer + "/oidc"
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"token_endpoint":                        base + "/token",
		"introspection_endpoint":                base + "/token/introspection",
		"revocation_endpoint":                   base + "/token/revocation",
		"userinfo_endpoint":                     base + "/me",
		"end_session_endpoint":                  base + "/session/end",
		"grant_types_supported":                 []string{"refresh_token"},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "none"},
		"scopes_supported":                      session.Scopes,
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "sid", "email", "email_verified", "phone_number",
			"phone_number_verified", "name", "nickname", "picture", "username", "updated_at"},
	})
}

// oauthClient authenticates the client of a token-endpoint request: Basic
// header, or client_id (+ client_secret) in the form. The form must parse
// and hold each parameter once. A confidential app must send its secret
// (RFC 6749 §2.3.1, §6): without that, a stolen refresh token would work
// without the app. A public app may send its id alone. A secret sent is
// always checked.
func (s *Server) oauthClient(w http.ResponseWriter, r *http.Request) (store.App, url.Values, bool) {
	// RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1: a form body. Any other
	// type would be read as an empty form and answered as if its fields
	// were missing.
	if !isForm(r) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return store.App{}, nil, false
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded, at most 1 MiB")
		return store.App{}, nil, false
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			oauthError(w, http.StatusBadRequest, "invalid_request", k+" appears more than once")
			return store.App{}, nil, false
		}
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	basic := false
	if u, p, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3 asks for one method a request, but GenAuth's Node
		// SDK set to client_secret_basic also puts client_secret in the body
		// of introspection and revocation. Both are accepted if they say the
		// same; different ones would leave one unchecked.
		if (form.Has("client_secret") && form.Get("client_secret") != p) || (form.Has("client_id") && form.Get("client_id") != u) {
			oauthError(w, http.StatusBadRequest, "invalid_request",
				"the Authorization: Basic header and the body name different clients or secrets")
			return store.App{}, nil, false
		}
		id, secret, basic = u, p, true
	}
	if id == "" {
		id = r.Header.Get("x-authing-app-id")
	}
	app, err := s.st.GetApp(r.Context(), id)
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return app, nil, false
	}
	switch {
	// A public app may also send Basic with an empty secret, as some OAuth
	// libraries do for clients without one.
	case secret != "" || (basic && !app.Public):
		if !secretMatches(app, id, secret) {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return app, nil, false
		}
	case !app.Public:
		oauthError(w, http.StatusUnauthorized, "invalid_client",
			"client authentication required: send client_secret (client_secret_post) or an Authorization: Basic header (client_secret_basic)")
		return app, nil, false
	}
	return app, form, true
}

// handleToken serves POST /oidc/token for grant_type=refresh_token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	app, form, ok := s.oauthClient(w, r)
	if !ok {
		return
	}
	gt := form.Get("grant_type")
	if gt == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	}
	if gt != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only refresh_token is supported")
		return
	}
	rt := form.Get("refresh_token")
	if rt == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	ts, err := s.sessions.Refresh(r.Context(), app.ID, rt, form.Get("scope"), func(userID string) (session.Claims, error) {
		return s.accounts.SessionClaims(r.Context(), userID)
	})
	if errors.Is(err, session.ErrInvalidScope) {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "scope asks for more than was granted at sign-in")
		return
	}
	if errors.Is(err, session.ErrInvalidGrant) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or already used")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "refresh failed", "request_id", requestID(r.Context()), "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

// handleIntrospect serves POST /oidc/token/introspection (RFC 7662).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	app, form, ok := s.oauthClient(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.sessions.Introspect(r.Context(), app.ID, form.Get("token")))
}

// handleRevoke serves POST /oidc/token/revocation (RFC 7009).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	app, form, ok := s.oauthClient(w, r)
	if !ok {
		return
	}
	if form.Get("token") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	if err := s.sessions.Revoke(r.Context(), app.ID, form.Get("token")); err != nil {
		s.log.ErrorContext(r.Context(), "revoke failed", "request_id", requestID(r.Context()), "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// isForm reports whether r's body is declared a form.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// handleEndSession serves /oidc/session/end (buildLogoutUrl's target):
// ends the session named by id_token_hint, expired or not, and redirects to
// post_logout_redirect_uri only if it is on the issuer's own origin or is a
// relative path; anything else would be an open redirect. A hint that is not
// one of our id tokens, or a session that could not be ended, is said so,
// never answered "signed out".
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && !isForm(r) {
		http.Error(w, "Content-Type must be application/x-www-form-urlencoded: nothing was signed out", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the parameters must be a form of at most 1 MiB: nothing was signed out", http.StatusBadRequest)
		return
	}
	q := r.Form // the query, and a POST's body
	w.Header().Set("Cache-Control", "no-store")
	var appID string // the app the hint was issued to
	hint := q.Get("id_token_hint")
	if hint != "" {
		var c struct {
			session.IDClaims
			AZP string `json:"azp"` // an access token's, which names its session too
		}
		if err := s.keys.Signer.VerifyAnyAge(hint, &c); err != nil || c.SessionID == "" || c.AZP != "" {
			http.Error(w, "id_token_hint is not an ID token of this server: nothing was signed out", http.StatusBadRequest)
			return
		}
		if err := s.sessions.End(r.Context(), c.SessionID); err != nil {
			s.log.ErrorContext(r.Context(), "end session failed", "request_id", requestID(r.Context()), "err", err)
			http.Error(w, "the session could not be ended; try again", http.StatusInternalServerError)
			return
		}
		if len(c.Audience) == 1 {
			appID = c.Audience[0]
		}
	}
	target := q.Get("post_logout_redirect_uri")
	if target != "" && (s.sameOrigin(target) || s.registeredLogoutRedirect(r, appID, target)) {
		http.Redirect(w, r, withState(target, q.Get("state")), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if hint == "" {
		// Sessions are bearer tokens, not cookies: without a hint there is
		// nothing here to end.
		_, _ = w.Write([]byte("No id_token_hint was given, so no session was ended here.\n"))
		return
	}
	_, _ = w.Write([]byte("You are signed out.\n"))
}

// withState adds state to target's query, before any fragment, which a
// browser would otherwise keep to itself.
func withState(target, state string) string {
	if state == "" {
		return target
	}
	base, frag, hasFrag := strings.Cut(target, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	base += sep + "state=" + url.QueryEscape(state)
	if hasFrag {
		base += "#" + frag
	}
	return base
}

// registeredLogoutRedirect reports whether target is, exactly, one of the
// logout redirect URLs registered for appID (keyhaven app update
// --logout-redirect-uri): another origin is allowed only as the app's own
// registered URL, named by a valid id_token_hint, as OIDC RP-Initiated
// Logout §3 requires.
func (s *Server) registeredLogoutRedirect(r *http.Request, appID, target string) bool {
	if appID == "" {
		return false
	}
	app, err := s.st.GetApp(r.Context(), appID)
	return err == nil && slices.Contains(app.LogoutRedirectURIs, target)
}

func (s *Server) sameOrigin(target string) bool {
	// Browsers read "\" as "/" and drop tabs and newlines, so "/\evil" or
	// "/\t/evil" is "//evil", another host; url.Parse sees a path.
	if strings.ContainsFunc(target, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
	}
	iss, err := url.Parse(s.issuer)
	return err == nil && u.Scheme == iss.Scheme && u.Host == iss.Host
}

// handleMe serves /oidc/me (userinfo) for a Bearer token. An access_token
// parameter wins over the Authorization header: the Node SDK's
// getUserInfoByAccessToken(token) sends the token it was given as
// ?access_token= and may send a stale stored one in the header too.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" && r.Method == http.MethodPost {
		_ = r.ParseForm()
		tok = r.PostForm.Get("access_token")
	}
	if tok == "" {
		tok = r.Header.Get("Authorization")
	}
	// RFC 6750 §3: a Bearer challenge, with an error code only when a
	// token was sent (§3.1).
	challenge := `Bearer realm="keyhaven"`
	if tok != "" {
		challenge += `, error="invalid_token"`
	}
	p, err := s.sessions.Authenticate(r.Context(), tok)
	if err != nil {
		w.Header().Set("WWW-Authenticate", challenge)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "access token is invalid or expired")
		return
	}
	c, err := s.accounts.SessionClaims(r.Context(), p.UserID)
	if err != nil {
		w.Header().Set("WWW-Authenticate", challenge)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "access token is invalid or expired")
		return
	}
	// The claims the token's scope grants (OIDC Core §5.4), as in the id
	// token: email and phone only with their scopes.
	out := map[string]any{"sub": p.UserID}
	scopes := " " + p.Scope + " "
	if strings.Contains(scopes, " email ") && c.Email != "" {
		out["email"], out["email_verified"] = c.Email, c.EmailVerified
	}
	if strings.Contains(scopes, " phone ") && c.Phone != "" {
		out["phone_number"], out["phone_number_verified"] = c.Phone, c.PhoneVerified
	}
	claims := map[string]string{}
	if strings.Contains(scopes, " username ") {
		claims["username"] = c.Username
	}
	if strings.Contains(scopes, " profile ") {
		claims["name"], claims["nickname"], claims["picture"] = c.Name, c.Nickname, c.Picture
	}
	for k, v := range claims {
		if v != "" {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}
