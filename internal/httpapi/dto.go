package httpapi

import (
	"encoding/json"
	"time"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Wire types, named and spelled as authing-node-sdk 4.0.1's dist/models.

// SendEmailDto is POST /api/v3/send-email's body.
type SendEmailDto struct {
	Channel string `json:"channel"`
	Email   string `json:"email"`
}

// SendSMSDto is POST /api/v3/send-sms's body.
type SendSMSDto struct {
	Channel          string `json:"channel"`
	PhoneNumber      string `json:"phoneNumber"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// emailChannels and smsChannels are the enums of SendEmailDto / SendSMSDto.
var emailChannels = enum("CHANNEL_LOGIN", "CHANNEL_REGISTER", "CHANNEL_RESET_PASSWORD", "CHANNEL_VERIFY_EMAIL_LINK",
	"CHANNEL_UPDATE_EMAIL", "CHANNEL_BIND_EMAIL", "CHANNEL_UNBIND_EMAIL", "CHANNEL_VERIFY_MFA", "CHANNEL_UNLOCK_ACCOUNT",
	"CHANNEL_COMPLETE_EMAIL", "CHANNEL_DELETE_ACCOUNT")

var smsChannels = enum("CHANNEL_LOGIN", "CHANNEL_REGISTER", "CHANNEL_RESET_PASSWORD", "CHANNEL_BIND_PHONE",
	"CHANNEL_UNBIND_PHONE", "CHANNEL_BIND_MFA", "CHANNEL_VERIFY_MFA", "CHANNEL_UNBIND_MFA", "CHANNEL_COMPLETE_PHONE",
	"CHANNEL_IDENTITY_VERIFICATION", "CHANNEL_DELETE_ACCOUNT")

var encryptTypes = enum("", "none", "rsa", "sm2")

type enumSet struct {
	values map[string]bool
	list   string
}

func enum(vals ...string) enumSet {
	e := enumSet{values: map[string]bool{}}
	for _, v := range vals {
		e.values[v] = true
		if v == "" {
			continue
		}
		if e.list != "" {
			e.list += ", "
		}
		e.list += v
	}
	return e
}

// check names field when v is missing or not one of the set.
func (e enumSet) check(field, v string) error {
	if v == "" && !e.values[""] {
		return apierr.BadRequest(field, "is required (one of "+e.list+")")
	}
	if !e.values[v] {
		return apierr.BadRequest(field, "must be one of "+e.list)
	}
	return nil
}

// ResetPasswordByEmailPassCodeDto is the email form of the reset proof.
type ResetPasswordByEmailPassCodeDto struct {
	Email    string `json:"email"`
	PassCode string `json:"passCode"`
}

// ResetPasswordByPhonePassCodeDto is the phone form of the reset proof.
type ResetPasswordByPhonePassCodeDto struct {
	PhoneNumber      string `json:"phoneNumber"`
	PassCode         string `json:"passCode"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// VerifyResetPasswordRequestDto is POST /api/v3/verify-reset-password-request's body.
type VerifyResetPasswordRequestDto struct {
	VerifyMethod         string                           `json:"verifyMethod"`
	PhonePassCodePayload *ResetPasswordByPhonePassCodeDto `json:"phonePassCodePayload"`
	EmailPassCodePayload *ResetPasswordByEmailPassCodeDto `json:"emailPassCodePayload"`
}

// ResetPasswordDto is POST /api/v3/reset-password's body.
type ResetPasswordDto struct {
	Password            string `json:"password"`
	PasswordResetToken  string `json:"passwordResetToken"`
	PasswordEncryptType string `json:"passwordEncryptType"`
}

// SignUpByPasswordDto and the other SignUp* types are /api/v3/signup's body.
type SignUpByPasswordDto struct {
	Password string `json:"password"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// SignUpByPassCodeDto registers with a code.
type SignUpByPassCodeDto struct {
	PassCode         string `json:"passCode"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// SignUpProfileDto is the profile given at registration.
type SignUpProfileDto struct {
	account.Profile
	Email            string `json:"email,omitempty"`
	Phone            string `json:"phone,omitempty"`
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// SignUpOptionsDto are registration options.
type SignUpOptionsDto struct {
	ClientIP                              string          `json:"clientIp"`
	PhonePassCodeForInformationCompletion string          `json:"phonePassCodeForInformationCompletion"`
	EmailPassCodeForInformationCompletion string          `json:"emailPassCodeForInformationCompletion"`
	PasswordForPhonePassCode              string          `json:"passwordForPhonePassCode"`
	Context                               json.RawMessage `json:"context"`
	PasswordEncryptType                   string          `json:"passwordEncryptType"`
}

// SignUpDto is POST /api/v3/signup's body.
type SignUpDto struct {
	Connection      string               `json:"connection"`
	PasswordPayload *SignUpByPasswordDto `json:"passwordPayload"`
	PassCodePayload *SignUpByPassCodeDto `json:"passCodePayload"`
	Profile         *SignUpProfileDto    `json:"profile"`
	Options         *SignUpOptionsDto    `json:"options"`
}

// SignInByPasswordPayloadDto is the password form of sign-in.
type SignInByPasswordPayloadDto struct {
	Password string `json:"password"`
	Account  string `json:"account"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Phone    string `json:"phone"`
}

// SignInByPassCodePayloadDto is the code form of sign-in.
type SignInByPassCodePayloadDto struct {
	PassCode         string `json:"passCode"`
	Email            string `json:"email"`
	Phone            string `json:"phone"`
	PhoneCountryCode string `json:"phoneCountryCode"`
}

// SignInOptionsDto are sign-in options.
type SignInOptionsDto struct {
	Scope               string          `json:"scope"`
	ClientIP            string          `json:"clientIp"`
	Context             json.RawMessage `json:"context"`
	TenantID            string          `json:"tenantId"`
	CustomData          json.RawMessage `json:"customData"`
	AutoRegister        bool            `json:"autoRegister"`
	CaptchaCode         string          `json:"captchaCode"`
	CaptchaToken        string          `json:"captchaToken"`
	PasswordEncryptType string          `json:"passwordEncryptType"`
}

// SigninByCredentialsDto is POST /api/v3/signin's body.
type SigninByCredentialsDto struct {
	Connection      string                      `json:"connection"`
	PasswordPayload *SignInByPasswordPayloadDto `json:"passwordPayload"`
	PassCodePayload *SignInByPassCodePayloadDto `json:"passCodePayload"`
	AdPayload       json.RawMessage             `json:"adPayload"`
	LdapPayload     json.RawMessage             `json:"ldapPayload"`
	Options         *SignInOptionsDto           `json:"options"`
	ClientID        string                      `json:"client_id"`
	ClientSecret    string                      `json:"client_secret"`
}

// UserDto is the account as clients see it.
type UserDto struct {
	UserID            string          `json:"userId"`
	CreatedAt         string          `json:"createdAt"`
	UpdatedAt         string          `json:"updatedAt"`
	Status            string          `json:"status"`
	WorkStatus        string          `json:"workStatus"`
	Email             string          `json:"email,omitempty"`
	Phone             string          `json:"phone,omitempty"`
	PhoneCountryCode  string          `json:"phoneCountryCode,omitempty"`
	Username          string          `json:"username,omitempty"`
	Name              string          `json:"name,omitempty"`
	Nickname          string          `json:"nickname,omitempty"`
	Photo             string          `json:"photo,omitempty"`
	LoginsCount       int             `json:"loginsCount"`
	LastLogin         string          `json:"lastLogin,omitempty"`
	LastIP            string          `json:"lastIp,omitempty"`
	Gender            string          `json:"gender"`
	EmailVerified     bool            `json:"emailVerified"`
	PhoneVerified     bool            `json:"phoneVerified"`
	PasswordLastSetAt string          `json:"passwordLastSetAt,omitempty"`
	Birthdate         string          `json:"birthdate,omitempty"`
	Country           string          `json:"country,omitempty"`
	Province          string          `json:"province,omitempty"`
	City              string          `json:"city,omitempty"`
	ExternalID        string          `json:"externalId,omitempty"`
	IdentityNumber    string          `json:"identityNumber,omitempty"`
	Address           string          `json:"address,omitempty"`
	StreetAddress     string          `json:"streetAddress,omitempty"`
	PostalCode        string          `json:"postalCode,omitempty"`
	Company           string          `json:"company,omitempty"`
	Browser           string          `json:"browser,omitempty"`
	Device            string          `json:"device,omitempty"`
	GivenName         string          `json:"givenName,omitempty"`
	FamilyName        string          `json:"familyName,omitempty"`
	MiddleName        string          `json:"middleName,omitempty"`
	Profile           string          `json:"profile,omitempty"`
	PreferredUsername string          `json:"preferredUsername,omitempty"`
	Website           string          `json:"website,omitempty"`
	Zoneinfo          string          `json:"zoneinfo,omitempty"`
	Locale            string          `json:"locale,omitempty"`
	Formatted         string          `json:"formatted,omitempty"`
	Region            string          `json:"region,omitempty"`
	UserSourceType    string          `json:"userSourceType"`
	CustomData        json.RawMessage `json:"customData,omitempty"`
	// Sent (empty) only when asked for: omitzero keeps an empty slice.
	Identities    []any    `json:"identities,omitzero"`
	DepartmentIDs []string `json:"departmentIds,omitzero"`
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// userDTO renders an account; phone is shown in national form with its
// country code, as GenAuth does.
func (s *Server) userDTO(u store.User) UserDto {
	p := account.ProfileOf(u)
	d := UserDto{
		UserID: u.ID, CreatedAt: iso(u.CreatedAt), UpdatedAt: iso(u.UpdatedAt), Status: u.Status, WorkStatus: "Active",
		Email: u.Email, Username: u.Username, Name: p.Name, Nickname: p.Nickname, Photo: p.Photo,
		LoginsCount: u.LoginsCount, LastLogin: iso(u.LastLogin), LastIP: u.LastIP, Gender: p.Gender,
		EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified, PasswordLastSetAt: iso(u.PasswordLastSetAt),
		Birthdate: p.Birthdate, Country: p.Country, Province: p.Province, City: p.City, ExternalID: p.ExternalID, IdentityNumber: p.IdentityNumber, Address: p.Address,
		StreetAddress: p.StreetAddress, PostalCode: p.PostalCode, Company: p.Company, Browser: p.Browser, Device: p.Device,
		GivenName: p.GivenName, FamilyName: p.FamilyName, MiddleName: p.MiddleName, Profile: p.Profile,
		PreferredUsername: p.PreferredUsername, Website: p.Website, Zoneinfo: p.Zoneinfo, Locale: p.Locale,
		Formatted: p.Formatted, Region: p.Region, UserSourceType: "register", CustomData: p.CustomData,
	}
	if d.Gender == "" {
		d.Gender = "U"
	}
	if u.Phone != "" {
		if ph, err := s.accounts.ParsePhone("phone", u.Phone, ""); err == nil {
			d.Phone, d.PhoneCountryCode = ph.National, ph.CountryCode
		} else {
			d.Phone = u.Phone
		}
	}
	return d
}
