// Package passcode issues and checks one-time numeric codes, with the
// limits of the contract: per (target, channel) one code a minute, per
// target a cap an hour, wrong tries per code and per day. A code is bound to
// its channel: a register code cannot reset a password.
package passcode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Limits are the security defaults, all configurable.
type Limits struct {
	TTL           time.Duration // code lifetime (5m)
	Interval      time.Duration // one code per (target, channel) per Interval (1m)
	MaxAttempts   int           // wrong tries that kill a code (5)
	HourlyCap     int           // codes per target an hour (10)
	DailyFailures int           // wrong codes per target a day (20)
}

// Target names who a code is for: "email:<key>" or "phone:<e164>".
type Target string

// EmailTarget and PhoneTarget build targets from normalised keys.
func EmailTarget(key string) Target { return Target("email:" + key) }

// PhoneTarget builds a target from an E.164 number.
func PhoneTarget(e164 string) Target { return Target("phone:" + e164) }

// Store is what the service needs from the database.
type Store interface {
	store.Codes
	store.Throttles
}

// Service issues and verifies codes.
type Service struct {
	st     Store
	pepper []byte
	lim    Limits
	now    func() time.Time
	wake   func(id int64)
	spent  func(channel string)
}

// NewService returns a Service. wake is called with a message's id after
// it is queued, so the outbox worker sends it at once; spent, if not nil,
// with a code's channel when its flow spends it (the metrics).
func NewService(st Store, pepper []byte, lim Limits, now func() time.Time, wake func(id int64), spent func(channel string)) *Service {
	if wake == nil {
		wake = func(int64) {}
	}
	if spent == nil {
		spent = func(string) {}
	}
	return &Service{st: st, pepper: pepper, lim: lim, now: now, wake: wake, spent: spent}
}

// Limits returns the configured limits.
func (s *Service) Limits() Limits { return s.lim }

func (s *Service) hash(t Target, channel, code string) []byte {
	m := hmac.New(sha256.New, s.pepper)
	fmt.Fprintf(m, "code\x00%s\x00%s\x00%s", t, channel, code)
	return m.Sum(nil)
}

// Errors clients see. The throttle answers are the same whether or not an
// account exists behind the target.
var (
	errThrottled = apierr.New(429, apierr.CodeCodeThrottled,
		"a code was sent to this address recently: wait a minute before asking again")
	errHourly = apierr.New(429, apierr.CodeCodeThrottled,
		"too many codes were sent to this address in the last hour: try again later")
	errDaily = apierr.New(429, apierr.CodeCodeThrottled,
		"too many wrong codes for this address today: try again tomorrow")
	// ErrDead answers a code that can no longer be used.
	ErrDead = apierr.New(400, apierr.CodeCodeInvalid,
		"the code has expired or was already used: ask for a new one")
)

// Issue creates a code for (t, channel) and, in the same transaction,
// queues the message build makes from it. build is nil when nobody should
// receive the code (an unknown account asking for a reset): the code is
// still stored, so throttling and every answer match a known account's.
func (s *Service) Issue(ctx context.Context, t Target, channel string, build func(code string, ttl time.Duration) (*store.OutboxMessage, error)) error {
	now := s.now()
	hour := now.Truncate(time.Hour)
	code, err := NewCode()
	if err != nil {
		return err
	}
	var msg *store.OutboxMessage
	if build != nil {
		if msg, err = build(code, s.lim.TTL); err != nil {
			return fmt.Errorf("passcode: build message: %w", err)
		}
	}
	// The hourly cap is checked and counted in IssueCode's own write, over
	// the last hour rather than the clock hour (which let twice the cap
	// through around its turn): the previous hour's count, weighted by the
	// share of it still within the last hour, lowers this hour's room.
	prev, err := store.Sliding(ctx, s.st, "send:"+string(t), 0, time.Hour, now)
	if err != nil {
		return fmt.Errorf("passcode: hourly count: %w", err)
	}
	room := s.lim.HourlyCap - int(math.Ceil(prev))
	if room <= 0 {
		return errHourly
	}
	c := store.Code{Target: string(t), Channel: channel, CodeHash: s.hash(t, channel, code), CreatedAt: now,
		ExpiresAt: now.Add(s.lim.TTL), Counter: &store.Counter{Key: "send:" + string(t), Window: hour, ExpiresAt: hour.Add(2 * time.Hour), Max: room}}
	if err := s.st.IssueCode(ctx, c, s.lim.Interval, msg); err != nil {
		switch {
		case errors.Is(err, store.ErrLimited):
			return errHourly
		case errors.Is(err, store.ErrThrottled):
			return errThrottled
		}
		return fmt.Errorf("passcode: issue: %w", err)
	}
	if msg != nil {
		s.wake(msg.ID)
	}
	return nil
}

// Verify uses the code for (t, channel). field names the request field for
// format errors. A wrong code says how many tries are left.
func (s *Service) Verify(ctx context.Context, t Target, channel, code, field string) error {
	err := s.use(ctx, s.st.ConsumeCode, t, channel, code, field)
	if err == nil {
		s.spent(channel)
	}
	return err
}

// Check is Verify that leaves a right code unused, for flows that must see
// two codes right before spending either. A wrong code counts as in Verify.
func (s *Service) Check(ctx context.Context, t Target, channel, code, field string) error {
	return s.use(ctx, s.st.MatchCode, t, channel, code, field)
}

type codeOp func(ctx context.Context, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (store.CodeResult, int, error)

func (s *Service) use(ctx context.Context, op codeOp, t Target, channel, code, field string) error {
	if !validFormat(code) {
		return apierr.BadRequest(field, "must be the 6-digit code that was sent")
	}
	now := s.now()
	day := now.Truncate(24 * time.Hour)
	fails, err := s.st.Count(ctx, "fail:"+string(t), day)
	if err != nil {
		return fmt.Errorf("passcode: daily count: %w", err)
	}
	if fails >= s.lim.DailyFailures {
		return errDaily
	}
	// Over the last 24 hours, not this UTC day only: room for one more
	// failure.
	if last, err := store.Sliding(ctx, s.st, "fail:"+string(t), fails, 24*time.Hour, now); err != nil {
		return fmt.Errorf("passcode: daily count: %w", err)
	} else if last+1 > float64(s.lim.DailyFailures) {
		return errDaily
	}
	res, left, err := op(ctx, string(t), channel, s.hash(t, channel, code), now, s.lim.MaxAttempts)
	if err != nil {
		return fmt.Errorf("passcode: consume: %w", err)
	}
	switch res {
	case store.CodeOK:
		return nil
	case store.CodeWrong:
		if _, err := s.st.Hit(ctx, "fail:"+string(t), day, day.Add(48*time.Hour)); err != nil {
			return fmt.Errorf("passcode: daily hit: %w", err)
		}
		if left == 0 {
			return ErrDead
		}
		return WrongCode(left)
	default:
		return ErrDead
	}
}

// WrongCode is the answer to a wrong code with tries left.
func WrongCode(left int) *apierr.Error {
	return apierr.New(400, apierr.CodeCodeInvalid, fmt.Sprintf("wrong code: %d tries left", left))
}

// Length is the number of digits in a code (20 bits of entropy: ASVS 2.7.6).
const Length = 6

func validFormat(code string) bool {
	if len(code) != Length {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

var million = big.NewInt(1_000_000)

// NewCode returns a uniformly random 6-digit code from crypto/rand.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		return "", fmt.Errorf("passcode: random: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}
