package httpapi

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/keyhaven/keyhaven/internal/account"
	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/recovery"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

const appKey ctxKey = 1

func contextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

func contextWithApp(ctx context.Context, a store.App) context.Context {
	return context.WithValue(ctx, appKey, a)
}

func appOf(r *http.Request) store.App {
	a, _ := r.Context().Value(appKey).(store.App)
	return a
}

// lang picks the message language from x-authing-lang or Accept-Language.
func lang(r *http.Request) string {
	return pickLang(r.Header.Get("x-authing-lang"), r.Header.Get("Accept-Language"))
}

// handleSystem serves GET /api/v3/system: the transport keys, both inside
// the envelope (GenAuth's mini-program code reads data.sm2.publicKey) and at
// the top level (the Node and Java SDKs read rsa.publicKey).
func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) error {
	type key struct {
		PublicKey string `json:"publicKey"`
	}
	type version struct {
		Server  string `json:"server"`
		Console string `json:"console"`
		Login   string `json:"login"`
	}
	type info struct {
		RSA       key      `json:"rsa"`
		SM2       key      `json:"sm2"`
		Version   version  `json:"version"`
		PublicIPs []string `json:"publicIps"`
	}
	d := info{RSA: key{s.keys.Transport.RSAPublicKeyPEM()}, SM2: key{s.keys.Transport.SM2PublicKeyHex()},
		Version: version{Version, Version, Version}, PublicIPs: []string{}}
	writeJSON(w, http.StatusOK, struct {
		envelope
		info
	}{envelope{StatusCode: 200, Message: "success", RequestID: w.Header().Get("X-Request-Id"), Data: d}, d})
	return nil
}

// handleSendEmail serves POST /api/v3/send-email (SendEmailDto → SendEmailRespDto).
func (s *Server) handleSendEmail(w http.ResponseWriter, r *http.Request) error {
	var in SendEmailDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := emailChannels.check("channel", in.Channel); err != nil {
		return err
	}
	if err := s.accounts.SendEmailCode(r.Context(), in.Channel, in.Email, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

// handleSendSMS serves POST /api/v3/send-sms (SendSMSDto → SendSMSRespDto).
func (s *Server) handleSendSMS(w http.ResponseWriter, r *http.Request) error {
	var in SendSMSDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := smsChannels.check("channel", in.Channel); err != nil {
		return err
	}
	if err := s.accounts.SendSMSCode(r.Context(), in.Channel, in.PhoneNumber, in.PhoneCountryCode, lang(r)); err != nil {
		return err
	}
	return writeOK(w, nil)
}

// handleVerifyResetPasswordRequest serves POST /api/v3/verify-reset-password-request
// (VerifyResetPasswordRequestDto → PasswordResetVerifyResp).
func (s *Server) handleVerifyResetPasswordRequest(w http.ResponseWriter, r *http.Request) error {
	var in VerifyResetPasswordRequestDto
	if err := decode(r, &in); err != nil {
		return err
	}
	req := recovery.Request{Method: in.VerifyMethod}
	switch in.VerifyMethod {
	case "EMAIL_PASSCODE":
		if in.EmailPassCodePayload == nil {
			return apierr.BadRequest("emailPassCodePayload", "is required when verifyMethod is EMAIL_PASSCODE")
		}
		req.Email, req.PassCode = in.EmailPassCodePayload.Email, in.EmailPassCodePayload.PassCode
	case "PHONE_PASSCODE":
		if in.PhonePassCodePayload == nil {
			return apierr.BadRequest("phonePassCodePayload", "is required when verifyMethod is PHONE_PASSCODE")
		}
		p := in.PhonePassCodePayload
		req.PhoneNumber, req.PhoneCountryCode, req.PassCode = p.PhoneNumber, p.PhoneCountryCode, p.PassCode
	case "":
		return apierr.BadRequest("verifyMethod", "is required (EMAIL_PASSCODE or PHONE_PASSCODE)")
	default:
		return apierr.BadRequest("verifyMethod", "must be EMAIL_PASSCODE or PHONE_PASSCODE")
	}
	v, err := s.recovery.Verify(r.Context(), appOf(r).ID, req)
	if err != nil {
		return err
	}
	return writeOK(w, v)
}

// handleResetPassword serves POST /api/v3/reset-password (ResetPasswordDto → IsSuccessRespDto).
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	var in ResetPasswordDto
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := encryptTypes.check("passwordEncryptType", in.PasswordEncryptType); err != nil {
		return err
	}
	if in.Password == "" {
		return apierr.BadRequest("password", "is required")
	}
	if err := s.recovery.Reset(r.Context(), in.Password, in.PasswordEncryptType, in.PasswordResetToken, lang(r)); err != nil {
		return err
	}
	return writeOK(w, success)
}

// handleSignUp serves POST /api/v3/signup (SignUpDto → UserSingleRespDto).
func (s *Server) handleSignUp(w http.ResponseWriter, r *http.Request) error {
	var in SignUpDto
	if err := decode(r, &in); err != nil {
		return err
	}
	su := account.SignUp{Connection: in.Connection}
	if in.Options != nil {
		if err := encryptTypes.check("options.passwordEncryptType", in.Options.PasswordEncryptType); err != nil {
			return err
		}
		su.EncryptType = in.Options.PasswordEncryptType
		su.Password = in.Options.PasswordForPhonePassCode
		su.CompleteEmailCode, su.CompletePhoneCode = in.Options.EmailPassCodeForInformationCompletion, in.Options.PhonePassCodeForInformationCompletion
	}
	switch in.Connection {
	case "PASSWORD":
		if in.PasswordPayload == nil {
			return apierr.BadRequest("passwordPayload", "is required when connection is PASSWORD")
		}
		p := in.PasswordPayload
		su.Email, su.Username, su.Password = p.Email, p.Username, p.Password
	case "PASSCODE":
		if in.PassCodePayload == nil {
			return apierr.BadRequest("passCodePayload", "is required when connection is PASSCODE")
		}
		p := in.PassCodePayload
		su.Email, su.Phone, su.PhoneCountryCode, su.PassCode = p.Email, p.Phone, p.PhoneCountryCode, p.PassCode
	case "":
		return apierr.BadRequest("connection", "is required (PASSWORD or PASSCODE)")
	default:
		return apierr.BadRequest("connection", "must be PASSWORD or PASSCODE")
	}
	if in.Profile != nil {
		if in.Profile.PhoneCountryCode != "" && in.Profile.Phone == "" {
			return apierr.BadRequest("profile.phoneCountryCode", "is given without profile.phone")
		}
		su.CompleteEmail, su.CompletePhone, su.CompletePhoneCountryCode = in.Profile.Email, in.Profile.Phone, in.Profile.PhoneCountryCode
		switch in.Profile.Gender {
		case "", "M", "F", "U":
		default:
			return apierr.BadRequest("profile.gender", "must be one of M, F, U")
		}
		su.Profile = in.Profile.Profile
	}
	u, err := s.accounts.Register(r.Context(), su)
	if err != nil {
		return err
	}
	return writeOK(w, s.userDTO(u))
}

// limitThen counts a refused request against ip, as every other request
// is counted, and returns err (or the limit's own answer).
func (s *Server) limitThen(r *http.Request, ip string, err error) error {
	if lerr := s.limitIP(r, ip); lerr != nil {
		return lerr
	}
	return err
}

// handleSignIn serves POST /api/v3/signin (SigninByCredentialsDto → LoginTokenRespDto).
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var in SigninByCredentialsDto
	if err := decode(r, &in); err != nil {
		return s.limitThen(r, s.clientIP(r), err)
	}
	app := appOf(r)
	proven, err := s.checkClient(r, app, in.ClientID, in.ClientSecret)
	if err != nil {
		return s.limitThen(r, s.clientIP(r), err)
	}
	// The Node SDK runs on the app's backend, so every sign-in would come
	// from its address and share one per-IP budget; GenAuth's
	// options.clientIp names the user's. Believed only from a caller that
	// proved the app's secret: anyone else could name any address.
	ip := s.clientIP(r)
	if in.Options != nil && in.Options.ClientIP != "" && proven {
		a, err := netip.ParseAddr(in.Options.ClientIP)
		if err != nil || a.Zone() != "" {
			return s.limitThen(r, ip, apierr.BadRequest("options.clientIp", "must be an IP address"))
		}
		ip = a.Unmap().String()
	}
	if err := s.limitIP(r, ip); err != nil {
		return err
	}
	si := account.SignIn{Connection: in.Connection, AppID: app.ID, IP: ip, Lang: lang(r)}
	if in.Options != nil {
		if err := encryptTypes.check("options.passwordEncryptType", in.Options.PasswordEncryptType); err != nil {
			return err
		}
		// By email or username and password only: a phone is bound only
		// with a code, and an account name is ambiguous.
		if in.Options.AutoRegister {
			if in.Connection != "PASSWORD" || in.PasswordPayload == nil || in.PasswordPayload.Phone != "" || in.PasswordPayload.Account != "" {
				return apierr.BadRequest("options.autoRegister", "works with connection PASSWORD and passwordPayload.email or passwordPayload.username")
			}
		}
		si.EncryptType, si.Scope, si.AutoRegister = in.Options.PasswordEncryptType, in.Options.Scope, in.Options.AutoRegister
	}
	switch in.Connection {
	case "PASSWORD":
		if in.PasswordPayload == nil {
			return apierr.BadRequest("passwordPayload", "is required when connection is PASSWORD")
		}
		p := in.PasswordPayload
		si.Account, si.Email, si.Username, si.Phone, si.Password = p.Account, p.Email, p.Username, p.Phone, p.Password
	case "PASSCODE":
		if in.PassCodePayload == nil {
			return apierr.BadRequest("passCodePayload", "is required when connection is PASSCODE")
		}
		p := in.PassCodePayload
		si.Email, si.Phone, si.PhoneCountryCode, si.PassCode = p.Email, p.Phone, p.PhoneCountryCode, p.PassCode
	case "":
		return apierr.BadRequest("connection", "is required (PASSWORD or PASSCODE)")
	}
	ts, err := s.accounts.Authenticate(r.Context(), si)
	if err != nil {
		return err
	}
	return writeOK(w, ts)
}

// principal authenticates the request's access token.
func (s *Server) principal(r *http.Request) (session.Principal, error) {
	p, err := s.sessions.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if err == nil {
		err = ownApp(r, p)
	}
	return p, err
}

// ownApp refuses a token issued to another app than the request names.
func ownApp(r *http.Request, p session.Principal) error {
	if p.AppID != appOf(r).ID {
		return session.ErrUnauthorized
	}
	return nil
}

// handleGetProfile serves GET /api/v3/get-profile (→ UserSingleRespDto).
func (s *Server) handleGetProfile(w http.ResponseWriter, r *http.Request) error {
	p, u, err := s.sessions.AuthenticateUser(r.Context(), r.Header.Get("Authorization"))
	if err == nil {
		err = ownApp(r, p)
	}
	if err != nil {
		return err
	}
	// As GenAuth: custom data, identities and departments only when asked.
	q := r.URL.Query()
	d := s.userDTO(u)
	if q.Get("withCustomData") != "true" {
		d.CustomData = nil
	}
	if q.Get("withIdentities") == "true" {
		d.Identities = []any{}
	}
	if q.Get("withDepartmentIds") == "true" {
		d.DepartmentIDs = []string{}
	}
	return writeOK(w, d)
}

func pickLang(xAuthingLang, acceptLanguage string) string {
	return notify.PickLang(xAuthingLang, acceptLanguage)
}
