package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// client calls the GenAuth V3 API as the official SDKs do: JSON bodies,
// the app id header, and the envelope's statusCode as the verdict.
type client struct {
	base  string
	appID string
	hc    *http.Client
}

// newClient returns a client keeping up to conns connections open.
func newClient(base, appID string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: base, appID: appID, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// result is one API call's outcome.
type result struct {
	httpStatus int
	statusCode int
	apiCode    int
	message    string
	data       json.RawMessage
	err        error
}

func (r result) ok() bool { return r.err == nil && r.statusCode == 200 }

func (r result) describe() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("HTTP %d, statusCode %d, apiCode %d: %s", r.httpStatus, r.statusCode, r.apiCode, r.message)
}

// okPrefix is how every success envelope starts (statusCode is its first
// field): checking it spares the load generator a JSON decode per call.
var okPrefix = []byte(`{"statusCode":200,`)

func (c *client) call(ctx context.Context, method, path string, body any, bearer string, wantData bool) result {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return result{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-authing-app-id", c.appID)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{httpStatus: resp.StatusCode, err: err}
	}
	res := result{httpStatus: resp.StatusCode}
	if resp.StatusCode == 200 && !wantData && bytes.HasPrefix(raw, okPrefix) {
		res.statusCode = 200
		return res
	}
	var env struct {
		StatusCode int             `json:"statusCode"`
		Message    string          `json:"message"`
		APICode    int             `json:"apiCode"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		res.err = fmt.Errorf("%s %s: HTTP %d, not an envelope: %.200s", method, path, resp.StatusCode, raw)
		return res
	}
	res.statusCode, res.apiCode, res.message, res.data = env.StatusCode, env.APICode, env.Message, env.Data
	return res
}

func (c *client) signUp(ctx context.Context, email, password string) result {
	return c.call(ctx, "POST", "/api/v3/signup", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]string{"email": email, "password": password}}, "", false)
}

// signIn returns the access token on success.
func (c *client) signIn(ctx context.Context, email, password string, wantToken bool) (result, string) {
	res := c.call(ctx, "POST", "/api/v3/signin", map[string]any{"connection": "PASSWORD",
		"passwordPayload": map[string]string{"email": email, "password": password}}, "", wantToken)
	if !wantToken || !res.ok() {
		return res, ""
	}
	var d struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(res.data, &d); err != nil || d.AccessToken == "" {
		res.err = fmt.Errorf("signin: no access_token in %.200s", res.data)
	}
	return res, d.AccessToken
}

func (c *client) profile(ctx context.Context, token string) result {
	return c.call(ctx, "GET", "/api/v3/get-profile", nil, token, false)
}

func (c *client) sendResetCode(ctx context.Context, email string) result {
	return c.call(ctx, "POST", "/api/v3/send-email", map[string]string{"email": email, "channel": "CHANNEL_RESET_PASSWORD"}, "", false)
}

// verifyReset returns the passwordResetToken on success.
func (c *client) verifyReset(ctx context.Context, email, code string) (result, string) {
	res := c.call(ctx, "POST", "/api/v3/verify-reset-password-request", map[string]any{"verifyMethod": "EMAIL_PASSCODE",
		"emailPassCodePayload": map[string]string{"email": email, "passCode": code}}, "", true)
	if !res.ok() {
		return res, ""
	}
	var d struct {
		Token string `json:"passwordResetToken"`
	}
	if err := json.Unmarshal(res.data, &d); err != nil || d.Token == "" {
		res.err = fmt.Errorf("verify: no passwordResetToken in %.200s", res.data)
	}
	return res, d.Token
}

func (c *client) resetPassword(ctx context.Context, token, password string) result {
	return c.call(ctx, "POST", "/api/v3/reset-password", map[string]string{"password": password, "passwordResetToken": token}, "", false)
}

// get fetches a plain URL under the server (probes, metrics).
func (c *client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}
