package authentication

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// post sends in as the JSON body of POST path and decodes the envelope reply.
func post[In, Out any](ctx context.Context, c *AuthenticationClient, name, path string, in *In) (*Out, error) {
	if in == nil {
		return nil, fmt.Errorf("authentication: %s: nil request", name)
	}
	out := new(Out)
	return result(out, c.call(ctx, http.MethodPost, path, nil, in, out, callOptions{}))
}

// get sends GET path?query and decodes the envelope reply.
func get[Out any](ctx context.Context, c *AuthenticationClient, path string, query url.Values, opt callOptions) (*Out, error) {
	out := new(Out)
	return result(out, c.call(ctx, http.MethodGet, path, query, nil, out, opt))
}

// result keeps the decoded reply for API errors and drops it for the rest.
func result[Out any](out *Out, err error) (*Out, error) {
	if err == nil {
		return out, nil
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return out, err
	}
	return nil, err
}

// ---- Others --------------------------------------------------------------

// GetSystemInfo calls GET /api/v3/system and returns the server's public
// keys (used by [AuthenticationClient.EncryptPassword], whose cache it also
// refreshes) and versions. Both reply forms decode: the fields are copied
// between the top level and Data so that either may be read.
func (c *AuthenticationClient) GetSystemInfo(ctx context.Context) (*SystemInfoResp, error) {
	out, err := get[SystemInfoResp](ctx, c, "/api/v3/system", nil, callOptions{statusOptional: true})
	if err != nil {
		return out, err
	}
	out.normalize()
	c.keys.store(out, c.now())
	return out, nil
}

// normalize makes the top-level fields and Data agree, whichever the server filled.
func (r *SystemInfoResp) normalize() {
	top := SystemInfo{RSA: r.RSA, SM2: r.SM2, Version: r.Version, PublicIPs: r.PublicIPs}
	if r.Data == nil {
		r.Data = &top
		return
	}
	if r.RSA.PublicKey == "" && r.SM2.PublicKey == "" {
		r.RSA, r.SM2, r.Version, r.PublicIPs = r.Data.RSA, r.Data.SM2, r.Data.Version, r.Data.PublicIPs
	}
}

// ---- Message -------------------------------------------------------------

// SendEmail calls POST /api/v3/send-email: it emails a one-time code for
// in.Channel. To avoid disclosing which addresses have accounts, the server
// answers the same for unknown addresses (and sends nothing).
func (c *AuthenticationClient) SendEmail(ctx context.Context, in *SendEmailDto) (*SendEmailRespDto, error) {
	return post[SendEmailDto, SendEmailRespDto](ctx, c, "SendEmail", "/api/v3/send-email", in)
}

// SendSms calls POST /api/v3/send-sms: it texts a one-time code for
// in.Channel, answering the same for unknown numbers.
func (c *AuthenticationClient) SendSms(ctx context.Context, in *SendSMSDto) (*SendSMSRespDto, error) {
	return post[SendSMSDto, SendSMSRespDto](ctx, c, "SendSms", "/api/v3/send-sms", in)
}

// ---- Forgot password -----------------------------------------------------

// VerifyResetPasswordRequest calls POST /api/v3/verify-reset-password-request:
// it trades a CHANNEL_RESET_PASSWORD code for a single-use password reset
// token (Data.PasswordResetToken, valid Data.TokenExpiresIn seconds).
func (c *AuthenticationClient) VerifyResetPasswordRequest(ctx context.Context, in *VerifyResetPasswordRequestDto) (*PasswordResetVerifyResp, error) {
	return post[VerifyResetPasswordRequestDto, PasswordResetVerifyResp](ctx, c, "VerifyResetPasswordRequest", "/api/v3/verify-reset-password-request", in)
}

// ResetPassword calls POST /api/v3/reset-password: it sets a new password
// with a token from [AuthenticationClient.VerifyResetPasswordRequest]. On
// success Data.Success is true and every session of the user has ended.
func (c *AuthenticationClient) ResetPassword(ctx context.Context, in *ResetPasswordDto) (*IsSuccessRespDto, error) {
	return post[ResetPasswordDto, IsSuccessRespDto](ctx, c, "ResetPassword", "/api/v3/reset-password", in)
}

// ---- Register ------------------------------------------------------------

// SignUp calls POST /api/v3/signup and returns the new user.
func (c *AuthenticationClient) SignUp(ctx context.Context, in *SignUpDto) (*UserSingleRespDto, error) {
	return post[SignUpDto, UserSingleRespDto](ctx, c, "SignUp", "/api/v3/signup", in)
}

// SignUpByEmailPasswordParams are the arguments of SignUpByEmailPassword.
type SignUpByEmailPasswordParams struct {
	Email    string            // the new account's email address
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Profile  *SignUpProfileDto // optional profile fields
	Options  *SignUpOptionsDto // optional sign-up options
}

// SignUpByEmailPassword signs up with an email address and a password
// (SignUp with connection PASSWORD).
func (c *AuthenticationClient) SignUpByEmailPassword(ctx context.Context, in *SignUpByEmailPasswordParams) (*UserSingleRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignUpByEmailPassword: nil request")
	}
	return c.SignUp(ctx, &SignUpDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignUpByPasswordDto{Password: in.Password, Email: in.Email},
		Profile:         in.Profile,
		Options:         in.Options,
	})
}

// SignUpByUsernamePasswordParams are the arguments of SignUpByUsernamePassword.
type SignUpByUsernamePasswordParams struct {
	Username string            // the new account's username
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Profile  *SignUpProfileDto // optional profile fields
	Options  *SignUpOptionsDto // optional sign-up options
}

// SignUpByUsernamePassword signs up with a username and a password
// (SignUp with connection PASSWORD).
func (c *AuthenticationClient) SignUpByUsernamePassword(ctx context.Context, in *SignUpByUsernamePasswordParams) (*UserSingleRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignUpByUsernamePassword: nil request")
	}
	return c.SignUp(ctx, &SignUpDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignUpByPasswordDto{Password: in.Password, Username: in.Username},
		Profile:         in.Profile,
		Options:         in.Options,
	})
}

// SignUpByEmailCodeParams are the arguments of SignUpByEmailCode.
type SignUpByEmailCodeParams struct {
	Email    string            // the address the CHANNEL_REGISTER code was sent to
	PassCode string            // the code
	Profile  *SignUpProfileDto // optional profile fields
	Options  *SignUpOptionsDto // optional sign-up options
}

// SignUpByEmailCode signs up with a CHANNEL_REGISTER code sent by email
// (SignUp with connection PASSCODE).
func (c *AuthenticationClient) SignUpByEmailCode(ctx context.Context, in *SignUpByEmailCodeParams) (*UserSingleRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignUpByEmailCode: nil request")
	}
	return c.SignUp(ctx, &SignUpDto{
		Connection:      ConnectionPassCode,
		PassCodePayload: &SignUpByPassCodeDto{PassCode: in.PassCode, Email: in.Email},
		Profile:         in.Profile,
		Options:         in.Options,
	})
}

// SignUpByPhoneCodeParams are the arguments of SignUpByPhoneCode.
type SignUpByPhoneCodeParams struct {
	Phone            string            // the number the CHANNEL_REGISTER code was sent to
	PhoneCountryCode string            // optional country calling code, e.g. "+86"
	PassCode         string            // the code
	Profile          *SignUpProfileDto // optional profile fields
	Options          *SignUpOptionsDto // optional sign-up options
}

// SignUpByPhoneCode signs up with a CHANNEL_REGISTER code sent by SMS
// (SignUp with connection PASSCODE).
func (c *AuthenticationClient) SignUpByPhoneCode(ctx context.Context, in *SignUpByPhoneCodeParams) (*UserSingleRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignUpByPhoneCode: nil request")
	}
	return c.SignUp(ctx, &SignUpDto{
		Connection:      ConnectionPassCode,
		PassCodePayload: &SignUpByPassCodeDto{PassCode: in.PassCode, Phone: in.Phone, PhoneCountryCode: in.PhoneCountryCode},
		Profile:         in.Profile,
		Options:         in.Options,
	})
}

// ---- Login ---------------------------------------------------------------

// SignInByCredentials calls POST /api/v3/signin and returns the tokens. The
// client authenticates itself as TokenEndPointAuthMethod says: with
// client_secret_post it fills in client_id and client_secret when
// in.ClientID is empty (in is not modified); with client_secret_basic it
// sends an "Authorization: Basic" header. The access token is not stored:
// call [AuthenticationClient.SetAccessToken] with Data.AccessToken.
func (c *AuthenticationClient) SignInByCredentials(ctx context.Context, in *SigninByCredentialsDto) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByCredentials: nil request")
	}
	body := *in
	if c.tokenAuth == AuthMethodClientSecretPost && body.ClientID == "" {
		body.ClientID, body.ClientSecret = c.appID, c.appSecret
	}
	return post[SigninByCredentialsDto, LoginTokenRespDto](ctx, c, "SignInByCredentials", "/api/v3/signin", &body)
}

// SignInByEmailPasswordParams are the arguments of SignInByEmailPassword.
type SignInByEmailPasswordParams struct {
	Email    string            // the account's email address
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Options  *SignInOptionsDto // optional sign-in options
}

// SignInByEmailPassword signs in with an email address and a password.
func (c *AuthenticationClient) SignInByEmailPassword(ctx context.Context, in *SignInByEmailPasswordParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByEmailPassword: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignInByPasswordPayloadDto{Password: in.Password, Email: in.Email},
		Options:         in.Options,
	})
}

// SignInByPhonePasswordParams are the arguments of SignInByPhonePassword.
type SignInByPhonePasswordParams struct {
	Phone    string            // the account's phone number
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Options  *SignInOptionsDto // optional sign-in options
}

// SignInByPhonePassword signs in with a phone number and a password.
func (c *AuthenticationClient) SignInByPhonePassword(ctx context.Context, in *SignInByPhonePasswordParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByPhonePassword: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignInByPasswordPayloadDto{Password: in.Password, Phone: in.Phone},
		Options:         in.Options,
	})
}

// SignInByUsernamePasswordParams are the arguments of SignInByUsernamePassword.
type SignInByUsernamePasswordParams struct {
	Username string            // the account's username
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Options  *SignInOptionsDto // optional sign-in options
}

// SignInByUsernamePassword signs in with a username and a password.
func (c *AuthenticationClient) SignInByUsernamePassword(ctx context.Context, in *SignInByUsernamePasswordParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByUsernamePassword: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignInByPasswordPayloadDto{Password: in.Password, Username: in.Username},
		Options:         in.Options,
	})
}

// SignInByAccountPasswordParams are the arguments of SignInByAccountPassword.
type SignInByAccountPasswordParams struct {
	Account  string            // an email address, phone number or username
	Password string            // the password, encrypted as Options.PasswordEncryptType says
	Options  *SignInOptionsDto // optional sign-in options
}

// SignInByAccountPassword signs in with an email address, phone number or
// username and a password.
func (c *AuthenticationClient) SignInByAccountPassword(ctx context.Context, in *SignInByAccountPasswordParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByAccountPassword: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassword,
		PasswordPayload: &SignInByPasswordPayloadDto{Password: in.Password, Account: in.Account},
		Options:         in.Options,
	})
}

// SignInByEmailPassCodeParams are the arguments of SignInByEmailPassCode.
type SignInByEmailPassCodeParams struct {
	Email    string            // the address the CHANNEL_LOGIN code was sent to
	PassCode string            // the code
	Options  *SignInOptionsDto // optional sign-in options
}

// SignInByEmailPassCode signs in with a CHANNEL_LOGIN code sent by email.
func (c *AuthenticationClient) SignInByEmailPassCode(ctx context.Context, in *SignInByEmailPassCodeParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByEmailPassCode: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassCode,
		PassCodePayload: &SignInByPassCodePayloadDto{PassCode: in.PassCode, Email: in.Email},
		Options:         in.Options,
	})
}

// SignInByPhonePassCodeParams are the arguments of SignInByPhonePassCode.
type SignInByPhonePassCodeParams struct {
	Phone            string            // the number the CHANNEL_LOGIN code was sent to
	PhoneCountryCode string            // optional country calling code, e.g. "+86"
	PassCode         string            // the code
	Options          *SignInOptionsDto // optional sign-in options
}

// SignInByPhonePassCode signs in with a CHANNEL_LOGIN code sent by SMS.
func (c *AuthenticationClient) SignInByPhonePassCode(ctx context.Context, in *SignInByPhonePassCodeParams) (*LoginTokenRespDto, error) {
	if in == nil {
		return nil, errors.New("authentication: SignInByPhonePassCode: nil request")
	}
	return c.SignInByCredentials(ctx, &SigninByCredentialsDto{
		Connection:      ConnectionPassCode,
		PassCodePayload: &SignInByPassCodePayloadDto{PassCode: in.PassCode, Phone: in.Phone, PhoneCountryCode: in.PhoneCountryCode},
		Options:         in.Options,
	})
}

// ---- User profile (these need SetAccessToken) ----------------------------

// GetProfile calls GET /api/v3/get-profile and returns the signed-in user.
// in may be nil (all three flags false, as in the Node SDK).
func (c *AuthenticationClient) GetProfile(ctx context.Context, in *GetProfileParams) (*UserSingleRespDto, error) {
	var p GetProfileParams
	if in != nil {
		p = *in
	}
	q := url.Values{}
	q.Set("withCustomData", strconv.FormatBool(p.WithCustomData))
	q.Set("withIdentities", strconv.FormatBool(p.WithIdentities))
	q.Set("withDepartmentIds", strconv.FormatBool(p.WithDepartmentIDs))
	return get[UserSingleRespDto](ctx, c, "/api/v3/get-profile", q, callOptions{})
}

// UpdateProfile calls POST /api/v3/update-profile and returns the updated
// user. Email, phone and password have their own methods.
func (c *AuthenticationClient) UpdateProfile(ctx context.Context, in *UpdateUserProfileDto) (*UserSingleRespDto, error) {
	return post[UpdateUserProfileDto, UserSingleRespDto](ctx, c, "UpdateProfile", "/api/v3/update-profile", in)
}

// BindEmail calls POST /api/v3/bind-email with a CHANNEL_BIND_EMAIL code.
func (c *AuthenticationClient) BindEmail(ctx context.Context, in *BindEmailDto) (*CommonResponseDto, error) {
	return post[BindEmailDto, CommonResponseDto](ctx, c, "BindEmail", "/api/v3/bind-email", in)
}

// UnbindEmail calls POST /api/v3/unbind-email with a CHANNEL_UNBIND_EMAIL code.
func (c *AuthenticationClient) UnbindEmail(ctx context.Context, in *UnbindEmailDto) (*CommonResponseDto, error) {
	return post[UnbindEmailDto, CommonResponseDto](ctx, c, "UnbindEmail", "/api/v3/unbind-email", in)
}

// BindPhone calls POST /api/v3/bind-phone with a CHANNEL_BIND_PHONE code.
func (c *AuthenticationClient) BindPhone(ctx context.Context, in *BindPhoneDto) (*CommonResponseDto, error) {
	return post[BindPhoneDto, CommonResponseDto](ctx, c, "BindPhone", "/api/v3/bind-phone", in)
}

// UnbindPhone calls POST /api/v3/unbind-phone with a CHANNEL_UNBIND_PHONE code.
func (c *AuthenticationClient) UnbindPhone(ctx context.Context, in *UnbindPhoneDto) (*CommonResponseDto, error) {
	return post[UnbindPhoneDto, CommonResponseDto](ctx, c, "UnbindPhone", "/api/v3/unbind-phone", in)
}

// GetSecurityLevel calls GET /api/v3/get-security-info and returns the
// signed-in user's security summary.
func (c *AuthenticationClient) GetSecurityLevel(ctx context.Context) (*GetSecurityInfoRespDto, error) {
	return get[GetSecurityInfoRespDto](ctx, c, "/api/v3/get-security-info", nil, callOptions{})
}

// UpdatePassword calls POST /api/v3/update-password: it changes the
// signed-in user's password given the current one.
func (c *AuthenticationClient) UpdatePassword(ctx context.Context, in *UpdatePasswordDto) (*CommonResponseDto, error) {
	return post[UpdatePasswordDto, CommonResponseDto](ctx, c, "UpdatePassword", "/api/v3/update-password", in)
}

// VerifyUpdateEmailRequest calls POST /api/v3/verify-update-email-request:
// it trades the codes sent to the new (and old) address for an update token.
func (c *AuthenticationClient) VerifyUpdateEmailRequest(ctx context.Context, in *VerifyUpdateEmailRequestDto) (*VerifyUpdateEmailRequestRespDto, error) {
	return post[VerifyUpdateEmailRequestDto, VerifyUpdateEmailRequestRespDto](ctx, c, "VerifyUpdateEmailRequest", "/api/v3/verify-update-email-request", in)
}

// UpdateEmail calls POST /api/v3/update-email with the token from
// [AuthenticationClient.VerifyUpdateEmailRequest].
func (c *AuthenticationClient) UpdateEmail(ctx context.Context, in *UpdateEmailDto) (*IsSuccessRespDto, error) {
	return post[UpdateEmailDto, IsSuccessRespDto](ctx, c, "UpdateEmail", "/api/v3/update-email", in)
}

// VerifyUpdatePhoneRequest calls POST /api/v3/verify-update-phone-request:
// it trades the codes sent to the new (and old) number for an update token.
func (c *AuthenticationClient) VerifyUpdatePhoneRequest(ctx context.Context, in *VerifyUpdatePhoneRequestDto) (*VerifyUpdatePhoneRequestRespDto, error) {
	return post[VerifyUpdatePhoneRequestDto, VerifyUpdatePhoneRequestRespDto](ctx, c, "VerifyUpdatePhoneRequest", "/api/v3/verify-update-phone-request", in)
}

// UpdatePhone calls POST /api/v3/update-phone with the token from
// [AuthenticationClient.VerifyUpdatePhoneRequest].
func (c *AuthenticationClient) UpdatePhone(ctx context.Context, in *UpdatePhoneDto) (*IsSuccessRespDto, error) {
	return post[UpdatePhoneDto, IsSuccessRespDto](ctx, c, "UpdatePhone", "/api/v3/update-phone", in)
}

// VerifyDeleteAccountRequest calls POST /api/v3/verify-delete-account-request:
// it trades a CHANNEL_DELETE_ACCOUNT code or the password for a
// delete-account token.
func (c *AuthenticationClient) VerifyDeleteAccountRequest(ctx context.Context, in *VerifyDeleteAccountRequestDto) (*VerifyDeleteAccountRequestRespDto, error) {
	return post[VerifyDeleteAccountRequestDto, VerifyDeleteAccountRequestRespDto](ctx, c, "VerifyDeleteAccountRequest", "/api/v3/verify-delete-account-request", in)
}

// DeleteAccount calls POST /api/v3/delete-account with the token from
// [AuthenticationClient.VerifyDeleteAccountRequest]; the account is gone
// afterwards.
func (c *AuthenticationClient) DeleteAccount(ctx context.Context, in *DeleteAccounDto) (*IsSuccessRespDto, error) {
	return post[DeleteAccounDto, IsSuccessRespDto](ctx, c, "DeleteAccount", "/api/v3/delete-account", in)
}
