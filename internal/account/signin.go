package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/ident"
	"github.com/keyhaven/keyhaven/internal/passcode"
	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
)

// SignIn is a sign-in request, already decoded.
type SignIn struct {
	Connection       string // PASSWORD or PASSCODE
	Account          string
	Email            string
	Username         string
	Phone            string
	PhoneCountryCode string
	Password         string
	EncryptType      string
	PassCode         string
	Scope            string
	AppID            string
	IP               string
	Lang             string // of the notice ProveEmail may send
	AutoRegister     bool   // register an unknown email or username first (PASSWORD only)
}

// ErrBadCredentials is the one answer for an unknown account, a wrong
// password and a too-often-failed account alike (OWASP Authentication CS).
var ErrBadCredentials = apierr.New(401, apierr.CodeBadCredentials, "account or password is incorrect")

// Authenticate signs a user in and opens a session.
func (s *Service) Authenticate(ctx context.Context, in SignIn) (session.TokenSet, error) {
	// Checked first: a refused request must not spend a code or a try.
	if in.Scope != "" {
		if len(in.Scope) > 1024 {
			return session.TokenSet{}, apierr.BadRequest("options.scope", "must be at most 1024 characters")
		}
		if in.Scope = session.KnownScopes(in.Scope); !strings.Contains(" "+in.Scope+" ", " openid ") {
			return session.TokenSet{}, apierr.BadRequest("options.scope", "must include openid")
		}
	}
	var u store.User
	var err error
	switch in.Connection {
	case "PASSWORD":
		u, err = s.passwordSignIn(ctx, in)
	case "PASSCODE":
		u, err = s.codeSignIn(ctx, in)
	case "LDAP", "AD":
		return session.TokenSet{}, apierr.BadRequest("connection", in.Connection+" sign-in is not served by Keyhaven")
	default:
		return session.TokenSet{}, apierr.BadRequest("connection", "must be PASSWORD or PASSCODE")
	}
	if err != nil {
		return session.TokenSet{}, err
	}
	return s.sessions.Start(ctx, u.ID, u.CredVersion, in.AppID, in.Scope, claimsOf(u))
}

// lookup finds the account an identifier names. key is the per-identifier
// failure counter's name, the same whether or not the account exists.
func (s *Service) lookup(ctx context.Context, in SignIn) (u store.User, key string, err error) {
	byEmail := func(field, v string) (store.User, string, error) {
		e, err := ParseEmail(field, v)
		if err != nil {
			return store.User{}, "", err
		}
		u, err := s.st.GetUserByEmail(ctx, e.Key)
		return u, "email:" + e.Key, err
	}
	byPhone := func(field, v string) (store.User, string, error) {
		p, err := s.ParsePhone(field, v, in.PhoneCountryCode)
		if err != nil {
			return store.User{}, "", err
		}
		u, err := s.st.GetUserByPhone(ctx, p.E164)
		return u, "phone:" + p.E164, err
	}
	byUsername := func(field, v string) (store.User, string, error) {
		k, err := ident.UsernameKey(v)
		if err != nil {
			return store.User{}, "", apierr.BadRequest(field, err.Error())
		}
		u, err := s.st.GetUserByUsername(ctx, k)
		return u, "username:" + k, err
	}
	switch {
	case in.Email != "":
		return byEmail("passwordPayload.email", in.Email)
	case in.Phone != "":
		return byPhone("passwordPayload.phone", in.Phone)
	case in.Username != "":
		return byUsername("passwordPayload.username", in.Username)
	case in.Account != "":
		// An account name may be any of the three: try each form it could be.
		if strings.Contains(in.Account, "@") {
			if u, key, err := byEmail("passwordPayload.account", in.Account); !errors.Is(err, store.ErrNotFound) {
				return u, key, err
			}
		}
		if _, perr := ident.ParsePhone(in.Account, in.PhoneCountryCode, s.region); perr == nil {
			if u, key, err := byPhone("passwordPayload.account", in.Account); !errors.Is(err, store.ErrNotFound) {
				return u, key, err
			}
		}
		return byUsername("passwordPayload.account", in.Account)
	}
	return store.User{}, "", apierr.BadRequest("passwordPayload", "needs account, email, phone or username")
}

func (s *Service) passwordSignIn(ctx context.Context, in SignIn) (store.User, error) {
	u, key, err := s.lookup(ctx, in)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	if !found && in.AutoRegister {
		return s.autoRegister(ctx, in)
	}
	if in.Password == "" {
		return u, apierr.BadRequest("passwordPayload.password", "is required")
	}
	// Every path below costs one hash, so timing says nothing about whether
	// the account exists or the ciphertext decrypted.
	pw, decErr := s.pw.Decode(in.EncryptType, in.Password, "passwordPayload.password")
	if ae, ok := apierr.As(decErr); ok && ae.APICode == apierr.CodeBadRequest {
		return u, decErr // unknown passwordEncryptType: a client bug, not a guess
	}
	if found {
		key = store.PasswordFailures(u.ID) // one count, whichever name signs in
	} else {
		key = "signin-fail:" + key
	}
	try, within, err := s.passwordTry(ctx, key)
	if err != nil {
		return u, err
	}
	if !found || decErr != nil || !within || u.PasswordHash == "" {
		s.pw.Hasher.VerifyDummy(ctx, pw)
		return u, ErrBadCredentials
	}
	ok, rehash, err := s.pw.Hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		// Not checked (the client left while it queued for the hasher): no
		// answer, so no guess; the try goes back.
		return u, s.giveBack(ctx, try, fmt.Errorf("account: verify password: %w", err))
	}
	if !ok {
		return u, ErrBadCredentials
	}
	re := store.Rehash{From: u.PasswordHash}
	if rehash {
		if re.To, err = s.pw.Hasher.Hash(ctx, pw); err != nil {
			return u, s.giveBack(ctx, try, fmt.Errorf("account: rehash: %w", err))
		}
	}
	if err := s.st.RecordSignIn(ctx, u.ID, s.now(), in.IP, re, &try); err != nil {
		return u, s.giveBack(ctx, try, fmt.Errorf("account: record sign-in: %w", err))
	}
	return u, nil
}

// giveBackTimeout bounds a give-back that runs after its request ended.
const giveBackTimeout = 5 * time.Second

// giveBack takes back a counted try whose password was right or never
// checked, so an owner whose requests time out under load is not counted
// towards a lockout. It runs even if ctx was cancelled, the usual cause,
// but for at most giveBackTimeout, so a stalled database cannot hold the
// handler. It returns err, joined with the give-back's own failure if any.
// A request that failed after its record committed (a dropped connection)
// gives back twice; that follows only a right password.
func (s *Service) giveBack(ctx context.Context, try store.Counter, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
	defer cancel()
	if gerr := s.st.Unhit(ctx, try.Key, try.Window); gerr != nil {
		return errors.Join(err, fmt.Errorf("account: give back password try: %w", gerr))
	}
	return err
}

// passwordTry counts a try of a password on key before the hash is checked,
// and says whether it is within the hour's limit (ASVS 2.2.1: 100 failures
// an hour). Counted only after a failed check, parallel guesses all read a
// count under the limit while they waited for the hasher. A right password,
// or one never checked, gives its try back (RecordSignIn, giveBack), so the
// count is of failures; at the limit the answer is the same as for a wrong
// password.
func (s *Service) passwordTry(ctx context.Context, key string) (store.Counter, bool, error) {
	now := s.now()
	hour := now.Truncate(time.Hour)
	c := store.Counter{Key: key, Window: hour, ExpiresAt: hour.Add(2 * time.Hour)}
	n, err := s.st.Hit(ctx, c.Key, c.Window, c.ExpiresAt)
	if err != nil {
		return c, false, fmt.Errorf("account: count password try: %w", err)
	}
	if n > s.failLimit {
		return c, false, nil
	}
	// Over the last hour, not this clock hour only.
	last, err := store.Sliding(ctx, s.st, key, n, time.Hour, now)
	if err != nil {
		return c, false, s.giveBack(ctx, c, fmt.Errorf("account: count password tries: %w", err))
	}
	return c, last <= float64(s.failLimit), nil
}

// autoRegister is GenAuth's options.autoRegister for an email or username
// no account has: it is registered with the password first, exactly as
// signup would (the same checks and policy; an email stays unproven), and
// signed in. One registered meanwhile by someone else answers as a wrong
// password.
func (s *Service) autoRegister(ctx context.Context, in SignIn) (store.User, error) {
	if in.Email == "" && in.Username == "" {
		return store.User{}, apierr.BadRequest("options.autoRegister", "works with passwordPayload.email or passwordPayload.username")
	}
	u, err := s.Register(ctx, SignUp{Connection: "PASSWORD", Email: in.Email, Username: in.Username,
		Password: in.Password, EncryptType: in.EncryptType})
	if errors.Is(err, errExists) {
		return u, ErrBadCredentials
	}
	if err != nil {
		return u, err
	}
	if err := s.st.RecordSignIn(ctx, u.ID, s.now(), in.IP, store.Rehash{}, nil); err != nil {
		return u, fmt.Errorf("account: record sign-in: %w", err)
	}
	return u, nil
}

func (s *Service) codeSignIn(ctx context.Context, in SignIn) (store.User, error) {
	var target passcode.Target
	var find func() (store.User, error)
	switch {
	case in.Email != "":
		e, err := ParseEmail("passCodePayload.email", in.Email)
		if err != nil {
			return store.User{}, err
		}
		target = passcode.EmailTarget(e.Key)
		find = func() (store.User, error) { return s.st.GetUserByEmail(ctx, e.Key) }
	case in.Phone != "":
		p, err := s.ParsePhone("passCodePayload.phone", in.Phone, in.PhoneCountryCode)
		if err != nil {
			return store.User{}, err
		}
		target = passcode.PhoneTarget(p.E164)
		find = func() (store.User, error) { return s.st.GetUserByPhone(ctx, p.E164) }
	default:
		return store.User{}, apierr.BadRequest("passCodePayload", "needs email or phone")
	}
	if err := s.codes.Verify(ctx, target, "CHANNEL_LOGIN", in.PassCode, "passCodePayload.passCode"); err != nil {
		return store.User{}, err
	}
	u, err := find()
	if errors.Is(err, store.ErrNotFound) {
		// The code was never sent (unknown address) but was guessed right.
		return u, passcode.ErrDead
	}
	if err != nil {
		return u, fmt.Errorf("account: code sign-in: %w", err)
	}
	if in.Email != "" {
		if u, err = s.ProveEmail(ctx, u, in.Lang); err != nil {
			return u, err
		}
	}
	if err := s.st.RecordSignIn(ctx, u.ID, s.now(), in.IP, store.Rehash{}, nil); err != nil {
		return u, fmt.Errorf("account: record sign-in: %w", err)
	}
	return u, nil
}

// ProveEmail is told that a code sent to u's email was just verified (a
// code sign-in). An email that signed up with a password is unproven, and
// may have been typed by someone else first, who chose that password (the
// pre-account hijack): at its first proof the address becomes verified,
// what was set before it goes (proveEmail) and the address is told why. A
// reset does the same in its own statement. It returns u as it is now.
func (s *Service) ProveEmail(ctx context.Context, u store.User, lang string) (store.User, error) {
	for try := 0; !u.EmailVerified && u.EmailKey != ""; try++ {
		err := s.proveEmail(ctx, u, lang)
		if err != nil && (!errors.Is(err, errChangedMeanwhile) || try == 2) {
			return u, err
		}
		// Re-read: the change raised the credential version, which a
		// session opened now must carry; after a stale try, what is there
		// now decides (a reset by email in between proved it already).
		if u, err = s.st.GetUserByID(ctx, u.ID); err != nil {
			return u, fmt.Errorf("account: read proven user: %w", err)
		}
	}
	return u, nil
}

// proveEmail makes u's email verified. What was set before the proof, by
// whoever typed the address, ends with it: the password, a phone (its SMS
// codes would sign in too; older versions could bind one unproven), and
// every session. Both are cleared whatever u shows: a bind that lands
// between the read and this write must go too (the write is conditional
// on the credential version, which a bind leaves as it is).
func (s *Service) proveEmail(ctx context.Context, u store.User, lang string) error {
	had := u.PasswordHash != "" || u.Phone != ""
	u.EmailVerified, u.UpdatedAt = true, s.now()
	u.PasswordHash, u.PasswordLastSetAt, u.Phone, u.PhoneVerified = "", time.Time{}, "", false
	kind := "" // nothing to tell if there was nothing to remove
	if had {
		kind = "email_verified"
	}
	return s.changeWith(ctx, u, store.Change{Fields: store.FieldEmailVerified | store.FieldPassword | store.FieldPhone, EndOthers: true},
		lang, kind, u.Email, "")
}
