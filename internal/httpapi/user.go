package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
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
	api("POST /api/v3/update-profile", false, s.handleUpdateProfile)
	api("POST /api/v3/bind-email", true, s.handleBindEmail)
	api("POST /api/v3/unbind-email", true, s.handleUnbindEmail)
	api("POST /api/v3/bind-phone", true, s.handleBindPhone)
	api("POST /api/v3/unbind-phone", true, s.handleUnbindPhone)
	api("GET /api/v3/get-security-info", false, s.handleSecurityInfo)
	api("POST /api/v3/update-password", true, s.handleUpdatePassword)
	api("POST /api/v3/verify-update-email-request", true, s.handleVerifyUpdateEmail)
	api("POST /api/v3/update-email", true, s.handleUpdateEmail)
	api("POST /api/v3/verify-update-phone-request", true, s.handleVerifyUpdatePhone)
	api("POST /api/v3/update-phone", true, s.handleUpdatePhone)
	api("POST /api/v3/verify-delete-account-request", true, s.handleVerifyDeleteAccount)
	api("POST /api/v3/delete-account", true, s.handleDeleteAccount)
}

// handleUpdateProfile serves POST /api/v3/update-profile (→ UserSingleRespDto).
func (s *Server) handleUpdateProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UpdateUserProfileDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Gender != nil {
		switch *in.Gender {
		case "M", "F", "U":
		default:
			return apierr.BadRequest("gender", "must be one of M, F, U")
		}
	}
	u, err := s.accounts.UpdateProfile(r.Context(), p, account.ProfileUpdate{Name: in.Name, Nickname: in.Nickname,
		Photo: in.Photo, ExternalID: in.ExternalID, Birthdate: in.Birthdate, Country: in.Country, Province: in.Province,
		City: in.City, Address: in.Address, StreetAddress: in.StreetAddress, PostalCode: in.PostalCode, Gender: in.Gender,
		Username: in.Username, Company: in.Company, IdentityNumber: in.IdentityNumber, CustomData: in.CustomData})
	if err != nil {
		return err
	}
	return writeOK(w, s.userDTO(u))
}

// handleBindEmail serves POST /api/v3/bind-email (→ CommonResponseDto).
func (s *Server) handleBindEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in BindEmailDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.BindEmail(r.Context(), p, in.Email, in.PassCode, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

// handleUnbindEmail serves POST /api/v3/unbind-email (→ CommonResponseDto).
func (s *Server) handleUnbindEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UnbindEmailDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.UnbindEmail(r.Context(), p, in.PassCode, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

// handleBindPhone serves POST /api/v3/bind-phone (→ CommonResponseDto).
func (s *Server) handleBindPhone(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in BindPhoneDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.BindPhone(r.Context(), p, in.PhoneNumber, in.PhoneCountryCode, in.PassCode, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

// handleUnbindPhone serves POST /api/v3/unbind-phone (→ CommonResponseDto).
func (s *Server) handleUnbindPhone(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UnbindEmailDto // UnbindPhoneDto has the same single field
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.UnbindPhone(r.Context(), p, in.PassCode, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
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

// handleUpdatePassword serves POST /api/v3/update-password (→ CommonResponseDto).
func (s *Server) handleUpdatePassword(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UpdatePasswordDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := encryptTypes.check("passwordEncryptType", in.PasswordEncryptType); err != nil {
		return err
	}
	if in.PasswordResetToken != "" {
		return apierr.BadRequest("passwordResetToken", "is not accepted here: use /api/v3/reset-password")
	}
	if err := s.accounts.UpdatePassword(r.Context(), p, in.NewPassword, in.OldPassword, in.PasswordEncryptType, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

type changeToken struct {
	UpdateEmailToken string `json:"updateEmailToken,omitempty"`
	UpdatePhoneToken string `json:"updatePhoneToken,omitempty"`
	DeleteToken      string `json:"deleteAccountToken,omitempty"`
	TokenExpiresIn   int    `json:"tokenExpiresIn"`
}

// handleVerifyUpdateEmail serves POST /api/v3/verify-update-email-request
// (→ VerifyUpdateEmailRequestRespDto).
func (s *Server) handleVerifyUpdateEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in VerifyUpdateEmailRequestDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.VerifyMethod != "EMAIL_PASSCODE" {
		return apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE")
	}
	if in.EmailPassCodePayload == nil {
		return apierr.BadRequest("emailPassCodePayload", "is required")
	}
	e := in.EmailPassCodePayload
	tok, ttl, err := s.accounts.VerifyEmailChange(r.Context(), p, account.EmailChange{NewEmail: e.NewEmail,
		NewCode: e.NewEmailPassCode, OldEmail: e.OldEmail, OldCode: e.OldEmailPassCode})
	if err != nil {
		return err
	}
	return writeOK(w, changeToken{UpdateEmailToken: tok, TokenExpiresIn: ttl})
}

// handleUpdateEmail serves POST /api/v3/update-email (→ IsSuccessRespDto).
func (s *Server) handleUpdateEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UpdateEmailDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.UpdateEmail(r.Context(), p, in.UpdateEmailToken, lang(r)); err != nil {
		return err
	}
	return writeOK(w, map[string]bool{"success": true})
}

// handleVerifyUpdatePhone serves POST /api/v3/verify-update-phone-request
// (→ VerifyUpdatePhoneRequestRespDto).
func (s *Server) handleVerifyUpdatePhone(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in VerifyUpdatePhoneRequestDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.VerifyMethod != "PHONE_PASSCODE" {
		return apierr.BadRequest("verifyMethod", "must be PHONE_PASSCODE")
	}
	if in.PhonePassCodePayload == nil {
		return apierr.BadRequest("phonePassCodePayload", "is required")
	}
	q := in.PhonePassCodePayload
	tok, ttl, err := s.accounts.VerifyPhoneChange(r.Context(), p, account.PhoneChange{NewPhone: q.NewPhoneNumber,
		NewCountryCode: q.NewPhoneCountryCode, NewCode: q.NewPhonePassCode, OldPhone: q.OldPhoneNumber,
		OldCountryCode: q.OldPhoneCountryCode, OldCode: q.OldPhonePassCode})
	if err != nil {
		return err
	}
	return writeOK(w, changeToken{UpdatePhoneToken: tok, TokenExpiresIn: ttl})
}

// handleUpdatePhone serves POST /api/v3/update-phone (→ IsSuccessRespDto).
func (s *Server) handleUpdatePhone(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in UpdatePhoneDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.UpdatePhone(r.Context(), p, in.UpdatePhoneToken, lang(r)); err != nil {
		return err
	}
	return writeOK(w, map[string]bool{"success": true})
}

// handleVerifyDeleteAccount serves POST /api/v3/verify-delete-account-request
// (→ VerifyDeleteAccountRequestRespDto).
func (s *Server) handleVerifyDeleteAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in VerifyDeleteAccountRequestDto
	if err := decode(r, &in); err != nil {
		return err
	}
	d := account.DeleteProof{Method: in.VerifyMethod}
	switch in.VerifyMethod {
	case "EMAIL_PASSCODE":
		if in.EmailPassCodePayload == nil {
			return apierr.BadRequest("emailPassCodePayload", "is required when verifyMethod is EMAIL_PASSCODE")
		}
		d.Email, d.Code = in.EmailPassCodePayload.Email, in.EmailPassCodePayload.PassCode
	case "PHONE_PASSCODE":
		if in.PhonePassCodePayload == nil {
			return apierr.BadRequest("phonePassCodePayload", "is required when verifyMethod is PHONE_PASSCODE")
		}
		q := in.PhonePassCodePayload
		d.Phone, d.CountryCode, d.Code = q.PhoneNumber, q.PhoneCountryCode, q.PassCode
	case "PASSWORD":
		if in.PasswordPayload == nil {
			return apierr.BadRequest("passwordPayload", "is required when verifyMethod is PASSWORD")
		}
		if err := encryptTypes.check("passwordPayload.passwordEncryptType", in.PasswordPayload.PasswordEncryptType); err != nil {
			return err
		}
		d.Password, d.PasswordEncryptType = in.PasswordPayload.Password, in.PasswordPayload.PasswordEncryptType
	default:
		return apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE, PHONE_PASSCODE or PASSWORD")
	}
	tok, ttl, err := s.accounts.VerifyDelete(r.Context(), p, d)
	if err != nil {
		return err
	}
	return writeOK(w, changeToken{DeleteToken: tok, TokenExpiresIn: ttl})
}

// handleDeleteAccount serves POST /api/v3/delete-account (→ IsSuccessRespDto).
func (s *Server) handleDeleteAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var in DeleteAccounDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.DeleteAccount(r.Context(), p, in.DeleteAccountToken, lang(r)); err != nil {
		return err
	}
	return writeOK(w, map[string]bool{"success": true})
}
