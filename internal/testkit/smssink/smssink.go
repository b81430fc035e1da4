// Package smssink is an HTTP server for tests that receives Keyhaven's SMS
// webhook: each SMS POSTed as the JSON object
// {"phoneNumber","phoneCountryCode","channel","code","text"}.
//
// A request whose body is not exactly that object (a key missing, an extra
// key, a wrong type) fails the test that started the sink, so the contract is
// checked by every test that sends an SMS.
package smssink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one received SMS.
type Message struct {
	PhoneNumber      string `json:"phoneNumber"`
	PhoneCountryCode string `json:"phoneCountryCode"`
	Channel          string `json:"channel"`
	Code             string `json:"code"`
	Text             string `json:"text"`

	Raw        []byte      `json:"-"` // the request body
	Header     http.Header `json:"-"`
	ReceivedAt time.Time   `json:"-"`
}

// Keys are the JSON keys every webhook body must have, and no others.
var Keys = []string{"channel", "code", "phoneCountryCode", "phoneNumber", "text"}

// Sink is a running webhook receiver.
type Sink struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	changed  chan struct{}
	msgs     []Message
	taken    []bool
	failures int
	delay    time.Duration
}

// Start starts a sink on 127.0.0.1; it is closed by t.Cleanup.
func Start(t testing.TB) *Sink {
	t.Helper()
	s := &Sink{t: t, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the webhook URL (KEYHAVEN_SMS_WEBHOOK_URL).
func (s *Sink) URL() string { return s.srv.URL + "/sms" }

// Close stops the server; later requests fail to connect.
func (s *Sink) Close() { s.srv.Close() }

// SetFailures makes the next n requests get HTTP 500 (the SMS is discarded).
func (s *Sink) SetFailures(n int) {
	s.mu.Lock()
	s.failures = n
	s.mu.Unlock()
}

// SetDelay makes the sink wait d before answering each request.
func (s *Sink) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Messages returns a copy of every accepted SMS, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor returns the oldest accepted SMS to phoneNumber that no earlier
// WaitFor returned, waiting up to timeout. phoneNumber matches either the
// national number as sent or phoneCountryCode+phoneNumber ("+8613800138000").
// It fails the test on timeout, so call it from the test's own goroutine.
func (s *Sink) WaitFor(t testing.TB, phoneNumber string, timeout time.Duration) Message {
	t.Helper()
	m, err := s.Next(context.Background(), phoneNumber, timeout)
	if err != nil {
		t.Fatalf("smssink: %v", err)
	}
	return m
}

// Next is WaitFor returning an error instead of failing the test.
func (s *Sink) Next(ctx context.Context, phoneNumber string, timeout time.Duration) (Message, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.taken[i] && (m.PhoneNumber == phoneNumber || m.PhoneCountryCode+m.PhoneNumber == phoneNumber) {
				s.taken[i] = true
				s.mu.Unlock()
				return m, nil
			}
		}
		changed, n := s.changed, len(s.msgs)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-timer.C:
			return Message{}, fmt.Errorf("no new SMS to %s within %v (%d received in all)", phoneNumber, timeout, n)
		}
	}
}

func (s *Sink) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		s.t.Errorf("smssink: got %s, want POST", r.Method)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m, err := decode(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		s.t.Errorf("smssink: bad webhook body %s: %v", raw, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "want application/json", http.StatusUnsupportedMediaType)
		s.t.Errorf("smssink: Content-Type %q, want application/json", ct)
		return
	}
	s.mu.Lock()
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	s.mu.Unlock()
	if fail {
		http.Error(w, "smssink: failing on purpose", http.StatusInternalServerError)
		return
	}
	m.Raw, m.Header, m.ReceivedAt = raw, r.Header.Clone(), time.Now()
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.taken = append(s.taken, false)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// decode checks that raw is an object with exactly Keys, each a string.
func decode(raw []byte) (Message, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Message{}, err
	}
	var keys []string
	for k, v := range fields {
		keys = append(keys, k)
		if len(v) == 0 || v[0] != '"' {
			return Message{}, fmt.Errorf("key %q is not a string", k)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, Keys) {
		return Message{}, fmt.Errorf("keys %v, want exactly %v", keys, Keys)
	}
	var m Message
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, err
	}
	return m, nil
}
