// Package recovery is the forgot-password flow: a code sent to the
// account's address is traded for a short-lived, single-use
// passwordResetToken, which sets a new password once.
package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Channel is the only channel whose codes start a reset.
const Channel = "CHANNEL_RESET_PASSWORD"

// Service runs the flow.
type Service struct {
	st       store.Store
	accounts *account.Service
	msgs     account.Messages
	pepper   []byte
	ttl      time.Duration
	now      func() time.Time
	wake     func(id int64)
}

// NewService returns a Service; ttl is the reset token's lifetime.
func NewService(st store.Store, accounts *account.Service, msgs account.Messages, pepper []byte, ttl time.Duration, now func() time.Time, wake func(id int64)) *Service {
	if wake == nil {
		wake = func(int64) {}
	}
	return &Service{st: st, accounts: accounts, msgs: msgs, pepper: pepper, ttl: ttl, now: now, wake: wake}
}

func (s *Service) hash(tok string) []byte {
	m := hmac.New(sha256.New, s.pepper)
	m.Write([]byte("reset\x00" + tok))
	return m.Sum(nil)
}

// Request is a verify-reset-password-request body, decoded.
type Request struct {
	Method           string // EMAIL_PASSCODE or PHONE_PASSCODE
	Email            string
	PhoneNumber      string
	PhoneCountryCode string
	PassCode         string
}

// Verified is PasswordResetVerify's data.
type Verified struct {
	PasswordResetToken string `json:"passwordResetToken"`
	TokenExpiresIn     int    `json:"tokenExpiresIn"`
}

// Verify trades a reset code for a reset token bound to the account.
func (s *Service) Verify(ctx context.Context, appID string, r Request) (Verified, error) {
	var target passcode.Target
	var find func() (store.User, error)
	var held store.ResetToken // the address proven
	switch r.Method {
	case "EMAIL_PASSCODE":
		e, err := account.ParseEmail("emailPassCodePayload.email", r.Email)
		if err != nil {
			return Verified{}, err
		}
		target, held.EmailKey = passcode.EmailTarget(e.Key), e.Key
		find = func() (store.User, error) { return s.st.GetUserByEmail(ctx, e.Key) }
		if err := s.accounts.Codes().Verify(ctx, target, Channel, r.PassCode, "emailPassCodePayload.passCode"); err != nil {
			return Verified{}, err
		}
	case "PHONE_PASSCODE":
		p, err := s.accounts.ParsePhone("phonePassCodePayload.phoneNumber", r.PhoneNumber, r.PhoneCountryCode)
		if err != nil {
			return Verified{}, err
		}
		target, held.Phone = passcode.PhoneTarget(p.E164), p.E164
		find = func() (store.User, error) { return s.st.GetUserByPhone(ctx, p.E164) }
		if err := s.accounts.Codes().Verify(ctx, target, Channel, r.PassCode, "phonePassCodePayload.passCode"); err != nil {
			return Verified{}, err
		}
	default:
		return Verified{}, apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE or PHONE_PASSCODE")
	}
	u, err := find()
	if errors.Is(err, store.ErrNotFound) {
		// No code was ever delivered for an unknown address; a lucky guess
		// gets the same answer as a dead code.
		return Verified{}, passcode.ErrDead
	}
	if err != nil {
		return Verified{}, fmt.Errorf("recovery: find account: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Verified{}, fmt.Errorf("recovery: random: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	// Stored only if the account still holds the address: one changed or
	// unbound since find() gets no token, and the answer of a dead code.
	err = s.st.CreateResetToken(ctx, store.ResetToken{TokenHash: s.hash(tok), UserID: u.ID, AppID: appID,
		CreatedAt: now, ExpiresAt: now.Add(s.ttl), EmailKey: held.EmailKey, Phone: held.Phone})
	if errors.Is(err, store.ErrNotFound) {
		return Verified{}, passcode.ErrDead
	}
	if err != nil {
		return Verified{}, fmt.Errorf("recovery: store token: %w", err)
	}
	return Verified{PasswordResetToken: tok, TokenExpiresIn: int(s.ttl / time.Second)}, nil
}

// ErrToken answers a reset token that is unknown, used or expired.
var ErrToken = apierr.New(400, apierr.CodeResetTokenInvalid,
	"passwordResetToken is invalid, expired or already used: start the reset again")

// Reset sets a new password with a reset token. The token is checked before
// the password is decrypted, so the decryption answer is only reachable
// with a live token; it is claimed atomically with the password change, so
// exactly one of many concurrent uses wins. Every session of the user ends
// and a notice goes to the account's address.
func (s *Service) Reset(ctx context.Context, password, encType, tok, lang string) error {
	h, t, err := s.liveToken(ctx, tok)
	if err != nil {
		return err
	}
	pw, err := s.accounts.Passwords().Decode(encType, password, "password")
	if err != nil {
		return err
	}
	u, err := s.st.GetUserByID(ctx, t.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrToken
	}
	if err != nil {
		return fmt.Errorf("recovery: read account: %w", err)
	}
	newHash, err := s.accounts.ResetHash(ctx, pw, "password", u)
	if err != nil {
		return err
	}
	notice, err := s.msgs.Notice(lang, "password_changed", u)
	if err != nil {
		return fmt.Errorf("recovery: notice: %w", err)
	}
	if _, err := s.st.ResetPassword(ctx, h, newHash, s.now(), notice); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrToken
		}
		return fmt.Errorf("recovery: reset: %w", err)
	}
	if notice != nil {
		s.wake(notice.ID)
	}
	return nil
}

// UpdateSignedIn is update-password with a passwordResetToken in place of
// the old password (GenAuth's UpdatePasswordDto): a signed-in user who
// forgot the password proves the address with a reset code instead. The
// token must be this user's; it is spent with the change, under the
// reset's rules for the new password; other sessions end, this one stays.
func (s *Service) UpdateSignedIn(ctx context.Context, p session.Principal, password, encType, tok, lang string) error {
	h, t, err := s.liveToken(ctx, tok)
	if err != nil {
		return err
	}
	if t.UserID != p.UserID {
		return ErrToken // another account's token: as good as none
	}
	pw, err := s.accounts.Passwords().Decode(encType, password, "newPassword")
	if err != nil {
		return err
	}
	u, err := s.st.GetUserByID(ctx, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrToken // deleted meanwhile: its tokens went with it
	}
	if err != nil {
		return fmt.Errorf("recovery: read account: %w", err)
	}
	newHash, err := s.accounts.ResetHash(ctx, pw, "newPassword", u)
	if err != nil {
		return err
	}
	if err := s.accounts.SetPassword(ctx, u, newHash, p.SessionID, lang, h); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrToken
		}
		return err
	}
	return nil
}

// liveToken returns the hash and the record of a live reset token; it is
// checked before any password is decrypted, so the decryption answer is
// only reachable with a live token.
func (s *Service) liveToken(ctx context.Context, tok string) ([]byte, store.ResetToken, error) {
	if tok == "" {
		return nil, store.ResetToken{}, apierr.BadRequest("passwordResetToken", "is required")
	}
	if len(tok) > 128 {
		return nil, store.ResetToken{}, ErrToken
	}
	h := s.hash(tok)
	t, err := s.st.GetResetToken(ctx, h, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.ResetToken{}, ErrToken
	}
	if err != nil {
		return nil, store.ResetToken{}, fmt.Errorf("recovery: read token: %w", err)
	}
	return h, t, nil
}
