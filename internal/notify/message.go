// Package notify turns codes and notices into email and SMS messages and
// delivers them.
//
// The request path never talks to a mail server: it writes a
// store.OutboxMessage (built by EmailMessage or SMSMessage, usually in the
// same transaction as the code it carries) and calls Worker.Wake. The Worker
// claims due messages, sends them through an EmailSender or SMSSender, and
// deletes or reschedules them. A slow or dead mail server therefore delays
// mail, never a request.
//
// Codes and message texts never reach the logs, and addresses are masked
// (MaskEmail, MaskPhone). The one exception is the development log senders,
// used only when the operator configured no delivery at all.
package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

// Outbox message kinds.
const (
	KindEmail = "email"
	KindSMS   = "sms"
)

// Email is an email message; it is the outbox payload of kind "email".
type Email struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// Code is the code the message carries, if any: not sent as such, but
	// known so that a sender's error quoting the body can be redacted.
	Code string `json:"code,omitempty"`
}

// SMS is a text message; it is the outbox payload of kind "sms" and, as is,
// the JSON body the webhook sender POSTs.
type SMS struct {
	PhoneNumber      string `json:"phoneNumber"`      // national number, without country code
	PhoneCountryCode string `json:"phoneCountryCode"` // "+86"
	Channel          string `json:"channel"`          // CHANNEL_*, or the notice kind
	Code             string `json:"code"`             // "" for notices
	Text             string `json:"text"`
}

// EmailMessage builds the outbox message carrying e: due now, dropped
// undelivered after now+ttl (a code that has expired is not worth sending).
func EmailMessage(e Email, now time.Time, ttl time.Duration) (store.OutboxMessage, error) {
	if e.To == "" {
		return store.OutboxMessage{}, errors.New("notify: email without recipient")
	}
	return outboxMessage(KindEmail, e, now, ttl)
}

// SMSMessage builds the outbox message carrying s: due now, dropped
// undelivered after now+ttl.
func SMSMessage(s SMS, now time.Time, ttl time.Duration) (store.OutboxMessage, error) {
	if s.PhoneNumber == "" {
		return store.OutboxMessage{}, errors.New("notify: sms without phone number")
	}
	return outboxMessage(KindSMS, s, now, ttl)
}

func outboxMessage(kind string, payload any, now time.Time, ttl time.Duration) (store.OutboxMessage, error) {
	if ttl <= 0 {
		return store.OutboxMessage{}, fmt.Errorf("notify: %s message with ttl %v", kind, ttl)
	}
	// Unescaped HTML: a code email's HTML body is a third smaller in the
	// outbox than with every < and > as \u003c and \u003e.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return store.OutboxMessage{}, fmt.Errorf("notify: encode %s: %w", kind, err)
	}
	return store.OutboxMessage{
		Kind:      kind,
		Payload:   bytes.TrimSuffix(b.Bytes(), []byte("\n")),
		CreatedAt: now,
		NotBefore: now,
		ExpiresAt: now.Add(ttl),
	}, nil
}

// permanentError marks a failure that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (a malformed
// address, a recipient the server rejects outright), so the Worker drops
// the message at once instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
