package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SMSSender delivers one SMS. Implementations are safe for concurrent use
// and stop when ctx is done.
type SMSSender interface {
	SendSMS(ctx context.Context, s SMS) error
}

// SMSWebhookEnv is the setting SMS webhook configuration errors name.
const SMSWebhookEnv = "KEYHAVEN_SMS_WEBHOOK_URL"

// webhookTimeout bounds one POST, whatever the caller's context allows.
const webhookTimeout = 10 * time.Second

// ParseSMSWebhookURL checks KEYHAVEN_SMS_WEBHOOK_URL: an absolute http or
// https URL. Errors name the setting and never repeat the query or user
// info, which may hold a token.
func ParseSMSWebhookURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf(SMSWebhookEnv + ": not a valid URL (want http(s)://host/path)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf(SMSWebhookEnv+": scheme %q, want http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf(SMSWebhookEnv + ": missing host (want http(s)://host/path)")
	}
	return u.String(), nil
}

// WebhookSMSSender POSTs each SMS as JSON
// {"phoneNumber","phoneCountryCode","channel","code","text"} to a URL the
// operator's SMS gateway adapter listens on. Any 2xx answer is success.
type WebhookSMSSender struct {
	url    string
	shown  string // url without query and user info, for errors
	client *http.Client
}

// NewWebhookSMSSender returns a sender posting to url with client (nil: a
// client with a 10 s timeout). Each POST is also bounded by 10 s.
func NewWebhookSMSSender(rawURL string, client *http.Client) *WebhookSMSSender {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout}
	}
	shown := "sms webhook"
	if u, err := url.Parse(rawURL); err == nil {
		shown = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return &WebhookSMSSender{url: rawURL, shown: shown, client: client}
}

// SendSMS posts s.
func (w *WebhookSMSSender) SendSMS(ctx context.Context, s SMS) error {
	body, err := json.Marshal(s)
	if err != nil {
		return Permanent(fmt.Errorf("sms webhook: encode: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("sms webhook %s: %w", w.shown, withoutURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keyhaven")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms webhook %s: %w", w.shown, withoutURL(err))
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; never echo the body,
	// which might quote the code back.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sms webhook %s: HTTP %d", w.shown, resp.StatusCode)
	}
	return nil
}

// withoutURL drops the *url.Error wrapper, which repeats the full URL,
// token and all, keeping its cause.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
