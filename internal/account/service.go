package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/ident"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Messages renders the messages the account flows queue. Each returns an
// outbox message ready for store.Codes.IssueCode or store.Outbox.Enqueue.
type Messages interface {
	CodeEmail(lang, channel, to, code string, ttl time.Duration) (*store.OutboxMessage, error)
	CodeSMS(lang, channel string, to ident.Phone, code string, ttl time.Duration) (*store.OutboxMessage, error)
	// Notice tells the owner of an address that something changed (kind:
	// "password_changed", "email_changed", ...). Returns nil if u has
	// neither an email nor a phone.
	Notice(lang, kind string, u store.User) (*store.OutboxMessage, error)
	// NoticeTo is Notice for an explicit address (email preferred) or number.
	NoticeTo(lang, kind, email, phone string) (*store.OutboxMessage, error)
}

// Service is the account domain.
type Service struct {
	st        store.Store
	pw        *Passwords
	codes     *passcode.Service
	sessions  *session.Service
	signer    *token.Signer
	msgs      Messages
	region    string
	now       func() time.Time
	wake      func(id int64)
	failLimit int
	smsCap    int
	smsTo     []string
}

// Options wires a Service.
type Options struct {
	Store     store.Store
	Passwords *Passwords
	Codes     *passcode.Service
	Sessions  *session.Service
	Signer    *token.Signer // signs the update-email/phone and delete-account tokens
	Messages  Messages
	Region    string // default phone region
	Now       func() time.Time
	Wake      func(id int64) // tells the outbox worker of a queued message
	// FailLimit is the wrong passwords an account may see an hour (ASVS
	// 2.2.1: at most 100, the default).
	FailLimit int
	// SMSHourlyCap bounds the code texts all replicas send an hour (0:
	// none); SMSRegions, if any, are the regions whose numbers are texted.
	SMSHourlyCap int
	SMSRegions   []string
}

// NewService returns a Service.
func NewService(o Options) *Service {
	if o.Wake == nil {
		o.Wake = func(int64) {}
	}
	if o.FailLimit <= 0 || o.FailLimit > 100 {
		o.FailLimit = 100
	}
	return &Service{st: o.Store, pw: o.Passwords, codes: o.Codes, sessions: o.Sessions, signer: o.Signer, msgs: o.Messages,
		region: o.Region, now: o.Now, wake: o.Wake, failLimit: o.FailLimit, smsCap: o.SMSHourlyCap, smsTo: o.SMSRegions}
}

// Passwords returns the password handling shared with other flows.
func (s *Service) Passwords() *Passwords { return s.pw }

// ResetHash is NewHash for a password reset. "Must differ from the current
// password" tells whether a guess is the current password, and concurrent
// uses of one reset token would each get a guess before one claims it: so
// the comparison counts as a password try of the account (the reset then
// clears the count), is given back if it never ran, and past the hour's
// limit is replaced by a dummy of the same cost.
func (s *Service) ResetHash(ctx context.Context, pw, field string, u store.User) (string, error) {
	if err := s.pw.CheckPolicy(pw, field, &u); err != nil {
		return "", err
	}
	if u.PasswordHash != "" {
		try, within, err := s.passwordTry(ctx, store.PasswordFailures(u.ID))
		if err != nil {
			return "", err
		}
		if !within {
			s.pw.Hasher.VerifyDummy(ctx, pw) // the same time as a comparison
		} else if err := s.pw.notCurrent(ctx, pw, u); err != nil {
			if errors.Is(err, errReused) {
				return "", inField(err, field)
			}
			return "", s.giveBack(ctx, try, err)
		}
	}
	return s.pw.hash(ctx, pw)
}

// Codes returns the passcode service.
func (s *Service) Codes() *passcode.Service { return s.codes }

// Region is the default phone region.
func (s *Service) Region() string { return s.region }

// ParseEmail validates an email field.
func ParseEmail(field, v string) (ident.Email, error) {
	if v == "" {
		return ident.Email{}, apierr.BadRequest(field, "is required")
	}
	e, err := ident.ParseEmail(v)
	if err != nil {
		return e, apierr.BadRequest(field, "is not a valid email address")
	}
	return e, nil
}

// ParsePhone validates a phone field with its optional country code.
func (s *Service) ParsePhone(field, number, countryCode string) (ident.Phone, error) {
	if number == "" {
		return ident.Phone{}, apierr.BadRequest(field, "is required")
	}
	p, err := ident.ParsePhone(number, countryCode, s.region)
	if errors.Is(err, ident.ErrCallCode) {
		return p, apierr.BadRequest(field, "its country code is not a calling code such as +86")
	}
	if errors.Is(err, ident.ErrCallCodeDiff) {
		return p, apierr.BadRequest(field, "starts with a country code other than the one given in its country code field")
	}
	if err != nil {
		return p, apierr.BadRequest(field, "is not a valid phone number (add phoneCountryCode for numbers outside "+s.region+")")
	}
	return p, nil
}

// ---- the message service

// channels whose code goes to an existing account's address: for an unknown
// address nothing is sent, and the answer is the same.
var accountChannels = map[string]bool{
	"CHANNEL_LOGIN": true, "CHANNEL_RESET_PASSWORD": true, "CHANNEL_UNBIND_EMAIL": true, "CHANNEL_UNBIND_PHONE": true,
	"CHANNEL_DELETE_ACCOUNT": true,
}

// The channels some flow takes a code of (CONTRACT §4's table, and sign-up
// completion). GenAuth's others (MFA, account unlock, email-link and
// identity verification) are refused rather than sent: nothing would ever
// accept the code, and each SMS costs its sender.
var (
	emailFlows = map[string]bool{"CHANNEL_LOGIN": true, "CHANNEL_REGISTER": true, "CHANNEL_RESET_PASSWORD": true,
		"CHANNEL_UPDATE_EMAIL": true, "CHANNEL_BIND_EMAIL": true, "CHANNEL_UNBIND_EMAIL": true,
		"CHANNEL_DELETE_ACCOUNT": true, "CHANNEL_COMPLETE_EMAIL": true}
	smsFlows = map[string]bool{"CHANNEL_LOGIN": true, "CHANNEL_REGISTER": true, "CHANNEL_RESET_PASSWORD": true,
		"CHANNEL_BIND_PHONE": true, "CHANNEL_UNBIND_PHONE": true, "CHANNEL_DELETE_ACCOUNT": true, "CHANNEL_COMPLETE_PHONE": true}
)

// CodeChannels lists the channels some flow spends codes of, email's and
// SMS's: the metrics' label values.
func CodeChannels() []string {
	var out []string
	for ch := range emailFlows {
		out = append(out, ch)
	}
	for ch := range smsFlows {
		if !emailFlows[ch] {
			out = append(out, ch)
		}
	}
	slices.Sort(out)
	return out
}

func unserved(channel string) error {
	return apierr.BadRequest("channel", channel+" is not served by Keyhaven: no endpoint takes its code (MFA, account unlock and link or identity verification are not served)")
}

// SendEmailCode handles POST /api/v3/send-email.
func (s *Service) SendEmailCode(ctx context.Context, channel, email, lang string) error {
	if !emailFlows[channel] {
		return unserved(channel)
	}
	e, err := ParseEmail("email", email)
	if err != nil {
		return err
	}
	to := e.Address
	if accountChannels[channel] {
		u, err := s.st.GetUserByEmail(ctx, e.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			to = ""
		case err != nil:
			return fmt.Errorf("account: send email code: %w", err)
		default:
			to = u.Email // exactly as stored, never as typed
		}
	}
	var build func(string, time.Duration) (*store.OutboxMessage, error)
	if to != "" {
		build = func(code string, ttl time.Duration) (*store.OutboxMessage, error) {
			return s.msgs.CodeEmail(lang, channel, to, code, ttl)
		}
	}
	return s.codes.Issue(ctx, passcode.EmailTarget(e.Key), channel, build)
}

// SendSMSCode handles POST /api/v3/send-sms.
func (s *Service) SendSMSCode(ctx context.Context, channel, number, countryCode, lang string) error {
	if !smsFlows[channel] {
		return unserved(channel)
	}
	p, err := s.ParsePhone("phoneNumber", number, countryCode)
	if err != nil {
		return err
	}
	if len(s.smsTo) > 0 && !slices.Contains(s.smsTo, p.Region) {
		return apierr.BadRequest("phoneNumber", "numbers of this country or region are not texted by this server")
	}
	// The budget counts every code asked for, texted or not (an unknown
	// number's reset code is not), so its answer tells nothing of accounts.
	// It is counted before it is checked, so requests racing at the cap
	// cannot all pass it; one refused, or not issued, gives its count back.
	now := s.now()
	hour := now.Truncate(time.Hour)
	if s.smsCap > 0 {
		n, err := s.st.Hit(ctx, smsBudget, hour, hour.Add(2*time.Hour))
		if err != nil {
			return fmt.Errorf("account: sms budget: %w", err)
		}
		last, err := store.Sliding(ctx, s.st, smsBudget, n, time.Hour, now)
		if err == nil && last > float64(s.smsCap) {
			err = errSMSBudget
		}
		if err != nil {
			return s.giveBackSMS(ctx, hour, err)
		}
	}
	send := true
	if accountChannels[channel] {
		u, err := s.st.GetUserByPhone(ctx, p.E164)
		switch {
		case errors.Is(err, store.ErrNotFound):
			send = false
		case err != nil:
			return fmt.Errorf("account: send sms code: %w", err)
		default:
			if p, err = ident.ParsePhone(u.Phone, "", s.region); err != nil {
				return fmt.Errorf("account: stored phone: %w", err)
			}
		}
	}
	var build func(string, time.Duration) (*store.OutboxMessage, error)
	if send {
		build = func(code string, ttl time.Duration) (*store.OutboxMessage, error) {
			return s.msgs.CodeSMS(lang, channel, p, code, ttl)
		}
	}
	err = s.codes.Issue(ctx, passcode.PhoneTarget(p.E164), channel, build)
	if err != nil && s.smsCap > 0 {
		return s.giveBackSMS(ctx, hour, err)
	}
	return err
}

// giveBackSMS takes back a count of the SMS budget for a code not issued,
// and returns err.
func (s *Service) giveBackSMS(ctx context.Context, hour time.Time, err error) error {
	if uerr := s.st.Unhit(ctx, smsBudget, hour); uerr != nil {
		return errors.Join(err, fmt.Errorf("account: sms budget: %w", uerr))
	}
	return err
}

// smsBudget is the counter of code texts asked for, across replicas.
const smsBudget = "sms:all"

// The hosted page (webui/assets/forgot.js) knows this message by "as many
// texts".
var errSMSBudget = apierr.New(429, apierr.CodeCodeThrottled,
	"this server has sent as many texts as it may this hour: try again later, or use email")

// ---- profiles

// Profile is the user-editable profile, stored as JSON (UserDto's fields).
type Profile struct {
	Name              string          `json:"name,omitempty"`
	Nickname          string          `json:"nickname,omitempty"`
	Photo             string          `json:"photo,omitempty"`
	Company           string          `json:"company,omitempty"`
	Browser           string          `json:"browser,omitempty"`
	Device            string          `json:"device,omitempty"`
	GivenName         string          `json:"givenName,omitempty"`
	FamilyName        string          `json:"familyName,omitempty"`
	MiddleName        string          `json:"middleName,omitempty"`
	Profile           string          `json:"profile,omitempty"`
	PreferredUsername string          `json:"preferredUsername,omitempty"`
	Website           string          `json:"website,omitempty"`
	Gender            string          `json:"gender,omitempty"`
	Birthdate         string          `json:"birthdate,omitempty"`
	Zoneinfo          string          `json:"zoneinfo,omitempty"`
	Locale            string          `json:"locale,omitempty"`
	Address           string          `json:"address,omitempty"`
	Formatted         string          `json:"formatted,omitempty"`
	StreetAddress     string          `json:"streetAddress,omitempty"`
	Locality          string          `json:"locality,omitempty"`
	Region            string          `json:"region,omitempty"`
	PostalCode        string          `json:"postalCode,omitempty"`
	Country           string          `json:"country,omitempty"`
	Province          string          `json:"province,omitempty"`
	City              string          `json:"city,omitempty"`
	ExternalID        string          `json:"externalId,omitempty"`
	IdentityNumber    string          `json:"identityNumber,omitempty"`
	CustomData        json.RawMessage `json:"customData,omitempty"`
}

// Profile bounds: a profile is copied into every id token, and a megabyte
// name made every sign-in answer with a megabyte token.
const (
	maxProfileField = 1024
	maxCustomData   = 16 << 10
)

// check refuses a profile out of bounds, naming the field under prefix
// ("profile." at sign-up).
func (p Profile) check(prefix string) error {
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if s, ok := v.Field(i).Interface().(string); ok && utf8.RuneCountInString(s) > maxProfileField {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return apierr.BadRequest(prefix+name, fmt.Sprintf("must be at most %d characters", maxProfileField))
		}
	}
	if p.Photo != "" {
		if u, err := url.Parse(p.Photo); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return apierr.BadRequest(prefix+"photo", "must be an http(s) URL")
		}
	}
	if c := bytes.TrimSpace(p.CustomData); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		if len(c) > maxCustomData {
			return apierr.BadRequest(prefix+"customData", fmt.Sprintf("must be at most %d bytes", maxCustomData))
		}
		if c[0] != '{' {
			return apierr.BadRequest(prefix+"customData", "must be an object")
		}
	}
	return nil
}

// ProfileOf decodes a stored profile.
func ProfileOf(u store.User) Profile {
	var p Profile
	_ = json.Unmarshal(u.Profile, &p) // written by us; an empty profile is the safe fallback
	return p
}

// GetUser returns the account of a signed-in user.
func (s *Service) GetUser(ctx context.Context, userID string) (store.User, error) {
	u, err := s.st.GetUserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return u, session.ErrUnauthorized
	}
	return u, err
}

// SessionClaims returns the id-token facts of a user.
func (s *Service) SessionClaims(ctx context.Context, userID string) (session.Claims, error) {
	u, err := s.st.GetUserByID(ctx, userID)
	if err != nil {
		return session.Claims{}, fmt.Errorf("account: claims: %w", err)
	}
	return claimsOf(u), nil
}

func claimsOf(u store.User) session.Claims {
	p := ProfileOf(u)
	return session.Claims{Email: u.Email, EmailVerified: u.EmailVerified, Phone: u.Phone, PhoneVerified: u.PhoneVerified,
		Username: u.Username, Name: p.Name, Nickname: p.Nickname, Picture: p.Photo, UpdatedAt: u.UpdatedAt}
}
