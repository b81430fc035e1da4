package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// client calls the GenAuth V3 API as the official SDKs do: JSON bodies,
// the app id header, and the envelope's statusCode as the verdict.
type client struct {
	base  string
	u     *url.URL // base, parsed once for the raw requests
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
	u, _ := url.Parse(base) // checked by CheckLoopbackURL
	return &client{base: base, u: u, appID: appID, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// raw is an API call as HTTP/1.1 bytes for a keepAlive.
func (c *client) raw(method, path, bearer string, body []byte) []byte {
	return rawRequest(c.u, method, path, c.appID, bearer, body)
}

// keepAlives returns n connections to the server, one for each of a
// phase's clients; closeAll closes them.
func (c *client) keepAlives(n int) []keepAlive {
	conns := make([]keepAlive, n)
	for i := range conns {
		conns[i] = keepAlive{addr: c.u.Host, timeout: c.hc.Timeout}
	}
	return conns
}

func closeAll(conns []keepAlive) {
	for i := range conns {
		conns[i].close()
	}
}

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
	return envelope(method, path, resp.StatusCode, raw, wantData)
}

// envelope reads the GenAuth envelope of a reply; without wantData, a
// success is recognised by its first bytes alone.
func envelope(method, path string, status int, raw []byte, wantData bool) result {
	res := result{httpStatus: status}
	if status == 200 && !wantData && bytes.HasPrefix(raw, okPrefix) {
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
		res.err = fmt.Errorf("%s %s: HTTP %d, not an envelope: %.200s", method, path, status, raw)
		return res
	}
	res.statusCode, res.apiCode, res.message, res.data = env.StatusCode, env.APICode, env.Message, env.Data
	return res
}

// keepAlive is one HTTP/1.1 connection that sends prepared requests and
// reads the replies itself, as wrk does. The profile and codes phases
// measure calls that cost the server ~100 µs; through net/http's client
// (whose transport hands every call to two goroutines of its own) each call
// also cost the load generator ~80 µs of the same two cores, so the
// generator, not the server, set the rate.
type keepAlive struct {
	addr    string
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
	body    bytes.Buffer
}

// rawRequest is an API call as HTTP/1.1 bytes; base is the server's URL
// (its path, if any, prefixes path), body JSON or nil.
func rawRequest(base *url.URL, method, path, appID, bearer string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s%s HTTP/1.1\r\nHost: %s\r\nx-authing-app-id: %s\r\n", method, base.Path, path, base.Host, appID)
	if bearer != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", bearer)
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// do sends req and reads its reply; label names the call in errors.
func (k *keepAlive) do(label string, req []byte) result {
	if k.conn == nil {
		c, err := net.DialTimeout("tcp", k.addr, 5*time.Second)
		if err != nil {
			return result{err: err}
		}
		k.conn, k.br = c, bufio.NewReader(c)
	}
	res, keep := k.roundTrip(label, req)
	if !keep {
		k.close()
	}
	res.data = nil // it would point into k.body, which the next call reuses
	return res
}

func (k *keepAlive) roundTrip(label string, req []byte) (result, bool) {
	if err := k.conn.SetDeadline(time.Now().Add(k.timeout)); err != nil {
		return result{err: err}, false
	}
	if _, err := k.conn.Write(req); err != nil {
		return result{err: err}, false
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return result{err: err}, false
	}
	k.body.Reset()
	_, err = k.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return result{httpStatus: resp.StatusCode, err: err}, false
	}
	return envelope(label, "", resp.StatusCode, k.body.Bytes(), false), !resp.Close
}

func (k *keepAlive) close() {
	if k.conn != nil {
		k.conn.Close()
		k.conn, k.br = nil, nil
	}
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

func (c *client) sendResetCode(ctx context.Context, email string) result {
	return c.call(ctx, "POST", "/api/v3/send-email", resetCodeBody(email), "", false)
}

func resetCodeBody(email string) map[string]string {
	return map[string]string{"email": email, "channel": "CHANNEL_RESET_PASSWORD"}
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
