package authentication

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Token endpoint authentication methods (AuthenticationClientOptions.TokenEndPointAuthMethod).
const (
	// AuthMethodClientSecretPost sends client_id and client_secret in the body (the default).
	AuthMethodClientSecretPost = "client_secret_post"
	// AuthMethodClientSecretBasic sends "Authorization: Basic base64(appId:appSecret)".
	AuthMethodClientSecretBasic = "client_secret_basic"
	// AuthMethodNone sends only client_id (public clients).
	AuthMethodNone = "none"
)

// DefaultSystemInfoTTL is how long [AuthenticationClient.EncryptPassword]
// trusts the public keys it fetched from /api/v3/system before fetching them
// again.
const DefaultSystemInfoTTL = 10 * time.Minute

// maxReplyBytes bounds how much of a reply the client reads; every reply of
// the API is far smaller.
const maxReplyBytes = 4 << 20

// AuthenticationClientOptions configures an [AuthenticationClient]. AppID and
// AppHost are required.
type AuthenticationClientOptions struct {
	// AppID is the application id, sent as x-authing-app-id on every request.
	AppID string
	// AppSecret is the application secret. It is needed for sign-in and the
	// token endpoints unless TokenEndPointAuthMethod is "none".
	AppSecret string
	// AppHost is the server's base URL, such as "https://id.example.com" or
	// "http://127.0.0.1:8080". A host without a scheme gets https://.
	AppHost string
	// HTTPClient sends the requests; nil means a client with a 10 s timeout
	// (the Node SDK's default).
	HTTPClient *http.Client
	// TokenEndPointAuthMethod is how the client authenticates to /oidc/token
	// and /api/v3/signin: "client_secret_post" (default),
	// "client_secret_basic" or "none".
	TokenEndPointAuthMethod string
	// IntrospectionEndPointAuthMethod is the same for
	// /oidc/token/introspection; empty means TokenEndPointAuthMethod.
	IntrospectionEndPointAuthMethod string
	// RevocationEndPointAuthMethod is the same for /oidc/token/revocation;
	// empty means TokenEndPointAuthMethod.
	RevocationEndPointAuthMethod string
	// AccessToken is the signed-in user's access token, sent as the
	// authorization header; it can be changed later with SetAccessToken.
	AccessToken string
	// LogoutRedirectURI is the default post_logout_redirect_uri of BuildLogoutURL.
	LogoutRedirectURI string
	// Lang, when set, is sent as x-authing-lang (e.g. "zh-CN", "en-US").
	Lang string
	// SystemInfoTTL is how long the keys of /api/v3/system are cached;
	// zero means DefaultSystemInfoTTL.
	SystemInfoTTL time.Duration
}

// AuthenticationClient calls the GenAuth V3 authentication API of a Keyhaven
// server for one application. It is safe for concurrent use.
//
// Every API method takes a context first and returns the decoded reply and an
// error. When the server answers with a business failure (statusCode other
// than 200, or an OAuth error on /oidc/*), the method returns the decoded
// reply together with an [*Error]; whenever the error is an *Error the reply
// is non-nil (empty if the server sent no envelope, e.g. a proxy's HTTP 502).
// Transport and decoding failures return a nil reply and a wrapped error.
type AuthenticationClient struct {
	appID, appSecret  string
	host              string // scheme://host[:port][/prefix] without trailing slash
	httpClient        *http.Client
	tokenAuth         string
	introspectionAuth string
	revocationAuth    string
	logoutRedirectURI string
	lang              string

	tokenMu     sync.RWMutex
	accessToken string

	keys keyCache
	now  func() time.Time // for tests
}

// NewAuthenticationClient checks opts and returns a client. It fails when
// AppID or AppHost is missing, AppHost is not a valid http(s) URL, or an auth
// method is unknown.
func NewAuthenticationClient(opts AuthenticationClientOptions) (*AuthenticationClient, error) {
	if strings.TrimSpace(opts.AppID) == "" {
		return nil, errors.New("authentication: AppID is required")
	}
	host, err := normalizeHost(opts.AppHost)
	if err != nil {
		return nil, err
	}
	tokenAuth := opts.TokenEndPointAuthMethod
	if tokenAuth == "" {
		tokenAuth = AuthMethodClientSecretPost
	}
	introspectionAuth := opts.IntrospectionEndPointAuthMethod
	if introspectionAuth == "" {
		introspectionAuth = tokenAuth
	}
	revocationAuth := opts.RevocationEndPointAuthMethod
	if revocationAuth == "" {
		revocationAuth = tokenAuth
	}
	for name, m := range map[string]string{
		"TokenEndPointAuthMethod":         tokenAuth,
		"IntrospectionEndPointAuthMethod": introspectionAuth,
		"RevocationEndPointAuthMethod":    revocationAuth,
	} {
		switch m {
		case AuthMethodClientSecretPost, AuthMethodClientSecretBasic, AuthMethodNone:
		default:
			return nil, fmt.Errorf("authentication: %s %q is not client_secret_post, client_secret_basic or none", name, m)
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	ttl := opts.SystemInfoTTL
	if ttl <= 0 {
		ttl = DefaultSystemInfoTTL
	}
	c := &AuthenticationClient{
		appID:             opts.AppID,
		appSecret:         opts.AppSecret,
		host:              host,
		httpClient:        hc,
		tokenAuth:         tokenAuth,
		introspectionAuth: introspectionAuth,
		revocationAuth:    revocationAuth,
		logoutRedirectURI: opts.LogoutRedirectURI,
		lang:              opts.Lang,
		accessToken:       opts.AccessToken,
		now:               time.Now,
	}
	c.keys.init(ttl)
	return c, nil
}

// normalizeHost mirrors the Node SDK's domainC14n: a bare host gets https://.
func normalizeHost(raw string) (string, error) {
	h := strings.TrimSpace(raw)
	if h == "" {
		return "", errors.New("authentication: AppHost is required")
	}
	if !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
		if strings.HasPrefix(h, "localhost:") {
			h = "http://" + h
		} else {
			h = "https://" + h
		}
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("authentication: AppHost %q is not a valid http(s) base URL", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// SetAccessToken sets the access token sent as the authorization header of
// later requests (the user-profile methods need one). It is safe to call
// while other requests are in flight; an empty token removes it.
func (c *AuthenticationClient) SetAccessToken(token string) {
	c.tokenMu.Lock()
	c.accessToken = token
	c.tokenMu.Unlock()
}

func (c *AuthenticationClient) currentAccessToken() string {
	c.tokenMu.RLock()
	defer c.tokenMu.RUnlock()
	return c.accessToken
}

// Error is a failure reported by the server: a reply whose statusCode is not
// 200, or an OAuth error from an /oidc/* endpoint. Use errors.As to get it.
type Error struct {
	// StatusCode is the envelope's statusCode (400, 401, 403, 404, 429,
	// 500...), or the HTTP status for /oidc/* endpoints and replies that
	// carried no envelope.
	StatusCode int
	// APICode is Keyhaven's stable error code (0 when the reply had none).
	APICode int
	// Message is the server's message, or the OAuth error_description.
	Message string
	// RequestID identifies the request in the server's logs, when known.
	RequestID string
	// OAuthError is the OAuth 2.0 "error" code from /oidc/* endpoints, such
	// as "invalid_grant"; empty for envelope errors.
	OAuthError string
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("authentication: ")
	if e.OAuthError != "" {
		fmt.Fprintf(&b, "HTTP %d %s", e.StatusCode, e.OAuthError)
	} else {
		fmt.Fprintf(&b, "statusCode %d", e.StatusCode)
	}
	if e.APICode != 0 {
		fmt.Fprintf(&b, " apiCode %d", e.APICode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (requestId %s)", e.RequestID)
	}
	return b.String()
}

// envelopeHead is the part of every /api/v3 reply that decides success.
type envelopeHead struct {
	StatusCode *int   `json:"statusCode"`
	Message    string `json:"message"`
	APICode    int    `json:"apiCode"`
	RequestID  string `json:"requestId"`
}

// basicAuthPaths are the endpoints that receive "Authorization: Basic ..."
// under client_secret_basic, as in the Node SDK's HTTP client.
var basicAuthPaths = map[string]bool{
	"/api/v3/signin":            true,
	"/api/v3/signin-by-mobile":  true,
	"/oidc/token":               true,
	"/oidc/token/revocation":    true,
	"/oidc/token/introspection": true,
}

func (c *AuthenticationClient) basicAuthValue() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.appID+":"+c.appSecret))
}

// newRequest builds a request with the headers every call carries.
func (c *AuthenticationClient) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := c.host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("authentication: %s %s: %w", method, path, err)
	}
	req.Header.Set("x-authing-app-id", c.appID)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keyhaven-go-sdk")
	if c.lang != "" {
		req.Header.Set("x-authing-lang", c.lang)
	}
	return req, nil
}

// send performs req and returns the HTTP status, headers and (bounded) body.
func (c *AuthenticationClient) send(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("authentication: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("authentication: %s %s: read reply: %w", req.Method, req.URL.Path, err)
	}
	if len(raw) > maxReplyBytes {
		return 0, nil, nil, fmt.Errorf("authentication: %s %s: reply larger than %d bytes", req.Method, req.URL.Path, maxReplyBytes)
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// callOptions tunes call for the few endpoints that differ from the rest.
type callOptions struct {
	// statusOptional accepts a 2xx reply without statusCode (GET
	// /api/v3/system, which the Node SDK types without an envelope).
	statusOptional bool
}

// call sends an /api/v3 request and decodes the envelope reply into out.
// It returns *Error when the reply's statusCode is not 200 (out is then
// filled as far as the body allowed).
func (c *AuthenticationClient) call(ctx context.Context, method, path string, query url.Values, in, out any, opt callOptions) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("authentication: %s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.tokenAuth == AuthMethodClientSecretBasic && basicAuthPaths[path] {
		req.Header.Set("Authorization", c.basicAuthValue())
	} else if tok := c.currentAccessToken(); tok != "" {
		req.Header.Set("Authorization", tok)
	}

	status, header, raw, err := c.send(req)
	if err != nil {
		return err
	}
	var head envelopeHead
	headErr := json.Unmarshal(raw, &head)
	if status < 200 || status > 299 {
		// Keyhaven answers business failures with HTTP 200, but a body
		// limit, a proxy or an old server may not.
		if headErr == nil && head.StatusCode != nil {
			_ = json.Unmarshal(raw, out)
			e := head.toError(header)
			if e.StatusCode == 200 {
				e.StatusCode = status
			}
			return e
		}
		return httpStatusError(status, header, raw)
	}
	if headErr != nil {
		return fmt.Errorf("authentication: %s %s: decode reply: %w", method, path, headErr)
	}
	if head.StatusCode == nil && !opt.statusOptional {
		return fmt.Errorf("authentication: %s %s: decode reply: no statusCode in the reply", method, path)
	}
	outErr := json.Unmarshal(raw, out)
	if head.StatusCode != nil && *head.StatusCode != http.StatusOK {
		return head.toError(header)
	}
	if outErr != nil {
		return fmt.Errorf("authentication: %s %s: decode reply: %w", method, path, outErr)
	}
	return nil
}

func (h *envelopeHead) toError(header http.Header) *Error {
	e := &Error{APICode: h.APICode, Message: h.Message, RequestID: h.RequestID}
	if h.StatusCode != nil {
		e.StatusCode = *h.StatusCode
	}
	if e.RequestID == "" {
		e.RequestID = header.Get("X-Request-Id")
	}
	return e
}

// httpStatusError describes a non-2xx reply that carried no usable body.
func httpStatusError(status int, header http.Header, raw []byte) *Error {
	msg := http.StatusText(status)
	if s := strings.TrimSpace(string(raw)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		msg += ": " + s
	}
	return &Error{StatusCode: status, Message: msg, RequestID: header.Get("X-Request-Id")}
}

// oauthError is the RFC 6749 §5.2 error body.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// callForm sends an /oidc/* form POST authenticated with the given method
// and decodes a 2xx JSON reply into out (nil to ignore it). A non-2xx reply
// returns *Error carrying the HTTP status and the OAuth error.
func (c *AuthenticationClient) callForm(ctx context.Context, path, authMethod string, form url.Values, out any) error {
	switch authMethod {
	case AuthMethodClientSecretPost:
		if c.appSecret == "" {
			return fmt.Errorf("authentication: POST %s: AppSecret is required for %s", path, authMethod)
		}
		form.Set("client_id", c.appID)
		form.Set("client_secret", c.appSecret)
	case AuthMethodClientSecretBasic:
		if c.appSecret == "" {
			return fmt.Errorf("authentication: POST %s: AppSecret is required for %s", path, authMethod)
		}
	default:
		form.Set("client_id", c.appID)
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, nil, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Unlike the Node SDK, the user's access token is not sent here: RFC 6749
	// §2.3 allows one client authentication method per request.
	if authMethod == AuthMethodClientSecretBasic {
		req.Header.Set("Authorization", c.basicAuthValue())
	}
	status, header, raw, err := c.send(req)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		var oe oauthError
		if json.Unmarshal(raw, &oe) == nil && oe.Error != "" {
			msg := oe.ErrorDescription
			if msg == "" {
				msg = oe.Error
			}
			return &Error{StatusCode: status, Message: msg, OAuthError: oe.Error, RequestID: header.Get("X-Request-Id")}
		}
		return httpStatusError(status, header, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("authentication: POST %s: decode reply: %w", path, err)
	}
	return nil
}
