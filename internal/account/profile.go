package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/ident"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/token"
)

// The user-information module: every method acts for the signed-in user p.

// ProfileUpdate is update-profile's body; nil fields are left alone.
type ProfileUpdate struct {
	Name, Nickname, Photo, ExternalID, Birthdate, Country, Province, City, Address *string
	StreetAddress, PostalCode, Gender, Username, Company, IdentityNumber           *string
	CustomData                                                                     json.RawMessage
}

// UpdateProfile changes profile fields and, if given, the username.
func (s *Service) UpdateProfile(ctx context.Context, p session.Principal, in ProfileUpdate) (store.User, error) {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return u, err
	}
	pr := ProfileOf(u)
	// Only what the request sets is checked: a stored profile from before
	// the bounds must not block an unrelated update.
	var sent Profile
	set := func(dst, sentDst *string, v *string) {
		if v != nil {
			*dst, *sentDst = *v, *v
		}
	}
	set(&pr.Name, &sent.Name, in.Name)
	set(&pr.Nickname, &sent.Nickname, in.Nickname)
	set(&pr.Photo, &sent.Photo, in.Photo)
	set(&pr.ExternalID, &sent.ExternalID, in.ExternalID)
	set(&pr.Birthdate, &sent.Birthdate, in.Birthdate)
	set(&pr.Country, &sent.Country, in.Country)
	set(&pr.Province, &sent.Province, in.Province)
	set(&pr.City, &sent.City, in.City)
	set(&pr.Address, &sent.Address, in.Address)
	set(&pr.StreetAddress, &sent.StreetAddress, in.StreetAddress)
	set(&pr.PostalCode, &sent.PostalCode, in.PostalCode)
	set(&pr.Gender, &sent.Gender, in.Gender)
	set(&pr.Company, &sent.Company, in.Company)
	set(&pr.IdentityNumber, &sent.IdentityNumber, in.IdentityNumber)
	if in.CustomData != nil {
		pr.CustomData, sent.CustomData = in.CustomData, in.CustomData
	}
	if err := sent.check(""); err != nil {
		return u, err
	}
	if in.Username != nil && *in.Username != u.Username {
		if *in.Username == "" {
			if !signInNamesBut(u, "username") {
				return u, apierr.BadRequest("username", "cannot be removed: it is this account's only sign-in name")
			}
			u.Username, u.UsernameKey = "", ""
		} else {
			key, err := ident.NewUsername(*in.Username)
			if err != nil {
				return u, apierr.BadRequest("username", err.Error())
			}
			u.Username, u.UsernameKey = *in.Username, key
		}
	}
	if u.Profile, err = json.Marshal(pr); err != nil {
		return u, fmt.Errorf("account: encode profile: %w", err)
	}
	u.UpdatedAt = s.now()
	return u, s.save(ctx, u, store.FieldProfile)
}

// save writes the fields f of u, mapping a taken identifier to the clear 409.
func (s *Service) save(ctx context.Context, u store.User, f store.Fields) error {
	if err := s.st.UpdateUser(ctx, u, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errExists
		}
		if errors.Is(err, store.ErrLastSignInName) {
			return errLastSignInName
		}
		return fmt.Errorf("account: update user: %w", err)
	}
	return nil
}

// change saves a new email or phone of u (the fields f), made by the
// signed-in session, in one transaction with what goes with it
// (store.ChangeCredentials): the user's reset tokens end, and the notice
// of kind to email or phone (NoticeTo) is queued. It lands only if neither
// the account's credentials nor the session changed since u was read. Done as separate writes, a failure
// between them left a changed password with the other sessions alive, or a
// change nobody was told of.
func (s *Service) change(ctx context.Context, u store.User, f store.Fields, session, lang, kind, email, phone string) error {
	return s.changeWith(ctx, u, store.Change{Fields: f, Keep: session}, lang, kind, email, phone)
}

func (s *Service) changeWith(ctx context.Context, u store.User, c store.Change, lang, kind, email, phone string) error {
	if kind != "" {
		m, err := s.msgs.NoticeTo(lang, kind, email, phone)
		if err != nil {
			return fmt.Errorf("account: render notice: %w", err)
		}
		if m != nil {
			c.Notices = append(c.Notices, m)
		}
	}
	if err := s.st.ChangeCredentials(ctx, u, c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errExists
		}
		if errors.Is(err, store.ErrStale) {
			return errChangedMeanwhile
		}
		if errors.Is(err, store.ErrLastSignInName) {
			return errLastSignInName
		}
		return fmt.Errorf("account: change credentials: %w", err)
	}
	for _, m := range c.Notices {
		s.wake(m.ID)
	}
	return nil
}

var errTaken = apierr.New(409, apierr.CodeAccountExists, "this email or phone number is already used by another account")

// errChangedMeanwhile answers a password change that read the account
// before another one (a reset, a first proof of its email) committed.
var errChangedMeanwhile = apierr.New(409, apierr.CodeChangedMeanwhile,
	"the account's password changed while this request ran: sign in again and retry")

// errLastSignInName refuses a removal that would leave the account no way
// to sign in: no email, no phone, and no username with a password (a
// username signs in only with a password; codes go to an email or phone).
var errLastSignInName = apierr.New(400, apierr.CodeBadRequest,
	"this is the account's only way to sign in: bind another email or phone first")

// signInNamesBut reports whether u keeps a way to sign in without its
// "email", "phone" or "username".
func signInNamesBut(u store.User, but string) bool {
	return but != "email" && u.EmailKey != "" || but != "phone" && u.Phone != "" ||
		but != "username" && u.UsernameKey != "" && u.PasswordHash != ""
}

// BindEmail adds an email to an account without one; the code went to it
// on CHANNEL_BIND_EMAIL.
func (s *Service) BindEmail(ctx context.Context, p session.Principal, email, code, lang string) error {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.EmailKey != "" {
		return apierr.New(400, apierr.CodeBadRequest, "email: this account has an email already: change it with update-email")
	}
	e, err := ParseEmail("email", email)
	if err != nil {
		return err
	}
	if err := s.free(ctx, store.User{EmailKey: e.Key}); err != nil {
		return err
	}
	if err := s.codes.Verify(ctx, passcode.EmailTarget(e.Key), "CHANNEL_BIND_EMAIL", code, "passCode"); err != nil {
		return err
	}
	u.Email, u.EmailKey, u.EmailVerified, u.UpdatedAt = e.Address, e.Key, true, s.now()
	if u.Phone != "" {
		// A new binding is told to the channel the account had (NIST
		// 6.1.2.1): whoever bound it may hold this session, not the phone.
		return s.change(ctx, u, store.FieldEmail, p.SessionID, lang, "email_bound", "", u.Phone)
	}
	return s.change(ctx, u, store.FieldEmail, p.SessionID, lang, "email_bound", e.Address, "")
}

// UnbindEmail removes the account's email; the code went to it on
// CHANNEL_UNBIND_EMAIL. An account keeps a way to sign in.
func (s *Service) UnbindEmail(ctx context.Context, p session.Principal, code, lang string) error {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.EmailKey == "" {
		return apierr.New(400, apierr.CodeBadRequest, "this account has no email to unbind")
	}
	if !signInNamesBut(u, "email") {
		return errLastSignInName
	}
	if err := s.codes.Verify(ctx, passcode.EmailTarget(u.EmailKey), "CHANNEL_UNBIND_EMAIL", code, "passCode"); err != nil {
		return err
	}
	old := u.Email
	u.Email, u.EmailKey, u.EmailVerified, u.UpdatedAt = "", "", false, s.now()
	return s.change(ctx, u, store.FieldEmail, p.SessionID, lang, "email_unbound", old, "")
}

// BindPhone adds a phone to an account without one (CHANNEL_BIND_PHONE).
func (s *Service) BindPhone(ctx context.Context, p session.Principal, number, countryCode, code, lang string) error {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.Phone != "" {
		return apierr.New(400, apierr.CodeBadRequest, "phoneNumber: this account has a phone already: change it with update-phone")
	}
	ph, err := s.ParsePhone("phoneNumber", number, countryCode)
	if err != nil {
		return err
	}
	if err := s.free(ctx, store.User{Phone: ph.E164}); err != nil {
		return err
	}
	if err := s.codes.Verify(ctx, passcode.PhoneTarget(ph.E164), "CHANNEL_BIND_PHONE", code, "passCode"); err != nil {
		return err
	}
	u.Phone, u.PhoneVerified, u.UpdatedAt = ph.E164, true, s.now()
	return s.change(ctx, u, store.FieldPhone, p.SessionID, lang, "phone_bound", u.Email, ph.E164)
}

// UnbindPhone removes the account's phone (CHANNEL_UNBIND_PHONE).
func (s *Service) UnbindPhone(ctx context.Context, p session.Principal, code, lang string) error {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.Phone == "" {
		return apierr.New(400, apierr.CodeBadRequest, "this account has no phone to unbind")
	}
	if !signInNamesBut(u, "phone") {
		return errLastSignInName
	}
	if err := s.codes.Verify(ctx, passcode.PhoneTarget(u.Phone), "CHANNEL_UNBIND_PHONE", code, "passCode"); err != nil {
		return err
	}
	old := u.Phone
	u.Phone, u.PhoneVerified, u.UpdatedAt = "", false, s.now()
	return s.change(ctx, u, store.FieldPhone, p.SessionID, lang, "phone_unbound", "", old)
}

// SecurityInfo is GetSecurityInfoDto.
type SecurityInfo struct {
	PasswordSecurityLevel int  `json:"passwordSecurityLevel"`
	MfaEnrolled           bool `json:"mfaEnrolled"`
	PasswordSet           bool `json:"passwordSet"`
	EmailBinded           bool `json:"emailBinded"`
	PhoneBinded           bool `json:"phoneBinded"`
	SecurityScore         int  `json:"securityScore"`
}

// Security reports what protects the account. Keyhaven serves no MFA, so
// mfaEnrolled is always false; the score weighs password, email and phone.
func (s *Service) Security(ctx context.Context, p session.Principal) (SecurityInfo, error) {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return SecurityInfo{}, err
	}
	si := SecurityInfo{PasswordSet: u.PasswordHash != "", EmailBinded: u.EmailKey != "", PhoneBinded: u.Phone != ""}
	if si.PasswordSet {
		si.PasswordSecurityLevel, si.SecurityScore = 2, 40
	}
	if si.EmailBinded {
		si.SecurityScore += 30
	}
	if si.PhoneBinded {
		si.SecurityScore += 30
	}
	return si, nil
}

// UpdatePassword changes the password with the old one (ASVS 2.1.6); an
// account that never had a password (code sign-up) may set one. Other
// sessions end (ASVS 3.3.3); this one stays.
func (s *Service) UpdatePassword(ctx context.Context, p session.Principal, newPW, oldPW, encType, lang string) error {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	pw, err := s.pw.Decode(encType, newPW, "newPassword")
	if err != nil {
		return err
	}
	if u.PasswordHash != "" {
		if oldPW == "" {
			return apierr.BadRequest("oldPassword", "is required to change the password")
		}
		// The tries share the account's sign-in count, as failures.
		try, within, err := s.passwordTry(ctx, store.PasswordFailures(u.ID))
		if err != nil {
			return err
		}
		old, decErr := s.pw.Decode(encType, oldPW, "oldPassword")
		ok := false
		if decErr == nil && within {
			if ok, _, err = s.pw.Hasher.Verify(ctx, old, u.PasswordHash); err != nil {
				return s.giveBack(ctx, try, fmt.Errorf("account: verify password: %w", err))
			}
		}
		if !ok {
			return apierr.New(400, apierr.CodeBadCredentials, "oldPassword: is incorrect")
		}
		if err := s.giveBack(ctx, try, nil); err != nil {
			return err
		}
	}
	h, err := s.pw.NewHash(ctx, pw, "newPassword", &u)
	if err != nil {
		return err
	}
	return s.SetPassword(ctx, u, h, p.SessionID, lang, nil)
}

// SetPassword sets u's password to newHash: other sessions end, keep stays,
// and a notice goes out. spendReset, if not nil, is the hash of a reset
// token spent in the same transaction, in place of the old-password check
// (store.ErrNotFound, nothing written, unless it is u's live token).
func (s *Service) SetPassword(ctx context.Context, u store.User, newHash, keep, lang string, spendReset []byte) error {
	now := s.now()
	u.PasswordHash, u.PasswordLastSetAt, u.UpdatedAt = newHash, now, now
	return s.changeWith(ctx, u, store.Change{EndOthers: true, Keep: keep, SpendReset: spendReset, Fields: store.FieldPassword},
		lang, "password_changed", u.Email, u.Phone)
}

// ---- change email / phone and delete account: a verify step returns a
// short-lived signed token naming the user and the proven value; the
// second step spends it once.

const actionTTL = 10 * time.Minute

// actionClaims are an action token's: it works once, for the session (and
// so the app) that asked for it, so one obtained before a reset or in
// another app does nothing there.
type actionClaims struct {
	token.Common
	Purpose string `json:"kh_purpose"`
	Session string `json:"kh_sid"`
	Value   string `json:"kh_value,omitempty"`
}

func (s *Service) actionToken(purpose string, p session.Principal, value string) (string, int, error) {
	now := s.now()
	// Only this server verifies these, so the cheaper algorithm always does.
	raw, err := s.signer.Sign(token.ES256, actionClaims{Common: s.signer.NewCommon(p.UserID, p.AppID, session.NewID(), now, actionTTL),
		Purpose: purpose, Session: p.SessionID, Value: value})
	if err != nil {
		return "", 0, fmt.Errorf("account: sign %s token: %w", purpose, err)
	}
	return raw, int(actionTTL / time.Second), nil
}

// spend checks a token of purpose for p and claims it once, across replicas.
func (s *Service) spend(ctx context.Context, p session.Principal, purpose, field, raw string) (string, error) {
	bad := apierr.New(400, apierr.CodeResetTokenInvalid, field+": is invalid, expired or already used: verify again")
	if raw == "" {
		return "", apierr.BadRequest(field, "is required")
	}
	var c actionClaims
	now := s.now()
	if err := s.signer.Verify(raw, now, &c); err != nil || c.Purpose != purpose || c.Subject != p.UserID ||
		c.Session != p.SessionID || !slices.Contains(c.Audience, p.AppID) {
		return "", bad
	}
	n, err := s.st.Hit(ctx, "once:"+c.ID, time.UnixMilli(0), c.Expiry.Time().Add(time.Minute))
	if err != nil {
		return "", fmt.Errorf("account: claim %s token: %w", purpose, err)
	}
	if n != 1 {
		return "", bad
	}
	return c.Value, nil
}

// proof is one code a change request carries.
type proof struct {
	target         passcode.Target
	channels       []string // the code may come from either (contract §4's table)
	code, field    string
	matchedChannel string
}

// checkAll checks every proof without spending any, then spends them all:
// a request with one wrong code leaves the right ones usable.
func (s *Service) checkAll(ctx context.Context, proofs ...*proof) error {
	for _, p := range proofs {
		var err error
		for _, ch := range p.channels {
			if err = s.codes.Check(ctx, p.target, ch, p.code, p.field); !errors.Is(err, passcode.ErrDead) {
				p.matchedChannel = ch
				break
			}
		}
		if err != nil {
			return err
		}
	}
	for _, p := range proofs {
		if err := s.codes.Verify(ctx, p.target, p.matchedChannel, p.code, p.field); err != nil {
			return err
		}
	}
	return nil
}

// EmailChange is verify-update-email-request's payload.
type EmailChange struct{ NewEmail, NewCode, OldEmail, OldCode string }

// VerifyEmailChange proves the old address (if the account has one) and the
// new one, and returns an updateEmailToken.
func (s *Service) VerifyEmailChange(ctx context.Context, p session.Principal, in EmailChange) (string, int, error) {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return "", 0, err
	}
	ne, err := ParseEmail("emailPassCodePayload.newEmail", in.NewEmail)
	if err != nil {
		return "", 0, err
	}
	if ne.Key == u.EmailKey {
		return "", 0, apierr.BadRequest("emailPassCodePayload.newEmail", "is already this account's email")
	}
	if err := s.free(ctx, store.User{EmailKey: ne.Key}); err != nil {
		return "", 0, err
	}
	var proofs []*proof
	if u.EmailKey != "" {
		oe, err := ParseEmail("emailPassCodePayload.oldEmail", in.OldEmail)
		if err != nil {
			return "", 0, err
		}
		if oe.Key != u.EmailKey {
			return "", 0, apierr.BadRequest("emailPassCodePayload.oldEmail", "is not this account's email")
		}
		proofs = append(proofs, &proof{target: passcode.EmailTarget(u.EmailKey), channels: []string{"CHANNEL_UPDATE_EMAIL", "CHANNEL_UNBIND_EMAIL"},
			code: in.OldCode, field: "emailPassCodePayload.oldEmailPassCode"})
	}
	proofs = append(proofs, &proof{target: passcode.EmailTarget(ne.Key), channels: []string{"CHANNEL_UPDATE_EMAIL", "CHANNEL_BIND_EMAIL"},
		code: in.NewCode, field: "emailPassCodePayload.newEmailPassCode"})
	if err := s.checkAll(ctx, proofs...); err != nil {
		return "", 0, err
	}
	return s.actionToken("update_email", p, ne.Address)
}

// UpdateEmail spends an updateEmailToken and notifies the old address.
func (s *Service) UpdateEmail(ctx context.Context, p session.Principal, tok, lang string) error {
	addr, err := s.spend(ctx, p, "update_email", "updateEmailToken", tok)
	if err != nil {
		return err
	}
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	e, err := ident.ParseEmail(addr)
	if err != nil {
		return fmt.Errorf("account: token email: %w", err)
	}
	old := u.Email
	u.Email, u.EmailKey, u.EmailVerified, u.UpdatedAt = e.Address, e.Key, true, s.now()
	return s.change(ctx, u, store.FieldEmail, p.SessionID, lang, "email_changed", old, u.Phone)
}

// PhoneChange is verify-update-phone-request's payload.
type PhoneChange struct{ NewPhone, NewCountryCode, NewCode, OldPhone, OldCountryCode, OldCode string }

// VerifyPhoneChange proves the old number (CHANNEL_UNBIND_PHONE) if the
// account has one and the new one (CHANNEL_BIND_PHONE).
func (s *Service) VerifyPhoneChange(ctx context.Context, p session.Principal, in PhoneChange) (string, int, error) {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return "", 0, err
	}
	np, err := s.ParsePhone("phonePassCodePayload.newPhoneNumber", in.NewPhone, in.NewCountryCode)
	if err != nil {
		return "", 0, err
	}
	if np.E164 == u.Phone {
		return "", 0, apierr.BadRequest("phonePassCodePayload.newPhoneNumber", "is already this account's phone")
	}
	if err := s.free(ctx, store.User{Phone: np.E164}); err != nil {
		return "", 0, err
	}
	var proofs []*proof
	if u.Phone != "" {
		op, err := s.ParsePhone("phonePassCodePayload.oldPhoneNumber", in.OldPhone, in.OldCountryCode)
		if err != nil {
			return "", 0, err
		}
		if op.E164 != u.Phone {
			return "", 0, apierr.BadRequest("phonePassCodePayload.oldPhoneNumber", "is not this account's phone")
		}
		proofs = append(proofs, &proof{target: passcode.PhoneTarget(u.Phone), channels: []string{"CHANNEL_UNBIND_PHONE"},
			code: in.OldCode, field: "phonePassCodePayload.oldPhonePassCode"})
	}
	proofs = append(proofs, &proof{target: passcode.PhoneTarget(np.E164), channels: []string{"CHANNEL_BIND_PHONE"},
		code: in.NewCode, field: "phonePassCodePayload.newPhonePassCode"})
	if err := s.checkAll(ctx, proofs...); err != nil {
		return "", 0, err
	}
	return s.actionToken("update_phone", p, np.E164)
}

// UpdatePhone spends an updatePhoneToken and notifies the old number.
func (s *Service) UpdatePhone(ctx context.Context, p session.Principal, tok, lang string) error {
	num, err := s.spend(ctx, p, "update_phone", "updatePhoneToken", tok)
	if err != nil {
		return err
	}
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	old := u.Phone
	u.Phone, u.PhoneVerified, u.UpdatedAt = num, true, s.now()
	return s.change(ctx, u, store.FieldPhone, p.SessionID, lang, "phone_changed", u.Email, old)
}

// DeleteProof is verify-delete-account-request's payload.
type DeleteProof struct {
	Method                          string // EMAIL_PASSCODE, PHONE_PASSCODE, PASSWORD
	Email, Phone, CountryCode, Code string
	Password, PasswordEncryptType   string
}

// VerifyDelete proves the account holder and returns a deleteAccountToken.
func (s *Service) VerifyDelete(ctx context.Context, p session.Principal, in DeleteProof) (string, int, error) {
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return "", 0, err
	}
	switch in.Method {
	case "EMAIL_PASSCODE":
		if u.EmailKey == "" {
			return "", 0, apierr.BadRequest("verifyMethod", "this account has no email")
		}
		if in.Email != "" {
			if e, err := ident.ParseEmail(in.Email); err != nil || e.Key != u.EmailKey {
				return "", 0, apierr.BadRequest("emailPassCodePayload.email", "is not this account's email")
			}
		}
		err = s.codes.Verify(ctx, passcode.EmailTarget(u.EmailKey), "CHANNEL_DELETE_ACCOUNT", in.Code, "emailPassCodePayload.passCode")
	case "PHONE_PASSCODE":
		if u.Phone == "" {
			return "", 0, apierr.BadRequest("verifyMethod", "this account has no phone")
		}
		ph, perr := s.ParsePhone("phonePassCodePayload.phoneNumber", in.Phone, in.CountryCode)
		if perr != nil {
			return "", 0, perr
		}
		if ph.E164 != u.Phone {
			return "", 0, apierr.BadRequest("phonePassCodePayload.phoneNumber", "is not this account's phone")
		}
		err = s.codes.Verify(ctx, passcode.PhoneTarget(u.Phone), "CHANNEL_DELETE_ACCOUNT", in.Code, "phonePassCodePayload.passCode")
	case "PASSWORD":
		pw, derr := s.pw.Decode(in.PasswordEncryptType, in.Password, "passwordPayload.password")
		if derr != nil {
			return "", 0, derr
		}
		// A stolen access token must not make this a password oracle: the
		// tries count with the account's sign-ins.
		try, within, terr := s.passwordTry(ctx, store.PasswordFailures(u.ID))
		if terr != nil {
			return "", 0, terr
		}
		ok := false
		if u.PasswordHash != "" && within {
			if ok, _, err = s.pw.Hasher.Verify(ctx, pw, u.PasswordHash); err != nil {
				return "", 0, s.giveBack(ctx, try, fmt.Errorf("account: verify password: %w", err))
			}
		} else {
			s.pw.Hasher.VerifyDummy(ctx, pw)
		}
		if !ok {
			return "", 0, apierr.New(400, apierr.CodeBadCredentials, "passwordPayload.password: is incorrect")
		}
		if err := s.giveBack(ctx, try, nil); err != nil {
			return "", 0, err
		}
	default:
		return "", 0, apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE, PHONE_PASSCODE or PASSWORD")
	}
	if err != nil {
		return "", 0, err
	}
	return s.actionToken("delete_account", p, "")
}

// DeleteAccount spends a deleteAccountToken: the account, its sessions and
// tokens are removed at once, a notice goes to its address, and its email,
// phone and username are free to be registered again.
func (s *Service) DeleteAccount(ctx context.Context, p session.Principal, tok, lang string) error {
	if _, err := s.spend(ctx, p, "delete_account", "deleteAccountToken", tok); err != nil {
		return err
	}
	u, err := s.GetUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	// The notice goes in with the delete: sent after it, a failure between
	// the two left a deleted account nobody was told of.
	m, err := s.msgs.NoticeTo(lang, "account_deleted", u.Email, u.Phone)
	if err != nil {
		return fmt.Errorf("account: render notice: %w", err)
	}
	if err := s.st.DeleteUser(ctx, u.ID, p.SessionID, m); err != nil {
		if errors.Is(err, store.ErrStale) {
			return errChangedMeanwhile
		}
		return fmt.Errorf("account: delete: %w", err)
	}
	if m != nil {
		s.wake(m.ID)
	}
	return nil
}

// free refuses identifiers held by an account.
func (s *Service) free(ctx context.Context, u store.User) error {
	if err := s.checkFree(ctx, u); err != nil {
		if errors.Is(err, errExists) {
			return errTaken
		}
		return err
	}
	return nil
}
