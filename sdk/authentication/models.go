package authentication

// Request and response bodies, named and shaped as the models in
// authing-node-sdk 4.0.1 dist/models/*.d.ts (the field-level truth; the test
// models_drift_test.go compares them). Two names keep the Node SDK's spelling
// mistakes, DeleteAccounDto and SystmeInfo*, so that code and documentation
// written against the Node SDK map one-to-one.
//
// Required fields are plain; optional ones are tagged omitempty, and optional
// nested objects are pointers so that they are left out when nil.

// ---- Others --------------------------------------------------------------

// SystemInfoResp is the reply of GET /api/v3/system.
//
// The Node SDK types this reply without an envelope (rsa, sm2, version and
// publicIps at the top level) while other GenAuth clients read them from
// data. Keyhaven sends both, and this type decodes either form: after
// [AuthenticationClient.GetSystemInfo] returns, both the top-level fields and
// Data are filled. StatusCode, Message, APICode, RequestID and Data are
// Keyhaven additions to the Node model.
type SystemInfoResp struct {
	// StatusCode is the business status; 200 on success (0 if the server sent none).
	StatusCode int `json:"statusCode,omitempty"`
	// Message describes the outcome.
	Message string `json:"message,omitempty"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data holds the same four fields as the top level.
	Data *SystemInfo `json:"data,omitempty"`

	// RSA is the RSA public key used for PasswordEncryptType "rsa".
	RSA SystmeInfoRSAConfig `json:"rsa"`
	// SM2 is the SM2 public key used for PasswordEncryptType "sm2".
	SM2 SystmeInfoSM2Config `json:"sm2"`
	// Version lists the versions of the server components.
	Version SystmeInfoVersion `json:"version"`
	// PublicIPs are the server's public egress addresses.
	PublicIPs []string `json:"publicIps"`
}

// SystemInfo is the data of [SystemInfoResp]: the fields of the Node SDK's
// SystemInfoResp, as carried inside the envelope.
type SystemInfo struct {
	// RSA is the RSA public key.
	RSA SystmeInfoRSAConfig `json:"rsa"`
	// SM2 is the SM2 public key.
	SM2 SystmeInfoSM2Config `json:"sm2"`
	// Version lists the versions of the server components.
	Version SystmeInfoVersion `json:"version"`
	// PublicIPs are the server's public egress addresses.
	PublicIPs []string `json:"publicIps"`
}

// SystmeInfoRSAConfig carries the server's RSA public key (name as in the Node SDK).
type SystmeInfoRSAConfig struct {
	// PublicKey is a PEM "PUBLIC KEY" block (SubjectPublicKeyInfo).
	PublicKey string `json:"publicKey"`
}

// SystmeInfoSM2Config carries the server's SM2 public key (name as in the Node SDK).
type SystmeInfoSM2Config struct {
	// PublicKey is the hex of the uncompressed point 04‖x‖y.
	PublicKey string `json:"publicKey"`
}

// SystmeInfoVersion lists component versions (name as in the Node SDK).
type SystmeInfoVersion struct {
	// Server is the server version.
	Server string `json:"server"`
	// Console is the console version.
	Console string `json:"console"`
	// Login is the hosted login page version.
	Login string `json:"login"`
}

// ---- Common envelopes ----------------------------------------------------

// CommonResponseDto is an envelope without data.
type CommonResponseDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
}

// IsSuccessRespDto is an envelope whose data says whether the operation succeeded.
type IsSuccessRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data is the result.
	Data IsSuccessDto `json:"data"`
}

// IsSuccessDto is the data of [IsSuccessRespDto].
type IsSuccessDto struct {
	// Success is true when the operation took effect.
	Success bool `json:"success"`
}

// ---- Message -------------------------------------------------------------

// SendEmailDto is the body of POST /api/v3/send-email.
type SendEmailDto struct {
	// Channel is what the code will be good for.
	Channel Channel `json:"channel"`
	// Email is the address to send the code to.
	Email string `json:"email"`
}

// SendEmailRespDto is the reply of POST /api/v3/send-email.
type SendEmailRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
}

// SendSMSDto is the body of POST /api/v3/send-sms.
type SendSMSDto struct {
	// Channel is what the code will be good for.
	Channel Channel `json:"channel"`
	// PhoneNumber is the number to send the code to.
	PhoneNumber string `json:"phoneNumber"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// SendSMSRespDto is the reply of POST /api/v3/send-sms.
type SendSMSRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
}

// ---- Forgot password -----------------------------------------------------

// VerifyResetPasswordRequestDto is the body of POST
// /api/v3/verify-reset-password-request: it trades a CHANNEL_RESET_PASSWORD
// code for a password reset token.
type VerifyResetPasswordRequestDto struct {
	// VerifyMethod is EMAIL_PASSCODE or PHONE_PASSCODE.
	VerifyMethod VerifyMethod `json:"verifyMethod"`
	// PhonePassCodePayload is set for PHONE_PASSCODE.
	PhonePassCodePayload *ResetPasswordByPhonePassCodeDto `json:"phonePassCodePayload,omitempty"`
	// EmailPassCodePayload is set for EMAIL_PASSCODE.
	EmailPassCodePayload *ResetPasswordByEmailPassCodeDto `json:"emailPassCodePayload,omitempty"`
}

// ResetPasswordByEmailPassCodeDto proves control of an email address.
type ResetPasswordByEmailPassCodeDto struct {
	// Email is the account's address.
	Email string `json:"email,omitempty"`
	// PassCode is the code sent to it.
	PassCode string `json:"passCode"`
}

// ResetPasswordByPhonePassCodeDto proves control of a phone number.
type ResetPasswordByPhonePassCodeDto struct {
	// PhoneNumber is the account's number.
	PhoneNumber string `json:"phoneNumber"`
	// PassCode is the code sent to it.
	PassCode string `json:"passCode"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// PasswordResetVerifyResp is the reply of POST /api/v3/verify-reset-password-request.
type PasswordResetVerifyResp struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data carries the reset token.
	Data ResetPasswordVerify `json:"data"`
}

// ResetPasswordVerify is the data of [PasswordResetVerifyResp].
type ResetPasswordVerify struct {
	// PasswordResetToken is the single-use token for [ResetPasswordDto].
	PasswordResetToken string `json:"passwordResetToken"`
	// TokenExpiresIn is the token's lifetime in seconds.
	TokenExpiresIn int `json:"tokenExpiresIn"`
}

// ResetPasswordDto is the body of POST /api/v3/reset-password.
type ResetPasswordDto struct {
	// Password is the new password, encrypted as PasswordEncryptType says.
	Password string `json:"password"`
	// PasswordResetToken comes from [AuthenticationClient.VerifyResetPasswordRequest].
	PasswordResetToken string `json:"passwordResetToken"`
	// PasswordEncryptType is none (default), rsa or sm2.
	PasswordEncryptType PasswordEncryptType `json:"passwordEncryptType,omitempty"`
}

// ---- Register ------------------------------------------------------------

// SignUpDto is the body of POST /api/v3/signup.
type SignUpDto struct {
	// Connection is PASSWORD or PASSCODE.
	Connection Connection `json:"connection"`
	// PasswordPayload is set for PASSWORD.
	PasswordPayload *SignUpByPasswordDto `json:"passwordPayload,omitempty"`
	// PassCodePayload is set for PASSCODE.
	PassCodePayload *SignUpByPassCodeDto `json:"passCodePayload,omitempty"`
	// Profile holds the new user's profile fields.
	Profile *SignUpProfileDto `json:"profile,omitempty"`
	// Options holds sign-up options.
	Options *SignUpOptionsDto `json:"options,omitempty"`
}

// SignUpByPasswordDto signs up with a password and an email or username.
type SignUpByPasswordDto struct {
	// Password is the password, encrypted as Options.PasswordEncryptType says.
	Password string `json:"password"`
	// Username is the new username.
	Username string `json:"username,omitempty"`
	// Email is the new email address.
	Email string `json:"email,omitempty"`
}

// SignUpByPassCodeDto signs up with a CHANNEL_REGISTER code sent to an email or phone.
type SignUpByPassCodeDto struct {
	// PassCode is the code.
	PassCode string `json:"passCode"`
	// Email is the address the code was sent to.
	Email string `json:"email,omitempty"`
	// Phone is the number the code was sent to.
	Phone string `json:"phone,omitempty"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// SignUpProfileDto holds profile fields set at sign-up.
type SignUpProfileDto struct {
	Nickname          string `json:"nickname,omitempty"`          // nickname
	Company           string `json:"company,omitempty"`           // company
	Photo             string `json:"photo,omitempty"`             // avatar URL
	Device            string `json:"device,omitempty"`            // device
	Browser           string `json:"browser,omitempty"`           // browser
	Name              string `json:"name,omitempty"`              // full name
	GivenName         string `json:"givenName,omitempty"`         // given name
	FamilyName        string `json:"familyName,omitempty"`        // family name
	MiddleName        string `json:"middleName,omitempty"`        // middle name
	Profile           string `json:"profile,omitempty"`           // profile page URL
	PreferredUsername string `json:"preferredUsername,omitempty"` // preferred username
	Website           string `json:"website,omitempty"`           // website URL
	Gender            Gender `json:"gender,omitempty"`            // M, F or U
	Birthdate         string `json:"birthdate,omitempty"`         // birth date
	Zoneinfo          string `json:"zoneinfo,omitempty"`          // time zone
	Locale            string `json:"locale,omitempty"`            // locale
	Address           string `json:"address,omitempty"`           // address
	Formatted         string `json:"formatted,omitempty"`         // formatted address
	StreetAddress     string `json:"streetAddress,omitempty"`     // street address
	Locality          string `json:"locality,omitempty"`          // city or locality
	Region            string `json:"region,omitempty"`            // region
	PostalCode        string `json:"postalCode,omitempty"`        // postal code
	Country           string `json:"country,omitempty"`           // country
	Email             string `json:"email,omitempty"`             // email address
	Phone             string `json:"phone,omitempty"`             // phone number
	PhoneCountryCode  string `json:"phoneCountryCode,omitempty"`  // country calling code
	CustomData        any    `json:"customData,omitempty"`        // custom data, a JSON object
}

// SignUpOptionsDto holds sign-up options.
type SignUpOptionsDto struct {
	// ClientIP is the end user's address, when signing up on their behalf.
	ClientIP string `json:"clientIp,omitempty"`
	// PhonePassCodeForInformationCompletion completes a phone number with a code.
	PhonePassCodeForInformationCompletion string `json:"phonePassCodeForInformationCompletion,omitempty"`
	// EmailPassCodeForInformationCompletion completes an email address with a code.
	EmailPassCodeForInformationCompletion string `json:"emailPassCodeForInformationCompletion,omitempty"`
	// PasswordForPhonePassCode sets a password when signing up by phone code.
	PasswordForPhonePassCode string `json:"passwordForPhonePassCode,omitempty"`
	// Context is passed to pipeline functions. The Node model marks it
	// required, but the Node SDK omits it when undefined; so does this one.
	Context any `json:"context,omitempty"`
	// PasswordEncryptType is none (default), rsa or sm2.
	PasswordEncryptType PasswordEncryptType `json:"passwordEncryptType,omitempty"`
}

// ---- Login ---------------------------------------------------------------

// SigninByCredentialsDto is the body of POST /api/v3/signin.
type SigninByCredentialsDto struct {
	// Connection is PASSWORD, PASSCODE, LDAP or AD.
	Connection Connection `json:"connection"`
	// PasswordPayload is set for PASSWORD.
	PasswordPayload *SignInByPasswordPayloadDto `json:"passwordPayload,omitempty"`
	// PassCodePayload is set for PASSCODE.
	PassCodePayload *SignInByPassCodePayloadDto `json:"passCodePayload,omitempty"`
	// AdPayload is set for AD.
	AdPayload *SignInByAdPayloadDto `json:"adPayload,omitempty"`
	// LdapPayload is set for LDAP.
	LdapPayload *SignInByLdapPayloadDto `json:"ldapPayload,omitempty"`
	// Options holds sign-in options.
	Options *SignInOptionsDto `json:"options,omitempty"`
	// ClientID is the app id, for client_secret_post (filled in by the client when empty).
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret is the app secret, for client_secret_post (filled in by the client when ClientID is empty).
	ClientSecret string `json:"client_secret,omitempty"`
}

// SignInByPasswordPayloadDto signs in with a password and one identifier.
type SignInByPasswordPayloadDto struct {
	// Password is the password, encrypted as Options.PasswordEncryptType says.
	Password string `json:"password"`
	// Account is an email, phone number or username.
	Account string `json:"account,omitempty"`
	// Email is the email address.
	Email string `json:"email,omitempty"`
	// Username is the username.
	Username string `json:"username,omitempty"`
	// Phone is the phone number.
	Phone string `json:"phone,omitempty"`
}

// SignInByPassCodePayloadDto signs in with a CHANNEL_LOGIN code.
type SignInByPassCodePayloadDto struct {
	// PassCode is the code.
	PassCode string `json:"passCode"`
	// Email is the address the code was sent to.
	Email string `json:"email,omitempty"`
	// Phone is the number the code was sent to.
	Phone string `json:"phone,omitempty"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// SignInByAdPayloadDto signs in with a Windows AD account.
type SignInByAdPayloadDto struct {
	// Password is the AD password.
	Password string `json:"password"`
	// SAMAccountName is the AD account name.
	SAMAccountName string `json:"sAMAccountName"`
}

// SignInByLdapPayloadDto signs in with an LDAP account.
type SignInByLdapPayloadDto struct {
	// Password is the LDAP password.
	Password string `json:"password"`
	// SAMAccountName is the LDAP account name.
	SAMAccountName string `json:"sAMAccountName"`
}

// SignInOptionsDto holds sign-in options.
type SignInOptionsDto struct {
	// Scope is the space-separated OIDC scope of the issued tokens.
	Scope string `json:"scope,omitempty"`
	// ClientIP is the end user's address, when signing in on their behalf.
	ClientIP string `json:"clientIp,omitempty"`
	// Context is passed to pipeline functions.
	Context any `json:"context,omitempty"`
	// TenantID selects a tenant.
	TenantID string `json:"tenantId,omitempty"`
	// CustomData is custom data for the user.
	CustomData any `json:"customData,omitempty"`
	// AutoRegister signs the user up when the account does not exist.
	AutoRegister bool `json:"autoRegister,omitempty"`
	// CaptchaCode is the answer to a captcha.
	CaptchaCode string `json:"captchaCode,omitempty"`
	// CaptchaToken identifies the captcha.
	CaptchaToken string `json:"captchaToken,omitempty"`
	// PasswordEncryptType is none (default), rsa or sm2.
	PasswordEncryptType PasswordEncryptType `json:"passwordEncryptType,omitempty"`
}

// LoginTokenRespDto is the reply of POST /api/v3/signin.
type LoginTokenRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data holds the tokens.
	Data LoginTokenResponseDataDto `json:"data"`
}

// LoginTokenResponseDataDto holds the tokens issued by sign-in.
type LoginTokenResponseDataDto struct {
	// Scope is the granted scope.
	Scope string `json:"scope,omitempty"`
	// AccessToken is the access token; pass it to [AuthenticationClient.SetAccessToken].
	AccessToken string `json:"access_token,omitempty"`
	// IDToken is the OIDC ID token.
	IDToken string `json:"id_token,omitempty"`
	// RefreshToken is set when the scope includes offline_access.
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// ExpireIn is the access token's lifetime in seconds (the Node SDK's spelling).
	ExpireIn int `json:"expire_in"`
	// ExpiresIn is the same value under its OAuth 2.0 name (a Keyhaven addition).
	ExpiresIn int `json:"expires_in,omitempty"`
}

// ---- User profile --------------------------------------------------------

// UserSingleRespDto is an envelope carrying one user.
type UserSingleRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data is the user.
	Data UserDto `json:"data"`
}

// UserDto is a user's profile.
type UserDto struct {
	UserID                   string         `json:"userId"`                             // user id
	CreatedAt                string         `json:"createdAt"`                          // creation time, RFC 3339
	UpdatedAt                string         `json:"updatedAt"`                          // last update, RFC 3339
	Status                   UserStatus     `json:"status"`                             // account status
	WorkStatus               WorkStatus     `json:"workStatus"`                         // employment status
	ExternalID               string         `json:"externalId,omitempty"`               // id in an external system
	Email                    string         `json:"email,omitempty"`                    // email address
	Phone                    string         `json:"phone,omitempty"`                    // phone number
	PhoneCountryCode         string         `json:"phoneCountryCode,omitempty"`         // country calling code
	Username                 string         `json:"username,omitempty"`                 // username
	Name                     string         `json:"name,omitempty"`                     // full name
	Nickname                 string         `json:"nickname,omitempty"`                 // nickname
	Photo                    string         `json:"photo,omitempty"`                    // avatar URL
	LoginsCount              int            `json:"loginsCount,omitempty"`              // number of sign-ins
	LastLogin                string         `json:"lastLogin,omitempty"`                // last sign-in time
	LastIP                   string         `json:"lastIp,omitempty"`                   // last sign-in address
	Gender                   Gender         `json:"gender"`                             // M, F or U
	EmailVerified            bool           `json:"emailVerified"`                      // email address verified
	PhoneVerified            bool           `json:"phoneVerified"`                      // phone number verified
	PasswordLastSetAt        string         `json:"passwordLastSetAt,omitempty"`        // last password change
	Birthdate                string         `json:"birthdate,omitempty"`                // birth date
	Country                  string         `json:"country,omitempty"`                  // country
	Province                 string         `json:"province,omitempty"`                 // province
	City                     string         `json:"city,omitempty"`                     // city
	Address                  string         `json:"address,omitempty"`                  // address
	StreetAddress            string         `json:"streetAddress,omitempty"`            // street address
	PostalCode               string         `json:"postalCode,omitempty"`               // postal code
	Company                  string         `json:"company,omitempty"`                  // company
	Browser                  string         `json:"browser,omitempty"`                  // last browser
	Device                   string         `json:"device,omitempty"`                   // last device
	GivenName                string         `json:"givenName,omitempty"`                // given name
	FamilyName               string         `json:"familyName,omitempty"`               // family name
	MiddleName               string         `json:"middleName,omitempty"`               // middle name
	Profile                  string         `json:"profile,omitempty"`                  // profile page URL
	PreferredUsername        string         `json:"preferredUsername,omitempty"`        // preferred username
	Website                  string         `json:"website,omitempty"`                  // website URL
	Zoneinfo                 string         `json:"zoneinfo,omitempty"`                 // time zone
	Locale                   string         `json:"locale,omitempty"`                   // locale
	Formatted                string         `json:"formatted,omitempty"`                // formatted address
	Region                   string         `json:"region,omitempty"`                   // region
	UserSourceType           UserSourceType `json:"userSourceType"`                     // how the user was created
	UserSourceID             string         `json:"userSourceId,omitempty"`             // id of the source
	LastLoginApp             string         `json:"lastLoginApp,omitempty"`             // app of the last sign-in
	MainDepartmentID         string         `json:"mainDepartmentId,omitempty"`         // main department
	LastMfaTime              string         `json:"lastMfaTime,omitempty"`              // last MFA time
	PasswordSecurityLevel    int            `json:"passwordSecurityLevel,omitempty"`    // password strength level
	ResetPasswordOnNextLogin bool           `json:"resetPasswordOnNextLogin,omitempty"` // must change password
	RegisterSource           []string       `json:"registerSource,omitempty"`           // sign-up sources
	DepartmentIDs            []string       `json:"departmentIds,omitempty"`            // department ids
	Identities               []IdentityDto  `json:"identities,omitempty"`               // external identities
	IdentityNumber           string         `json:"identityNumber,omitempty"`           // national id number
	CustomData               any            `json:"customData,omitempty"`               // custom data
	MetadataSource           any            `json:"metadataSource,omitempty"`           // metadata
	PostIDList               []string       `json:"postIdList,omitempty"`               // post ids
	StatusChangedAt          string         `json:"statusChangedAt,omitempty"`          // last status change
	TenantID                 string         `json:"tenantId,omitempty"`                 // tenant
	SignedUp                 string         `json:"signedUp,omitempty"`                 // sign-up time
}

// IdentityDto is one identity of a user at an external identity provider.
type IdentityDto struct {
	IdentityID    string           `json:"identityId"`             // identity id
	ExtIdpID      string           `json:"extIdpId"`               // external identity provider id
	Provider      IdentityProvider `json:"provider"`               // provider kind
	Type          string           `json:"type"`                   // identity type, e.g. openid
	UserIDInIdp   string           `json:"userIdInIdp"`            // the user's id at the provider
	UserInfoInIdp any              `json:"userInfoInIdp"`          // the user's info at the provider
	AccessToken   string           `json:"accessToken,omitempty"`  // provider access token
	RefreshToken  string           `json:"refreshToken,omitempty"` // provider refresh token
	OriginConnIDs []string         `json:"originConnIds"`          // connections it came through
}

// GetProfileParams are the query parameters of GET /api/v3/get-profile
// (an inline object in the Node SDK, so not a Node model).
type GetProfileParams struct {
	// WithCustomData includes customData.
	WithCustomData bool
	// WithIdentities includes identities.
	WithIdentities bool
	// WithDepartmentIDs includes departmentIds.
	WithDepartmentIDs bool
}

// UpdateUserProfileDto is the body of POST /api/v3/update-profile.
type UpdateUserProfileDto struct {
	Name           string `json:"name,omitempty"`           // full name
	Nickname       string `json:"nickname,omitempty"`       // nickname
	Photo          string `json:"photo,omitempty"`          // avatar URL
	ExternalID     string `json:"externalId,omitempty"`     // id in an external system
	Birthdate      string `json:"birthdate,omitempty"`      // birth date
	Country        string `json:"country,omitempty"`        // country
	Province       string `json:"province,omitempty"`       // province
	City           string `json:"city,omitempty"`           // city
	Address        string `json:"address,omitempty"`        // address
	StreetAddress  string `json:"streetAddress,omitempty"`  // street address
	PostalCode     string `json:"postalCode,omitempty"`     // postal code
	Gender         Gender `json:"gender,omitempty"`         // M, F or U
	Username       string `json:"username,omitempty"`       // username
	Company        string `json:"company,omitempty"`        // company
	CustomData     any    `json:"customData,omitempty"`     // custom data, a JSON object
	IdentityNumber string `json:"identityNumber,omitempty"` // national id number
}

// BindEmailDto is the body of POST /api/v3/bind-email.
type BindEmailDto struct {
	// PassCode is the CHANNEL_BIND_EMAIL code sent to Email.
	PassCode string `json:"passCode"`
	// Email is the address to bind.
	Email string `json:"email"`
}

// UnbindEmailDto is the body of POST /api/v3/unbind-email.
type UnbindEmailDto struct {
	// PassCode is the CHANNEL_UNBIND_EMAIL code sent to the bound address.
	PassCode string `json:"passCode"`
}

// BindPhoneDto is the body of POST /api/v3/bind-phone.
type BindPhoneDto struct {
	// PassCode is the CHANNEL_BIND_PHONE code sent to PhoneNumber.
	PassCode string `json:"passCode"`
	// PhoneNumber is the number to bind.
	PhoneNumber string `json:"phoneNumber"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// UnbindPhoneDto is the body of POST /api/v3/unbind-phone.
type UnbindPhoneDto struct {
	// PassCode is the CHANNEL_UNBIND_PHONE code sent to the bound number.
	PassCode string `json:"passCode"`
}

// GetSecurityInfoRespDto is the reply of GET /api/v3/get-security-info.
type GetSecurityInfoRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data is the security summary.
	Data GetSecurityInfoDto `json:"data"`
}

// GetSecurityInfoDto summarises the account's security.
type GetSecurityInfoDto struct {
	// PasswordSecurityLevel is the strength level of the password.
	PasswordSecurityLevel int `json:"passwordSecurityLevel"`
	// MfaEnrolled is true when an MFA factor is enrolled.
	MfaEnrolled bool `json:"mfaEnrolled"`
	// PasswordSet is true when the account has a password.
	PasswordSet bool `json:"passwordSet"`
	// EmailBinded is true when an email address is bound.
	EmailBinded bool `json:"emailBinded"`
	// PhoneBinded is true when a phone number is bound.
	PhoneBinded bool `json:"phoneBinded"`
	// SecurityScore is an overall score.
	SecurityScore int `json:"securityScore"`
}

// UpdatePasswordDto is the body of POST /api/v3/update-password.
type UpdatePasswordDto struct {
	// NewPassword is the new password, encrypted as PasswordEncryptType says.
	NewPassword string `json:"newPassword"`
	// OldPassword is the current password, encrypted the same way.
	OldPassword string `json:"oldPassword,omitempty"`
	// PasswordEncryptType is none (default), rsa or sm2.
	PasswordEncryptType PasswordEncryptType `json:"passwordEncryptType,omitempty"`
	// PasswordResetToken may stand in for OldPassword.
	PasswordResetToken string `json:"passwordResetToken,omitempty"`
}

// VerifyUpdateEmailRequestDto is the body of POST /api/v3/verify-update-email-request.
type VerifyUpdateEmailRequestDto struct {
	// EmailPassCodePayload holds the codes.
	EmailPassCodePayload UpdateEmailByEmailPassCodeDto `json:"emailPassCodePayload"`
	// VerifyMethod is EMAIL_PASSCODE.
	VerifyMethod VerifyMethod `json:"verifyMethod"`
}

// UpdateEmailByEmailPassCodeDto holds the codes for changing the email address.
type UpdateEmailByEmailPassCodeDto struct {
	// NewEmail is the new address.
	NewEmail string `json:"newEmail"`
	// NewEmailPassCode is the code sent to NewEmail.
	NewEmailPassCode string `json:"newEmailPassCode"`
	// OldEmail is the current address.
	OldEmail string `json:"oldEmail,omitempty"`
	// OldEmailPassCode is the code sent to OldEmail.
	OldEmailPassCode string `json:"oldEmailPassCode,omitempty"`
}

// VerifyUpdateEmailRequestRespDto is the reply of POST /api/v3/verify-update-email-request.
type VerifyUpdateEmailRequestRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data carries the update token.
	Data VerifyUpdateEmailRequestData `json:"data"`
}

// VerifyUpdateEmailRequestData is the data of [VerifyUpdateEmailRequestRespDto].
type VerifyUpdateEmailRequestData struct {
	// UpdateEmailToken is the single-use token for [UpdateEmailDto].
	UpdateEmailToken string `json:"updateEmailToken"`
	// TokenExpiresIn is the token's lifetime in seconds.
	TokenExpiresIn int `json:"tokenExpiresIn"`
}

// UpdateEmailDto is the body of POST /api/v3/update-email.
type UpdateEmailDto struct {
	// UpdateEmailToken comes from [AuthenticationClient.VerifyUpdateEmailRequest].
	UpdateEmailToken string `json:"updateEmailToken"`
}

// VerifyUpdatePhoneRequestDto is the body of POST /api/v3/verify-update-phone-request.
type VerifyUpdatePhoneRequestDto struct {
	// PhonePassCodePayload holds the codes.
	PhonePassCodePayload UpdatePhoneByPhonePassCodeDto `json:"phonePassCodePayload"`
	// VerifyMethod is PHONE_PASSCODE.
	VerifyMethod VerifyMethod `json:"verifyMethod"`
}

// UpdatePhoneByPhonePassCodeDto holds the codes for changing the phone number.
type UpdatePhoneByPhonePassCodeDto struct {
	// NewPhoneNumber is the new number.
	NewPhoneNumber string `json:"newPhoneNumber"`
	// NewPhonePassCode is the code sent to NewPhoneNumber.
	NewPhonePassCode string `json:"newPhonePassCode"`
	// NewPhoneCountryCode is the new number's country calling code.
	NewPhoneCountryCode string `json:"newPhoneCountryCode,omitempty"`
	// OldPhoneNumber is the current number.
	OldPhoneNumber string `json:"oldPhoneNumber,omitempty"`
	// OldPhonePassCode is the code sent to OldPhoneNumber.
	OldPhonePassCode string `json:"oldPhonePassCode,omitempty"`
	// OldPhoneCountryCode is the current number's country calling code.
	OldPhoneCountryCode string `json:"oldPhoneCountryCode,omitempty"`
}

// VerifyUpdatePhoneRequestRespDto is the reply of POST /api/v3/verify-update-phone-request.
type VerifyUpdatePhoneRequestRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data carries the update token.
	Data VerifyUpdatePhoneRequestData `json:"data"`
}

// VerifyUpdatePhoneRequestData is the data of [VerifyUpdatePhoneRequestRespDto].
type VerifyUpdatePhoneRequestData struct {
	// UpdatePhoneToken is the single-use token for [UpdatePhoneDto].
	UpdatePhoneToken string `json:"updatePhoneToken"`
	// TokenExpiresIn is the token's lifetime in seconds.
	TokenExpiresIn int `json:"tokenExpiresIn"`
}

// UpdatePhoneDto is the body of POST /api/v3/update-phone.
type UpdatePhoneDto struct {
	// UpdatePhoneToken comes from [AuthenticationClient.VerifyUpdatePhoneRequest].
	UpdatePhoneToken string `json:"updatePhoneToken"`
}

// VerifyDeleteAccountRequestDto is the body of POST /api/v3/verify-delete-account-request.
type VerifyDeleteAccountRequestDto struct {
	// VerifyMethod is PHONE_PASSCODE, EMAIL_PASSCODE or PASSWORD.
	VerifyMethod VerifyMethod `json:"verifyMethod"`
	// PhonePassCodePayload is set for PHONE_PASSCODE.
	PhonePassCodePayload *DeleteAccountByPhonePassCodeDto `json:"phonePassCodePayload,omitempty"`
	// EmailPassCodePayload is set for EMAIL_PASSCODE.
	EmailPassCodePayload *DeleteAccountByEmailPassCodeDto `json:"emailPassCodePayload,omitempty"`
	// PasswordPayload is set for PASSWORD.
	PasswordPayload *DeleteAccountByPasswordDto `json:"passwordPayload,omitempty"`
}

// DeleteAccountByPhonePassCodeDto proves control of the phone number with a CHANNEL_DELETE_ACCOUNT code.
type DeleteAccountByPhonePassCodeDto struct {
	// PhoneNumber is the account's number.
	PhoneNumber string `json:"phoneNumber"`
	// PassCode is the code sent to it.
	PassCode string `json:"passCode"`
	// PhoneCountryCode is the country calling code, e.g. "+86".
	PhoneCountryCode string `json:"phoneCountryCode,omitempty"`
}

// DeleteAccountByEmailPassCodeDto proves control of the email address with a CHANNEL_DELETE_ACCOUNT code.
type DeleteAccountByEmailPassCodeDto struct {
	// Email is the account's address.
	Email string `json:"email,omitempty"`
	// PassCode is the code sent to it.
	PassCode string `json:"passCode"`
}

// DeleteAccountByPasswordDto proves knowledge of the password.
type DeleteAccountByPasswordDto struct {
	// Password is the current password, encrypted as PasswordEncryptType says.
	Password string `json:"password"`
	// PasswordEncryptType is none (default), rsa or sm2.
	PasswordEncryptType PasswordEncryptType `json:"passwordEncryptType,omitempty"`
}

// VerifyDeleteAccountRequestRespDto is the reply of POST /api/v3/verify-delete-account-request.
type VerifyDeleteAccountRequestRespDto struct {
	// StatusCode is the business status; 200 on success.
	StatusCode int `json:"statusCode"`
	// Message describes the outcome.
	Message string `json:"message"`
	// APICode is Keyhaven's stable error code, set on failures.
	APICode int `json:"apiCode,omitempty"`
	// RequestID identifies the request in the server's logs.
	RequestID string `json:"requestId,omitempty"`
	// Data carries the delete-account token.
	Data VerifyDeleteAccountRequestDataDto `json:"data"`
}

// VerifyDeleteAccountRequestDataDto is the data of [VerifyDeleteAccountRequestRespDto].
type VerifyDeleteAccountRequestDataDto struct {
	// DeleteAccountToken is the single-use token for [DeleteAccounDto].
	DeleteAccountToken string `json:"deleteAccountToken"`
	// TokenExpiresIn is the token's lifetime in seconds.
	TokenExpiresIn int `json:"tokenExpiresIn"`
}

// DeleteAccounDto is the body of POST /api/v3/delete-account (name as in the
// Node SDK, which misspells it).
type DeleteAccounDto struct {
	// DeleteAccountToken comes from [AuthenticationClient.VerifyDeleteAccountRequest].
	DeleteAccountToken string `json:"deleteAccountToken"`
}
