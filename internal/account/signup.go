package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/ident"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

// SignUp is a registration request, already decoded.
type SignUp struct {
	Connection       string // PASSWORD or PASSCODE
	Email            string
	Username         string
	Phone            string
	PhoneCountryCode string
	Password         string // as sent; decrypted per EncryptType
	EncryptType      string
	PassCode         string
	Profile          Profile
}

var errExists = apierr.New(409, apierr.CodeAccountExists, "an account with this email, phone or username already exists")

// Register creates an account.
func (s *Service) Register(ctx context.Context, in SignUp) (store.User, error) {
	now := s.now()
	u := store.User{ID: session.NewID(), Status: "Activated", CreatedAt: now, UpdatedAt: now}
	switch in.Connection {
	case "PASSWORD":
		if in.Email == "" && in.Username == "" {
			return u, apierr.BadRequest("passwordPayload", "needs email or username")
		}
		if in.Email != "" {
			e, err := ParseEmail("passwordPayload.email", in.Email)
			if err != nil {
				return u, err
			}
			u.Email, u.EmailKey = e.Address, e.Key
		}
		if in.Username != "" {
			key, err := ident.UsernameKey(in.Username)
			if err != nil {
				return u, apierr.BadRequest("passwordPayload.username", err.Error())
			}
			u.Username, u.UsernameKey = in.Username, key
		}
		pw, err := s.pw.Decode(in.EncryptType, in.Password, "passwordPayload.password")
		if err != nil {
			return u, err
		}
		if err := s.checkFree(ctx, u); err != nil {
			return u, err
		}
		if u.PasswordHash, err = s.pw.NewHash(ctx, pw, &store.User{Email: u.Email, Username: u.Username}); err != nil {
			return u, err
		}
		u.PasswordLastSetAt = now
	case "PASSCODE":
		var target passcode.Target
		switch {
		case in.Email != "" && in.Phone != "":
			return u, apierr.BadRequest("passCodePayload", "give email or phone, not both")
		case in.Email != "":
			e, err := ParseEmail("passCodePayload.email", in.Email)
			if err != nil {
				return u, err
			}
			u.Email, u.EmailKey, u.EmailVerified = e.Address, e.Key, true
			target = passcode.EmailTarget(e.Key)
		case in.Phone != "":
			p, err := s.ParsePhone("passCodePayload.phone", in.Phone, in.PhoneCountryCode)
			if err != nil {
				return u, err
			}
			u.Phone, u.PhoneVerified = p.E164, true
			target = passcode.PhoneTarget(p.E164)
		default:
			return u, apierr.BadRequest("passCodePayload", "needs email or phone")
		}
		// Check the password and that the account is free before using the
		// code, so a refusal does not burn it.
		var pw string
		if in.Password != "" {
			var err error
			if pw, err = s.pw.Decode(in.EncryptType, in.Password, "options.passwordForPhonePassCode"); err != nil {
				return u, err
			}
		}
		if err := s.checkFree(ctx, u); err != nil {
			return u, err
		}
		if pw != "" {
			h, err := s.pw.NewHash(ctx, pw, &store.User{Email: u.Email, Phone: u.Phone})
			if err != nil {
				return u, err
			}
			u.PasswordHash, u.PasswordLastSetAt = h, now
		}
		if err := s.codes.Verify(ctx, target, "CHANNEL_REGISTER", in.PassCode, "passCodePayload.passCode"); err != nil {
			return u, err
		}
	default:
		return u, apierr.BadRequest("connection", "must be PASSWORD or PASSCODE")
	}
	profile, err := json.Marshal(in.Profile)
	if err != nil {
		return u, fmt.Errorf("account: encode profile: %w", err)
	}
	u.Profile = profile
	if err := s.st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return u, errExists
		}
		return u, fmt.Errorf("account: create user: %w", err)
	}
	return u, nil
}

// checkFree refuses identifiers another account holds.
func (s *Service) checkFree(ctx context.Context, u store.User) error {
	check := func(err error) error {
		if err == nil {
			return errExists
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("account: check identifiers: %w", err)
	}
	if u.EmailKey != "" {
		if _, err := s.st.GetUserByEmail(ctx, u.EmailKey); check(err) != nil {
			return check(err)
		}
	}
	if u.Phone != "" {
		if _, err := s.st.GetUserByPhone(ctx, u.Phone); check(err) != nil {
			return check(err)
		}
	}
	if u.UsernameKey != "" {
		if _, err := s.st.GetUserByUsername(ctx, u.UsernameKey); check(err) != nil {
			return check(err)
		}
	}
	return nil
}

// CreateUser is the admin path (keyhaven user create): no code, no policy
// exemptions.
func (s *Service) CreateUser(ctx context.Context, email, phone, username, password string) (store.User, error) {
	in := SignUp{Connection: "PASSWORD", Email: email, Username: username, Password: password}
	if phone == "" {
		return s.Register(ctx, in)
	}
	now := s.now()
	u := store.User{ID: session.NewID(), Status: "Activated", CreatedAt: now, UpdatedAt: now, Profile: []byte("{}")}
	if email != "" {
		e, err := ParseEmail("email", email)
		if err != nil {
			return u, err
		}
		u.Email, u.EmailKey = e.Address, e.Key
	}
	p, err := s.ParsePhone("phone", phone, "")
	if err != nil {
		return u, err
	}
	u.Phone = p.E164
	if username != "" {
		if u.UsernameKey, err = ident.UsernameKey(username); err != nil {
			return u, apierr.BadRequest("username", err.Error())
		}
		u.Username = username
	}
	if err := s.checkFree(ctx, u); err != nil {
		return u, err
	}
	if u.PasswordHash, err = s.pw.NewHash(ctx, password, &u); err != nil {
		return u, err
	}
	u.PasswordLastSetAt = now
	if err := s.st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return u, errExists
		}
		return u, fmt.Errorf("account: create user: %w", err)
	}
	return u, nil
}
