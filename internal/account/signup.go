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
	// Completion: an email or phone added at sign-up (profile.email,
	// profile.phone), each proven by its CHANNEL_COMPLETE_* code.
	CompleteEmail, CompleteEmailCode                           string
	CompletePhone, CompletePhoneCountryCode, CompletePhoneCode string
}

var errExists = apierr.New(409, apierr.CodeAccountExists, "an account with this email, phone or username already exists")

// Register creates an account. Every code it takes is checked before any
// is spent, and the password and the identifiers before the codes, so a
// refusal burns none.
func (s *Service) Register(ctx context.Context, in SignUp) (store.User, error) {
	now := s.now()
	u := store.User{ID: session.NewID(), Status: "Activated", CreatedAt: now, UpdatedAt: now}
	if err := in.Profile.check("profile."); err != nil {
		return u, err
	}
	var proofs []*proof
	pwField := "passwordPayload.password"
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
			key, err := ident.NewUsername(in.Username)
			if err != nil {
				return u, apierr.BadRequest("passwordPayload.username", err.Error())
			}
			u.Username, u.UsernameKey = in.Username, key
		}
	case "PASSCODE":
		pwField = "options.passwordForPhonePassCode"
		p := &proof{channels: []string{"CHANNEL_REGISTER"}, code: in.PassCode, field: "passCodePayload.passCode"}
		switch {
		case in.Email != "" && in.Phone != "":
			return u, apierr.BadRequest("passCodePayload", "give email or phone, not both")
		case in.Email != "":
			e, err := ParseEmail("passCodePayload.email", in.Email)
			if err != nil {
				return u, err
			}
			u.Email, u.EmailKey, u.EmailVerified = e.Address, e.Key, true
			p.target = passcode.EmailTarget(e.Key)
		case in.Phone != "":
			ph, err := s.ParsePhone("passCodePayload.phone", in.Phone, in.PhoneCountryCode)
			if err != nil {
				return u, err
			}
			u.Phone, u.PhoneVerified = ph.E164, true
			p.target = passcode.PhoneTarget(ph.E164)
		default:
			return u, apierr.BadRequest("passCodePayload", "needs email or phone")
		}
		proofs = append(proofs, p)
	default:
		return u, apierr.BadRequest("connection", "must be PASSWORD or PASSCODE")
	}
	more, err := s.completion(&u, in)
	if err != nil {
		return u, err
	}
	proofs = append(proofs, more...)
	var pw string
	if in.Password != "" || in.Connection == "PASSWORD" {
		if pw, err = s.pw.Decode(in.EncryptType, in.Password, pwField); err != nil {
			return u, err
		}
	}
	if err := s.checkFree(ctx, u); err != nil {
		return u, err
	}
	if pw != "" {
		if u.PasswordHash, err = s.pw.NewHash(ctx, pw, pwField, &store.User{Email: u.Email, Phone: u.Phone, Username: u.Username}); err != nil {
			return u, err
		}
		u.PasswordLastSetAt = now
	}
	if err := s.checkAll(ctx, proofs...); err != nil {
		return u, err
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

// completion adds the sign-up's profile.email and profile.phone to u,
// verified, and returns the proofs they need: GenAuth's
// options.emailPassCodeForInformationCompletion and
// phonePassCodeForInformationCompletion, codes sent on
// CHANNEL_COMPLETE_EMAIL / CHANNEL_COMPLETE_PHONE. Without its code an
// address is refused: it would be an unproven one.
func (s *Service) completion(u *store.User, in SignUp) ([]*proof, error) {
	var proofs []*proof
	if in.CompleteEmail != "" {
		if u.EmailKey != "" {
			return nil, apierr.BadRequest("profile.email", "the account's email is given already; profile.email adds one to a username or phone sign-up")
		}
		if in.CompleteEmailCode == "" {
			return nil, apierr.BadRequest("options.emailPassCodeForInformationCompletion",
				"is required with profile.email: the code sent to it on CHANNEL_COMPLETE_EMAIL")
		}
		e, err := ParseEmail("profile.email", in.CompleteEmail)
		if err != nil {
			return nil, err
		}
		u.Email, u.EmailKey, u.EmailVerified = e.Address, e.Key, true
		proofs = append(proofs, &proof{target: passcode.EmailTarget(e.Key), channels: []string{"CHANNEL_COMPLETE_EMAIL"},
			code: in.CompleteEmailCode, field: "options.emailPassCodeForInformationCompletion"})
	}
	if in.CompletePhone != "" {
		if u.Phone != "" {
			return nil, apierr.BadRequest("profile.phone", "the account's phone is given already; profile.phone adds one to an email or username sign-up")
		}
		if in.CompletePhoneCode == "" {
			return nil, apierr.BadRequest("options.phonePassCodeForInformationCompletion",
				"is required with profile.phone: the code sent to it on CHANNEL_COMPLETE_PHONE")
		}
		ph, err := s.ParsePhone("profile.phone", in.CompletePhone, in.CompletePhoneCountryCode)
		if err != nil {
			return nil, err
		}
		u.Phone, u.PhoneVerified = ph.E164, true
		proofs = append(proofs, &proof{target: passcode.PhoneTarget(ph.E164), channels: []string{"CHANNEL_COMPLETE_PHONE"},
			code: in.CompletePhoneCode, field: "options.phonePassCodeForInformationCompletion"})
	}
	return proofs, nil
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
		if u.UsernameKey, err = ident.NewUsername(username); err != nil {
			return u, apierr.BadRequest("username", err.Error())
		}
		u.Username = username
	}
	if err := s.checkFree(ctx, u); err != nil {
		return u, err
	}
	if u.PasswordHash, err = s.pw.NewHash(ctx, password, "password", &u); err != nil {
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
