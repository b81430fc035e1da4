package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/session"
)

// Wire types of the user-information module (authing-node-sdk dist/models).

// UpdateUserProfileDto is POST /api/v3/update-profile's body.
type UpdateUserProfileDto struct {
	Name           *string         `json:"name"`
	Nickname       *string         `json:"nickname"`
	Photo          *string         `json:"photo"`
	ExternalID     *string         `json:"externalId"`
	Birthdate      *string         `json:"birthdate"`
	Country        *string         `json:"country"`
	Province       *string         `json:"province"`
	City           *string         `json:"city"`
	Address        *string         `json:"address"`
	StreetAddress  *string         `json:"streetAddress"`
	PostalCode     *string         `json:"postalCode"`
	Gender         *string         `json:"gender"`
	Username       *string         `json:"username"`
	Company        *string         `json:"company"`
	CustomData     json.RawMessage `json:"customData"`
	IdentityNumber *string         `json:"identityNumber"`
}

// BindEmailDto is POST /api/v3/bind-email's body.
type BindEmailDto struct {
	PassCode string `json:"passCode"`
	Email    string `json:"email"`
}

// UnbindEmailDto is POST /api/v3/unbind-email's (and unbind-phone's) body.
type UnbindEmailDto struct {
	PassCode string `json:"passCode"`
}

// BindPhoneDto is POST /api/v3/bind-phone's body.
type BindPhoneDto struct {
	PassCode         string `json:"passCode"`
	PhoneNumber      string `json:"phoneNumber"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// UpdatePasswordDto is POST /api/v3/update-password's body.
type UpdatePasswordDto struct {
	NewPassword         string `json:"newPassword"`
	OldPassword         string `json:"oldPassword"`
	PasswordEncryptType string `json:"passwordEncryptType"`
	PasswordResetToken  string `json:"passwordResetToken"`
}

// UpdateEmailByEmailPassCodeDto proves the old and new email.
type UpdateEmailByEmailPassCodeDto struct {
	NewEmail         string `json:"newEmail"`
	NewEmailPassCode string `json:"newEmailPassCode"`
	OldEmail         string `json:"oldEmail"`
	OldEmailPassCode string `json:"oldEmailPassCode"`
}

// VerifyUpdateEmailRequestDto is POST /api/v3/verify-update-email-request's body.
type VerifyUpdateEmailRequestDto struct {
	EmailPassCodePayload *UpdateEmailByEmailPassCodeDto `json:"emailPassCodePayload"`
	VerifyMethod         string                         `json:"verifyMethod"`
}

// UpdateEmailDto is POST /api/v3/update-email's body.
type UpdateEmailDto struct {
	UpdateEmailToken string `json:"updateEmailToken"`
}

// UpdatePhoneByPhonePassCodeDto proves the old and new phone.
type UpdatePhoneByPhonePassCodeDto struct {
	NewPhoneNumber      string `json:"newPhoneNumber"`
	NewPhonePassCode    string `json:"newPhonePassCode"`
	NewPhoneCountryCode string `json:"newPhoneCountryCode"`
	OldPhoneNumber      string `json:"oldPhoneNumber"`
	OldPhonePassCode    string `json:"oldPhonePassCode"`
	OldPhoneCountryCode string `json:"oldPhoneCountryCode"`
}

// VerifyUpdatePhoneRequestDto is POST /api/v3/verify-update-phone-request's body.
type VerifyUpdatePhoneRequestDto struct {
	PhonePassCodePayload *UpdatePhoneByPhonePassCodeDto `json:"phonePassCodePayload"`
	VerifyMethod         string                         `json:"verifyMethod"`
}

// UpdatePhoneDto is POST /api/v3/update-phone's body.
type UpdatePhoneDto struct {
	UpdatePhoneToken string `json:"updatePhoneToken"`
}

// DeleteAccountByEmailPassCodeDto proves the account by email code.
type DeleteAccountByEmailPassCodeDto struct {
	Email    string `json:"email"`
	PassCode string `json:"passCode"`
}

// DeleteAccountByPhonePassCodeDto proves the account by SMS code.
type DeleteAccountByPhonePassCodeDto struct {
	PhoneNumber      string `json:"phoneNumber"`
	PassCode         string `json:"passCode"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// DeleteAccountByPasswordDto proves the account by password.
type DeleteAccountByPasswordDto struct {
	Password            string `json:"password"`
	PasswordEncryptType string `json:"passwordEncryptType"`
}

// VerifyDeleteAccountRequestDto is POST /api/v3/verify-delete-account-request's body.
type VerifyDeleteAccountRequestDto struct {
	VerifyMethod         string                           `json:"verifyMethod"`
	PhonePassCodePayload *DeleteAccountByPhonePassCodeDto `json:"phonePassCodePayload"`
	EmailPassCodePayload *DeleteAccountByEmailPassCodeDto `json:"emailPassCodePayload"`
	PasswordPayload      *DeleteAccountByPasswordDto      `json:"passwordPayload"`
}

// DeleteAccounDto (sic, the SDK's name) is POST /api/v3/delete-account's body.
type DeleteAccounDto struct {
	DeleteAccountToken string `json:"deleteAccountToken"`
}

// routesUser mounts the user-information module. Every route needs the
// user's access token; codes and passwords are limited per IP like the
// other credential endpoints.
func (s *Server) routesUser(api func(string, bool, func(http.ResponseWriter, *http.Request) error)) {
	api("POST /api/v3/update-profile", false, forUser(s, s.updateProfile))
	api("POST /api/v3/bind-email", true, forUser(s, func(r *http.Request, p session.Principal, in *BindEmailDto) (any, error) {
		return nil, s.accounts.BindEmail(r.Context(), p, in.Email, in.PassCode, lang(r))
	}))
	api("POST /api/v3/unbind-email", true, forUser(s, func(r *http.Request, p session.Principal, in *UnbindEmailDto) (any, error) {
		return nil, s.accounts.UnbindEmail(r.Context(), p, in.PassCode, lang(r))
	}))
	api("POST /api/v3/bind-phone", true, forUser(s, func(r *http.Request, p session.Principal, in *BindPhoneDto) (any, error) {
		return nil, s.accounts.BindPhone(r.Context(), p, in.PhoneNumber, in.PhoneCountryCode, in.PassCode, lang(r))
	}))
	api("POST /api/v3/unbind-phone", true, forUser(s, func(r *http.Request, p session.Principal, in *UnbindEmailDto) (any, error) {
		return nil, s.accounts.UnbindPhone(r.Context(), p, in.PassCode, lang(r)) // UnbindPhoneDto has the same one field
	}))
	api("GET /api/v3/get-security-info", false, s.handleSecurityInfo)
	api("POST /api/v3/update-password", true, forUser(s, s.updatePassword))
	api("POST /api/v3/verify-update-email-request", true, forUser(s, s.verifyUpdateEmail))
	api("POST /api/v3/update-email", true, forUser(s, func(r *http.Request, p session.Principal, in *UpdateEmailDto) (any, error) {
		return success, s.accounts.UpdateEmail(r.Context(), p, in.UpdateEmailToken, lang(r))
	}))
	api("POST /api/v3/verify-update-phone-request", true, forUser(s, s.verifyUpdatePhone))
	api("POST /api/v3/update-phone", true, forUser(s, func(r *http.Request, p session.Principal, in *UpdatePhoneDto) (any, error) {
		return success, s.accounts.UpdatePhone(r.Context(), p, in.UpdatePhoneToken, lang(r))
	}))
	api("POST /api/v3/verify-delete-account-request", true, forUser(s, s.verifyDeleteAccount))
	api("POST /api/v3/delete-account", true, forUser(s, func(r *http.Request, p session.Principal, in *DeleteAccounDto) (any, error) {
		return success, s.accounts.DeleteAccount(r.Context(), p, in.DeleteAccountToken, lang(r))
	}))
}

// success is IsSuccessDto's data.
var success = map[string]bool{"success": true}

// forUser adapts a handler of the signed-in user: it authenticates the
// access token, decodes the body into a T and writes what fn returns.
func forUser[T any](s *Server, fn func(r *http.Request, p session.Principal, in *T) (any, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.principal(r)
		if err != nil {
			return err
		}
		in := new(T)
		if err := decode(r, in); err != nil {
			return err
		}
		out, err := fn(r, p, in)
		if err != nil {
			return err
		}
		return writeOK(w, out)
	}
}

// updateProfile serves POST /api/v3/update-profile (→ UserSingleRespDto).
func (s *Server) updateProfile(r *http.Request, p session.Principal, in *UpdateUserProfileDto) (any, error) {
	if in.Gender != nil {
		switch *in.Gender {
		case "M", "F", "U":
		default:
			return nil, apierr.BadRequest("gender", "must be one of M, F, U")
		}
	}
	u, err := s.accounts.UpdateProfile(r.Context(), p, account.ProfileUpdate{Name: in.Name, Nickname: in.Nickname,
		Photo: in.Photo, ExternalID: in.ExternalID, Birthdate: in.Birthdate, Country: in.Country, Province: in.Province,
		City: in.City, Address: in.Address, StreetAddress: in.StreetAddress, PostalCode: in.PostalCode, Gender: in.Gender,
		Username: in.Username, Company: in.Company, IdentityNumber: in.IdentityNumber, CustomData: in.CustomData})
	if err != nil {
		return nil, err
	}
	return s.userDTO(u), nil
}

// handleSecurityInfo serves GET /api/v3/get-security-info (→ GetSecurityInfoRespDto).
func (s *Server) handleSecurityInfo(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	si, err := s.accounts.Security(r.Context(), p)
	if err != nil {
		return err
	}
	return writeOK(w, si)
}

// updatePassword serves POST /api/v3/update-password (→ CommonResponseDto).
func (s *Server) updatePassword(r *http.Request, p session.Principal, in *UpdatePasswordDto) (any, error) {
	if err := encryptTypes.check("passwordEncryptType", in.PasswordEncryptType); err != nil {
		return nil, err
	}
	if in.PasswordResetToken != "" {
		// In place of the old password: the address is proven instead.
		if in.OldPassword != "" {
			return nil, apierr.BadRequest("passwordResetToken", "send oldPassword or passwordResetToken, not both")
		}
		return nil, s.recovery.UpdateSignedIn(r.Context(), p, in.NewPassword, in.PasswordEncryptType, in.PasswordResetToken, lang(r))
	}
	return nil, s.accounts.UpdatePassword(r.Context(), p, in.NewPassword, in.OldPassword, in.PasswordEncryptType, lang(r))
}

type changeToken struct {
	UpdateEmailToken string `json:"updateEmailToken,omitempty"`
	UpdatePhoneToken string `json:"updatePhoneToken,omitempty"`
	DeleteToken      string `json:"deleteAccountToken,omitempty"`
	TokenExpiresIn   int    `json:"tokenExpiresIn"`
}

// verifyUpdateEmail serves POST /api/v3/verify-update-email-request
// (→ VerifyUpdateEmailRequestRespDto).
func (s *Server) verifyUpdateEmail(r *http.Request, p session.Principal, in *VerifyUpdateEmailRequestDto) (any, error) {
	if in.VerifyMethod != "EMAIL_PASSCODE" {
		return nil, apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE")
	}
	if in.EmailPassCodePayload == nil {
		return nil, apierr.BadRequest("emailPassCodePayload", "is required")
	}
	e := in.EmailPassCodePayload
	tok, ttl, err := s.accounts.VerifyEmailChange(r.Context(), p, account.EmailChange{NewEmail: e.NewEmail,
		NewCode: e.NewEmailPassCode, OldEmail: e.OldEmail, OldCode: e.OldEmailPassCode})
	if err != nil {
		return nil, err
	}
	return changeToken{UpdateEmailToken: tok, TokenExpiresIn: ttl}, nil
}

// verifyUpdatePhone serves POST /api/v3/verify-update-phone-request
// (→ VerifyUpdatePhoneRequestRespDto).
func (s *Server) verifyUpdatePhone(r *http.Request, p session.Principal, in *VerifyUpdatePhoneRequestDto) (any, error) {
	if in.VerifyMethod != "PHONE_PASSCODE" {
		return nil, apierr.BadRequest("verifyMethod", "must be PHONE_PASSCODE")
	}
	if in.PhonePassCodePayload == nil {
		return nil, apierr.BadRequest("phonePassCodePayload", "is required")
	}
	q := in.PhonePassCodePayload
	tok, ttl, err := s.accounts.VerifyPhoneChange(r.Context(), p, account.PhoneChange{NewPhone: q.NewPhoneNumber,
		NewCountryCode: q.NewPhoneCountryCode, NewCode: q.NewPhonePassCode, OldPhone: q.OldPhoneNumber,
		OldCountryCode: q.OldPhoneCountryCode, OldCode: q.OldPhonePassCode})
	if err != nil {
		return nil, err
	}
	return changeToken{UpdatePhoneToken: tok, TokenExpiresIn: ttl}, nil
}

// verifyDeleteAccount serves POST /api/v3/verify-delete-account-request
// (→ VerifyDeleteAccountRequestRespDto).
func (s *Server) verifyDeleteAccount(r *http.Request, p session.Principal, in *VerifyDeleteAccountRequestDto) (any, error) {
	d := account.DeleteProof{Method: in.VerifyMethod}
	switch in.VerifyMethod {
	case "EMAIL_PASSCODE":
		if in.EmailPassCodePayload == nil {
			return nil, apierr.BadRequest("emailPassCodePayload", "is required when verifyMethod is EMAIL_PASSCODE")
		}
		d.Email, d.Code = in.EmailPassCodePayload.Email, in.EmailPassCodePayload.PassCode
	case "PHONE_PASSCODE":
		if in.PhonePassCodePayload == nil {
			return nil, apierr.BadRequest("phonePassCodePayload", "is required when verifyMethod is PHONE_PASSCODE")
		}
		q := in.PhonePassCodePayload
		d.Phone, d.CountryCode, d.Code = q.PhoneNumber, q.PhoneCountryCode, q.PassCode
	case "PASSWORD":
		if in.PasswordPayload == nil {
			return nil, apierr.BadRequest("passwordPayload", "is required when verifyMethod is PASSWORD")
		}
		if err := encryptTypes.check("passwordPayload.passwordEncryptType", in.PasswordPayload.PasswordEncryptType); err != nil {
			return nil, err
		}
		d.Password, d.PasswordEncryptType = in.PasswordPayload.Password, in.PasswordPayload.PasswordEncryptType
	default:
		return nil, apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE, PHONE_PASSCODE or PASSWORD")
	}
	tok, ttl, err := s.accounts.VerifyDelete(r.Context(), p, d)
	if err != nil {
		return nil, err
	}
	return changeToken{DeleteToken: tok, TokenExpiresIn: ttl}, nil
}
