package authentication

// These tests check the client's side of the wire (paths, headers, bodies,
// and how replies and errors decode) against httptest replies written by
// hand. The server's behaviour is tested against a real Keyhaven server.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// recorded is one request as the server saw it.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// recorder answers every request with a fixed reply and keeps the requests.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	status int
	reply  string
}

func newRecorder(t *testing.T, status int, reply string) *recorder {
	t.Helper()
	rec := &recorder{status: status, reply: reply}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(b)})
		status, reply := rec.status, rec.reply
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "hdr-req")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// set changes the reply for later requests.
func (r *recorder) set(status int, reply string) {
	r.mu.Lock()
	r.status, r.reply = status, reply
	r.mu.Unlock()
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return r.reqs[len(r.reqs)-1]
}

func newClientOpts(t *testing.T, opts AuthenticationClientOptions) *AuthenticationClient {
	t.Helper()
	c, err := NewAuthenticationClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// jsonEqual compares two JSON texts structurally.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

const okReply = `{"statusCode":200,"message":"ok","data":{}}`

// TestMethodsWire checks the HTTP method, path, query and JSON body of every
// envelope method, wrappers included.
func TestMethodsWire(t *testing.T) {
	rec := newRecorder(t, 200, okReply)
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL})
	ctx := context.Background()
	opts := &SignInOptionsDto{PasswordEncryptType: PasswordEncryptTypeSM2}
	tests := []struct {
		name, method, path, body string
		query                    url.Values
		call                     func() error
	}{
		{"GetSystemInfo", "GET", "/api/v3/system", "", nil, func() error { _, err := c.GetSystemInfo(ctx); return err }},
		{"SendEmail", "POST", "/api/v3/send-email", `{"email":"a@x.io","channel":"CHANNEL_RESET_PASSWORD"}`, nil, func() error {
			_, err := c.SendEmail(ctx, &SendEmailDto{Email: "a@x.io", Channel: ChannelResetPassword})
			return err
		}},
		{"SendSms", "POST", "/api/v3/send-sms", `{"phoneNumber":"13800138000","phoneCountryCode":"+86","channel":"CHANNEL_LOGIN"}`, nil, func() error {
			_, err := c.SendSms(ctx, &SendSMSDto{PhoneNumber: "13800138000", PhoneCountryCode: "+86", Channel: ChannelLogin})
			return err
		}},
		{"VerifyResetPasswordRequest", "POST", "/api/v3/verify-reset-password-request", `{"verifyMethod":"EMAIL_PASSCODE","emailPassCodePayload":{"email":"a@x.io","passCode":"123456"}}`, nil, func() error {
			_, err := c.VerifyResetPasswordRequest(ctx, &VerifyResetPasswordRequestDto{VerifyMethod: VerifyMethodEmailPassCode,
				EmailPassCodePayload: &ResetPasswordByEmailPassCodeDto{Email: "a@x.io", PassCode: "123456"}})
			return err
		}},
		{"VerifyResetPasswordRequest/phone", "POST", "/api/v3/verify-reset-password-request", `{"verifyMethod":"PHONE_PASSCODE","phonePassCodePayload":{"phoneNumber":"13800138000","passCode":"123456"}}`, nil, func() error {
			_, err := c.VerifyResetPasswordRequest(ctx, &VerifyResetPasswordRequestDto{VerifyMethod: VerifyMethodPhonePassCode,
				PhonePassCodePayload: &ResetPasswordByPhonePassCodeDto{PhoneNumber: "13800138000", PassCode: "123456"}})
			return err
		}},
		{"ResetPassword", "POST", "/api/v3/reset-password", `{"password":"p","passwordResetToken":"t"}`, nil, func() error {
			_, err := c.ResetPassword(ctx, &ResetPasswordDto{Password: "p", PasswordResetToken: "t"})
			return err
		}},
		{"SignUp", "POST", "/api/v3/signup", `{"connection":"PASSWORD","passwordPayload":{"password":"p","email":"a@x.io"},"options":{"passwordEncryptType":"rsa"}}`, nil, func() error {
			_, err := c.SignUp(ctx, &SignUpDto{Connection: ConnectionPassword, PasswordPayload: &SignUpByPasswordDto{Password: "p", Email: "a@x.io"},
				Options: &SignUpOptionsDto{PasswordEncryptType: PasswordEncryptTypeRSA}})
			return err
		}},
		{"SignUpByEmailPassword", "POST", "/api/v3/signup", `{"connection":"PASSWORD","passwordPayload":{"password":"p","email":"a@x.io"},"profile":{"nickname":"n"}}`, nil, func() error {
			_, err := c.SignUpByEmailPassword(ctx, &SignUpByEmailPasswordParams{Email: "a@x.io", Password: "p", Profile: &SignUpProfileDto{Nickname: "n"}})
			return err
		}},
		{"SignUpByUsernamePassword", "POST", "/api/v3/signup", `{"connection":"PASSWORD","passwordPayload":{"password":"p","username":"bob"}}`, nil, func() error {
			_, err := c.SignUpByUsernamePassword(ctx, &SignUpByUsernamePasswordParams{Username: "bob", Password: "p"})
			return err
		}},
		{"SignUpByEmailCode", "POST", "/api/v3/signup", `{"connection":"PASSCODE","passCodePayload":{"passCode":"1","email":"a@x.io"}}`, nil, func() error {
			_, err := c.SignUpByEmailCode(ctx, &SignUpByEmailCodeParams{Email: "a@x.io", PassCode: "1"})
			return err
		}},
		{"SignUpByPhoneCode", "POST", "/api/v3/signup", `{"connection":"PASSCODE","passCodePayload":{"passCode":"1","phone":"138","phoneCountryCode":"+86"}}`, nil, func() error {
			_, err := c.SignUpByPhoneCode(ctx, &SignUpByPhoneCodeParams{Phone: "138", PhoneCountryCode: "+86", PassCode: "1"})
			return err
		}},
		{"SignInByCredentials", "POST", "/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"password":"p","account":"bob"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByCredentials(ctx, &SigninByCredentialsDto{Connection: ConnectionPassword, PasswordPayload: &SignInByPasswordPayloadDto{Password: "p", Account: "bob"}})
			return err
		}},
		{"SignInByEmailPassword", "POST", "/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"password":"p","email":"a@x.io"},"options":{"passwordEncryptType":"sm2"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByEmailPassword(ctx, &SignInByEmailPasswordParams{Email: "a@x.io", Password: "p", Options: opts})
			return err
		}},
		{"SignInByPhonePassword", "POST", "/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"password":"p","phone":"138"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByPhonePassword(ctx, &SignInByPhonePasswordParams{Phone: "138", Password: "p"})
			return err
		}},
		{"SignInByUsernamePassword", "POST", "/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"password":"p","username":"bob"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByUsernamePassword(ctx, &SignInByUsernamePasswordParams{Username: "bob", Password: "p"})
			return err
		}},
		{"SignInByAccountPassword", "POST", "/api/v3/signin", `{"connection":"PASSWORD","passwordPayload":{"password":"p","account":"bob"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByAccountPassword(ctx, &SignInByAccountPasswordParams{Account: "bob", Password: "p"})
			return err
		}},
		{"SignInByEmailPassCode", "POST", "/api/v3/signin", `{"connection":"PASSCODE","passCodePayload":{"passCode":"1","email":"a@x.io"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByEmailPassCode(ctx, &SignInByEmailPassCodeParams{Email: "a@x.io", PassCode: "1"})
			return err
		}},
		{"SignInByPhonePassCode", "POST", "/api/v3/signin", `{"connection":"PASSCODE","passCodePayload":{"passCode":"1","phone":"138","phoneCountryCode":"+86"},"client_id":"app1","client_secret":"sec1"}`, nil, func() error {
			_, err := c.SignInByPhonePassCode(ctx, &SignInByPhonePassCodeParams{Phone: "138", PhoneCountryCode: "+86", PassCode: "1"})
			return err
		}},
		{"GetProfile", "GET", "/api/v3/get-profile", "", url.Values{"withCustomData": {"true"}, "withIdentities": {"false"}, "withDepartmentIds": {"true"}}, func() error {
			_, err := c.GetProfile(ctx, &GetProfileParams{WithCustomData: true, WithDepartmentIDs: true})
			return err
		}},
		{"GetProfile/nil", "GET", "/api/v3/get-profile", "", url.Values{"withCustomData": {"false"}, "withIdentities": {"false"}, "withDepartmentIds": {"false"}}, func() error {
			_, err := c.GetProfile(ctx, nil)
			return err
		}},
		{"UpdateProfile", "POST", "/api/v3/update-profile", `{"nickname":"n","gender":"F","customData":{"k":1}}`, nil, func() error {
			_, err := c.UpdateProfile(ctx, &UpdateUserProfileDto{Nickname: "n", Gender: GenderFemale, CustomData: map[string]int{"k": 1}})
			return err
		}},
		{"BindEmail", "POST", "/api/v3/bind-email", `{"passCode":"1","email":"a@x.io"}`, nil, func() error {
			_, err := c.BindEmail(ctx, &BindEmailDto{PassCode: "1", Email: "a@x.io"})
			return err
		}},
		{"UnbindEmail", "POST", "/api/v3/unbind-email", `{"passCode":"1"}`, nil, func() error {
			_, err := c.UnbindEmail(ctx, &UnbindEmailDto{PassCode: "1"})
			return err
		}},
		{"BindPhone", "POST", "/api/v3/bind-phone", `{"passCode":"1","phoneNumber":"138"}`, nil, func() error {
			_, err := c.BindPhone(ctx, &BindPhoneDto{PassCode: "1", PhoneNumber: "138"})
			return err
		}},
		{"UnbindPhone", "POST", "/api/v3/unbind-phone", `{"passCode":"1"}`, nil, func() error {
			_, err := c.UnbindPhone(ctx, &UnbindPhoneDto{PassCode: "1"})
			return err
		}},
		{"GetSecurityLevel", "GET", "/api/v3/get-security-info", "", nil, func() error { _, err := c.GetSecurityLevel(ctx); return err }},
		{"UpdatePassword", "POST", "/api/v3/update-password", `{"newPassword":"n","oldPassword":"o","passwordEncryptType":"none"}`, nil, func() error {
			_, err := c.UpdatePassword(ctx, &UpdatePasswordDto{NewPassword: "n", OldPassword: "o", PasswordEncryptType: PasswordEncryptTypeNone})
			return err
		}},
		{"VerifyUpdateEmailRequest", "POST", "/api/v3/verify-update-email-request", `{"verifyMethod":"EMAIL_PASSCODE","emailPassCodePayload":{"newEmail":"b@x.io","newEmailPassCode":"1"}}`, nil, func() error {
			_, err := c.VerifyUpdateEmailRequest(ctx, &VerifyUpdateEmailRequestDto{VerifyMethod: VerifyMethodEmailPassCode,
				EmailPassCodePayload: UpdateEmailByEmailPassCodeDto{NewEmail: "b@x.io", NewEmailPassCode: "1"}})
			return err
		}},
		{"UpdateEmail", "POST", "/api/v3/update-email", `{"updateEmailToken":"t"}`, nil, func() error {
			_, err := c.UpdateEmail(ctx, &UpdateEmailDto{UpdateEmailToken: "t"})
			return err
		}},
		{"VerifyUpdatePhoneRequest", "POST", "/api/v3/verify-update-phone-request", `{"verifyMethod":"PHONE_PASSCODE","phonePassCodePayload":{"newPhoneNumber":"139","newPhonePassCode":"1"}}`, nil, func() error {
			_, err := c.VerifyUpdatePhoneRequest(ctx, &VerifyUpdatePhoneRequestDto{VerifyMethod: VerifyMethodPhonePassCode,
				PhonePassCodePayload: UpdatePhoneByPhonePassCodeDto{NewPhoneNumber: "139", NewPhonePassCode: "1"}})
			return err
		}},
		{"UpdatePhone", "POST", "/api/v3/update-phone", `{"updatePhoneToken":"t"}`, nil, func() error {
			_, err := c.UpdatePhone(ctx, &UpdatePhoneDto{UpdatePhoneToken: "t"})
			return err
		}},
		{"VerifyDeleteAccountRequest", "POST", "/api/v3/verify-delete-account-request", `{"verifyMethod":"PASSWORD","passwordPayload":{"password":"p"}}`, nil, func() error {
			_, err := c.VerifyDeleteAccountRequest(ctx, &VerifyDeleteAccountRequestDto{VerifyMethod: VerifyMethodPassword, PasswordPayload: &DeleteAccountByPasswordDto{Password: "p"}})
			return err
		}},
		{"DeleteAccount", "POST", "/api/v3/delete-account", `{"deleteAccountToken":"t"}`, nil, func() error {
			_, err := c.DeleteAccount(ctx, &DeleteAccounDto{DeleteAccountToken: "t"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			r := rec.last(t)
			if r.method != tt.method || r.path != tt.path {
				t.Errorf("request = %s %s, want %s %s", r.method, r.path, tt.method, tt.path)
			}
			if got := r.header.Get("x-authing-app-id"); got != "app1" {
				t.Errorf("x-authing-app-id = %q", got)
			}
			if tt.body == "" {
				if r.body != "" {
					t.Errorf("unexpected body %q", r.body)
				}
			} else {
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if !jsonEqual(t, r.body, tt.body) {
					t.Errorf("body = %s\nwant   %s", r.body, tt.body)
				}
			}
			if tt.query != nil && !reflect.DeepEqual(r.query, tt.query) {
				t.Errorf("query = %v, want %v", r.query, tt.query)
			}
		})
	}
}

func TestNilRequests(t *testing.T) {
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "a", AppHost: "http://127.0.0.1:1"})
	ctx := context.Background()
	if r, err := c.ResetPassword(ctx, nil); err == nil || r != nil {
		t.Errorf("ResetPassword(nil) = %v, %v", r, err)
	}
	if r, err := c.SignInByEmailPassword(ctx, nil); err == nil || r != nil {
		t.Errorf("SignInByEmailPassword(nil) = %v, %v", r, err)
	}
}

// TestEnvelopeError: statusCode 400 in an HTTP 200 reply gives the decoded
// envelope and an *Error found by errors.As.
func TestEnvelopeError(t *testing.T) {
	rec := newRecorder(t, 200, `{"statusCode":400,"message":"passCode is wrong or expired","apiCode":2003,"requestId":"req-42","data":null}`)
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: rec.URL})
	resp, err := c.VerifyResetPasswordRequest(context.Background(), &VerifyResetPasswordRequestDto{
		VerifyMethod: VerifyMethodEmailPassCode, EmailPassCodePayload: &ResetPasswordByEmailPassCodeDto{Email: "a@x.io", PassCode: "000000"}})
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	want := Error{StatusCode: 400, APICode: 2003, Message: "passCode is wrong or expired", RequestID: "req-42"}
	if *apiErr != want {
		t.Errorf("*Error = %+v, want %+v", *apiErr, want)
	}
	if resp == nil || resp.StatusCode != 400 || resp.APICode != 2003 || resp.RequestID != "req-42" || resp.Message != want.Message {
		t.Errorf("envelope = %+v", resp)
	}
	for _, s := range []string{"400", "2003", "passCode is wrong", "req-42"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Error() = %q lacks %q", err.Error(), s)
		}
	}
}

// TestEnvelopeSuccess: HTTP 200 + statusCode 200 gives a nil error and data.
func TestEnvelopeSuccess(t *testing.T) {
	rec := newRecorder(t, 200, `{"statusCode":200,"message":"ok","data":{"passwordResetToken":"prt","tokenExpiresIn":900}}`)
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: rec.URL})
	v, err := c.VerifyResetPasswordRequest(context.Background(), &VerifyResetPasswordRequestDto{VerifyMethod: VerifyMethodEmailPassCode})
	if err != nil {
		t.Fatal(err)
	}
	if v.StatusCode != 200 || v.Data.PasswordResetToken != "prt" || v.Data.TokenExpiresIn != 900 {
		t.Errorf("reply = %+v", v)
	}

	rec.set(200, `{"statusCode":200,"message":"ok","data":{"success":true}}`)
	r, err := c.ResetPassword(context.Background(), &ResetPasswordDto{Password: "p", PasswordResetToken: "prt"})
	if err != nil || !r.Data.Success {
		t.Errorf("ResetPassword = %+v, %v", r, err)
	}

	rec.set(200, `{"statusCode":200,"message":"ok","data":{"access_token":"at","id_token":"it","token_type":"Bearer","expire_in":7200,"expires_in":7200,"scope":"openid"}}`)
	l, err := c.SignInByEmailPassword(context.Background(), &SignInByEmailPasswordParams{Email: "a@x.io", Password: "p"})
	if err != nil || l.Data.AccessToken != "at" || l.Data.ExpireIn != 7200 || l.Data.ExpiresIn != 7200 || l.Data.IDToken != "it" {
		t.Errorf("SignIn = %+v, %v", l, err)
	}
}

// TestReplyFailures covers replies that are not a well-formed envelope.
func TestReplyFailures(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		reply    string
		apiErr   *Error // nil: a plain (wrapped) error is expected
		keepResp bool   // with an *Error the reply is never nil (empty when there was no envelope)
	}{
		{"http 413 with envelope", 413, `{"statusCode":413,"message":"body too large","apiCode":1002,"requestId":"r"}`,
			&Error{StatusCode: 413, APICode: 1002, Message: "body too large", RequestID: "r"}, true},
		{"http 429 with envelope, no requestId", 429, `{"statusCode":429,"message":"slow down"}`,
			&Error{StatusCode: 429, Message: "slow down", RequestID: "hdr-req"}, true},
		{"http 502 html", 502, `<html>bad gateway</html>`,
			&Error{StatusCode: 502, Message: "Bad Gateway: <html>bad gateway</html>", RequestID: "hdr-req"}, true},
		{"http 200 not json", 200, `<html>`, nil, false},
		{"http 200 no statusCode", 200, `{"message":"?"}`, nil, false},
		{"http 200 wrong data type", 200, `{"statusCode":200,"message":"ok","data":{"success":"yes"}}`, nil, false},
		{"statusCode 500, odd data", 200, `{"statusCode":500,"message":"internal error","data":{"success":"?"}}`,
			&Error{StatusCode: 500, Message: "internal error", RequestID: "hdr-req"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, tt.status, tt.reply)
			c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: rec.URL})
			resp, err := c.ResetPassword(context.Background(), &ResetPasswordDto{Password: "p", PasswordResetToken: "t"})
			if err == nil {
				t.Fatal("no error")
			}
			var apiErr *Error
			isAPI := errors.As(err, &apiErr)
			if tt.apiErr == nil {
				if isAPI {
					t.Errorf("got *Error %+v, want a plain error", apiErr)
				}
				if resp != nil {
					t.Errorf("resp = %+v, want nil", resp)
				}
				return
			}
			if !isAPI || *apiErr != *tt.apiErr {
				t.Errorf("err = %#v, want %+v", err, tt.apiErr)
			}
			if (resp != nil) != tt.keepResp {
				t.Errorf("resp = %+v, want present = %v", resp, tt.keepResp)
			}
		})
	}
}

func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: srv.URL})
	resp, err := c.SendEmail(context.Background(), &SendEmailDto{Email: "a@x.io", Channel: ChannelLogin})
	var apiErr *Error
	if err == nil || errors.As(err, &apiErr) || resp != nil {
		t.Errorf("closed server: resp %v, err %v; want nil and a plain error", resp, err)
	}
	if !strings.Contains(err.Error(), "/api/v3/send-email") {
		t.Errorf("err %q does not name the endpoint", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetSecurityLevel(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v, want context.Canceled in the chain", err)
	}
}

// TestAuthorizationHeaders: the access token goes out as is; signin gets
// Basic under client_secret_basic; x-authing-lang when set.
func TestAuthorizationHeaders(t *testing.T) {
	rec := newRecorder(t, 200, okReply)
	ctx := context.Background()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app1:sec1"))

	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL, Lang: "en-US"})
	if _, err := c.GetProfile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if h := r.header.Get("Authorization"); h != "" {
		t.Errorf("no token set, Authorization = %q", h)
	}
	if h := r.header.Get("x-authing-lang"); h != "en-US" {
		t.Errorf("x-authing-lang = %q", h)
	}
	c.SetAccessToken("eyJ.at")
	if _, err := c.GetProfile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if h := rec.last(t).header.Get("Authorization"); h != "eyJ.at" {
		t.Errorf("Authorization = %q, want the raw access token", h)
	}

	cb := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL,
		TokenEndPointAuthMethod: AuthMethodClientSecretBasic, AccessToken: "eyJ.at"})
	in := &SigninByCredentialsDto{Connection: ConnectionPassword, PasswordPayload: &SignInByPasswordPayloadDto{Password: "p", Email: "a@x.io"}}
	if _, err := cb.SignInByCredentials(ctx, in); err != nil {
		t.Fatal(err)
	}
	r = rec.last(t)
	if h := r.header.Get("Authorization"); h != basic {
		t.Errorf("signin under client_secret_basic: Authorization = %q, want %q", h, basic)
	}
	if strings.Contains(r.body, "client_secret") || strings.Contains(r.body, "client_id") {
		t.Errorf("basic: body carries client credentials: %s", r.body)
	}
	if _, err := cb.GetProfile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if h := rec.last(t).header.Get("Authorization"); h != "eyJ.at" {
		t.Errorf("profile under client_secret_basic: Authorization = %q, want the access token", h)
	}

	cp := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL})
	if _, err := cp.SignInByCredentials(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in.ClientID != "" || in.ClientSecret != "" {
		t.Error("SignInByCredentials modified the caller's request")
	}
	cn := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: rec.URL, TokenEndPointAuthMethod: AuthMethodNone})
	if _, err := cn.SignInByCredentials(ctx, in); err != nil {
		t.Fatal(err)
	}
	r = rec.last(t)
	if strings.Contains(r.body, "client_") || r.header.Get("Authorization") != "" {
		t.Errorf("none: body %s, Authorization %q", r.body, r.header.Get("Authorization"))
	}
}

// TestTokenEndpoints: form bodies and client authentication for each
// method, and OAuth errors as *Error.
func TestTokenEndpoints(t *testing.T) {
	ctx := context.Background()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app1:sec1"))
	for _, method := range []string{AuthMethodClientSecretPost, AuthMethodClientSecretBasic, AuthMethodNone} {
		t.Run(method, func(t *testing.T) {
			rec := newRecorder(t, 200, `{"access_token":"at2","refresh_token":"rt2","id_token":"it2","token_type":"Bearer","expires_in":3600,"scope":"openid offline_access"}`)
			c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL,
				TokenEndPointAuthMethod: method, AccessToken: "user-at"})
			checkForm := func(path string, want url.Values) {
				t.Helper()
				r := rec.last(t)
				if r.method != "POST" || r.path != path {
					t.Errorf("request = %s %s, want POST %s", r.method, r.path, path)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type = %q", ct)
				}
				if r.header.Get("x-authing-app-id") != "app1" {
					t.Error("no x-authing-app-id")
				}
				switch method {
				case AuthMethodClientSecretPost:
					want.Set("client_id", "app1")
					want.Set("client_secret", "sec1")
				case AuthMethodNone:
					want.Set("client_id", "app1")
				}
				wantAuth := ""
				if method == AuthMethodClientSecretBasic {
					wantAuth = basic
				}
				if h := r.header.Get("Authorization"); h != wantAuth {
					t.Errorf("Authorization = %q, want %q", h, wantAuth)
				}
				got, err := url.ParseQuery(r.body)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("form = %v (%v), want %v", got, err, want)
				}
			}

			ts, err := c.GetNewAccessTokenByRefreshToken(ctx, "rt1")
			if err != nil {
				t.Fatal(err)
			}
			if ts.AccessToken != "at2" || ts.RefreshToken != "rt2" || ts.ExpiresIn != 3600 || ts.IDToken != "it2" {
				t.Errorf("TokenSet = %+v", ts)
			}
			checkForm("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt1"}})

			rec.set(200, `{"active":true,"sub":"u1","client_id":"app1","exp":1700000000,"aud":"app1","scope":"openid"}`)
			in, err := c.IntrospectToken(ctx, "at2")
			if err != nil {
				t.Fatal(err)
			}
			if !in.Active || in.Sub != "u1" || in.Exp != 1700000000 || !reflect.DeepEqual(in.Aud, Audience{"app1"}) {
				t.Errorf("introspection = %+v", in)
			}
			checkForm("/oidc/token/introspection", url.Values{"token": {"at2"}})

			rec.set(200, ``)
			ok, err := c.RevokeToken(ctx, "rt2")
			if err != nil || !ok {
				t.Fatalf("RevokeToken = %v, %v", ok, err)
			}
			checkForm("/oidc/token/revocation", url.Values{"token": {"rt2"}})
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t, 400, `{"error":"invalid_grant","error_description":"refresh token is invalid or expired"}`)
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL})
	ts, err := c.GetNewAccessTokenByRefreshToken(ctx, "bad")
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := Error{StatusCode: 400, Message: "refresh token is invalid or expired", OAuthError: "invalid_grant", RequestID: "hdr-req"}
	if *apiErr != want {
		t.Errorf("*Error = %+v, want %+v", *apiErr, want)
	}
	if ts == nil {
		t.Error("TokenSet is nil on an OAuth error")
	}
	if !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "400") {
		t.Errorf("Error() = %q", err)
	}

	rec.set(401, `{"error":"invalid_client"}`)
	if ok, err := c.RevokeToken(ctx, "x"); ok || !errors.As(err, &apiErr) || apiErr.OAuthError != "invalid_client" || apiErr.Message != "invalid_client" || apiErr.StatusCode != 401 {
		t.Errorf("RevokeToken = %v, %v", ok, err)
	}
	rec.set(200, `{"active":"yes"}`)
	if r, err := c.IntrospectToken(ctx, "x"); r != nil || err == nil || errors.As(err, &apiErr) {
		t.Errorf("bad introspection reply: %v, %v; want a plain decode error", r, err)
	}

	noSecret := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: rec.URL})
	if _, err := noSecret.GetNewAccessTokenByRefreshToken(ctx, "x"); err == nil || !strings.Contains(err.Error(), "AppSecret") {
		t.Errorf("no secret: err = %v", err)
	}
}

func TestSeparateEndpointAuthMethods(t *testing.T) {
	rec := newRecorder(t, 200, `{"active":false}`)
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppSecret: "sec1", AppHost: rec.URL,
		TokenEndPointAuthMethod: AuthMethodClientSecretBasic, IntrospectionEndPointAuthMethod: AuthMethodClientSecretPost})
	if _, err := c.IntrospectToken(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if r.header.Get("Authorization") != "" || !strings.Contains(r.body, "client_secret=sec1") {
		t.Errorf("introspection under post: Authorization %q, body %q", r.header.Get("Authorization"), r.body)
	}
	if _, err := c.RevokeToken(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if r := rec.last(t); !strings.HasPrefix(r.header.Get("Authorization"), "Basic ") {
		t.Errorf("revocation should follow TokenEndPointAuthMethod (basic); Authorization = %q", r.header.Get("Authorization"))
	}
}

func TestBuildLogoutURL(t *testing.T) {
	c := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: "https://id.example.com/"})
	tests := []struct {
		p    LogoutParams
		want string
	}{
		{LogoutParams{IDToken: "it", RedirectURI: "https://app/after?x=1", State: "s1"},
			"https://id.example.com/oidc/session/end?id_token_hint=it&post_logout_redirect_uri=https%3A%2F%2Fapp%2Fafter%3Fx%3D1&state=s1"},
		{LogoutParams{IDToken: "it", State: "dropped without a redirect"}, "https://id.example.com/oidc/session/end?id_token_hint=it"},
		{LogoutParams{}, "https://id.example.com/oidc/session/end"},
	}
	for _, tt := range tests {
		if got := c.BuildLogoutURL(tt.p); got != tt.want {
			t.Errorf("BuildLogoutURL(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
	cd := newClientOpts(t, AuthenticationClientOptions{AppID: "app1", AppHost: "id.example.com", LogoutRedirectURI: "https://app/bye"})
	if got, want := cd.BuildLogoutURL(LogoutParams{State: "s"}), "https://id.example.com/oidc/session/end?post_logout_redirect_uri=https%3A%2F%2Fapp%2Fbye&state=s"; got != want {
		t.Errorf("default redirect: %q, want %q", got, want)
	}
}

func TestNewAuthenticationClientValidation(t *testing.T) {
	tests := []struct {
		name     string
		opts     AuthenticationClientOptions
		wantHost string // "" means an error is expected
	}{
		{"ok", AuthenticationClientOptions{AppID: "a", AppHost: "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"},
		{"bare host gets https", AuthenticationClientOptions{AppID: "a", AppHost: "id.example.com"}, "https://id.example.com"},
		{"localhost gets http", AuthenticationClientOptions{AppID: "a", AppHost: "localhost:8080"}, "http://localhost:8080"},
		{"path prefix kept", AuthenticationClientOptions{AppID: "a", AppHost: "https://x.io/auth/"}, "https://x.io/auth"},
		{"no app id", AuthenticationClientOptions{AppHost: "http://x"}, ""},
		{"blank app id", AuthenticationClientOptions{AppID: "  ", AppHost: "http://x"}, ""},
		{"no host", AuthenticationClientOptions{AppID: "a"}, ""},
		{"bad host", AuthenticationClientOptions{AppID: "a", AppHost: "http://"}, ""},
		{"query in host", AuthenticationClientOptions{AppID: "a", AppHost: "http://x?y=1"}, ""},
		{"bad auth method", AuthenticationClientOptions{AppID: "a", AppHost: "http://x", TokenEndPointAuthMethod: "private_key_jwt"}, ""},
		{"bad introspection method", AuthenticationClientOptions{AppID: "a", AppHost: "http://x", IntrospectionEndPointAuthMethod: "basic"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewAuthenticationClient(tt.opts)
			if tt.wantHost == "" {
				if err == nil {
					t.Errorf("no error for %+v", tt.opts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.host != tt.wantHost {
				t.Errorf("host = %q, want %q", c.host, tt.wantHost)
			}
		})
	}
}
