// Package store defines Keyhaven's storage interface and its record types.
//
// Every implementation (SQLite, PostgreSQL) passes the conformance suite in
// package storetest. Times cross the interface as time.Time supplied by the
// caller's clock, so tests can move time and replicas agree on "now" only
// through what they write.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns, wrapped with %w.
var (
	// ErrNotFound: the record does not exist, or a conditional claim
	// (single-use token, code) did not match.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (email, phone, username, id) is taken.
	ErrConflict = errors.New("conflict")
	// ErrThrottled: IssueCode found a code for the same (target, channel)
	// younger than the minimum interval.
	ErrThrottled = errors.New("throttled")
	// ErrLimited: IssueCode found its counter already at Max.
	ErrLimited = errors.New("limit reached")
	// ErrStale: a password write read the user before another password
	// change (its CredVersion is no longer the user's); nothing is written.
	ErrStale = errors.New("changed meanwhile")
	// ErrLastSignInName: the write would leave the account with no way to
	// sign in (no email, no phone, and no username with a password);
	// nothing is written.
	ErrLastSignInName = errors.New("last sign-in name")
)

// App is a client application; its secret is stored only as a SHA-256 hash.
// A confidential app (the default) must authenticate with its secret at the
// token, introspection and revocation endpoints (RFC 6749 §2.3, §6); a
// Public one (a browser or mobile app that cannot keep a secret) need not.
type App struct {
	ID         string
	Name       string
	SecretHash []byte
	Public     bool
	CreatedAt  time.Time
	// LogoutRedirectURIs are the exact URLs /oidc/session/end may send the
	// app's users to after sign-out, besides the issuer's own origin.
	LogoutRedirectURIs []string
}

// User is an account. EmailKey and UsernameKey are the lower-cased lookup
// forms; Email keeps the spelling the user registered with. Phone is E.164.
type User struct {
	ID                string
	Email             string
	EmailKey          string
	EmailVerified     bool
	Phone             string
	PhoneVerified     bool
	Username          string
	UsernameKey       string
	PasswordHash      string
	Profile           []byte // JSON object of profile fields, owned by package account
	Status            string
	LoginsCount       int
	LastLogin         time.Time // zero if never
	LastIP            string
	PasswordLastSetAt time.Time // zero if never set
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// CredVersion goes up with every password change (a reset, or a write
	// of FieldPassword); the store keeps it, callers only read it.
	CredVersion int64
}

// Code is a one-time passcode for one (target, channel). Only its HMAC is stored.
type Code struct {
	Target    string // "email:<key>" or "phone:<e164>"
	Channel   string
	CodeHash  []byte
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
	// Counter, if not nil, is a throttle counter (as Throttles.Hit) that
	// IssueCode adds one to in the same transaction, when it issues.
	Counter *Counter
}

// Counter names one fixed-window throttle counter.
type Counter struct {
	Key       string
	Window    time.Time
	ExpiresAt time.Time
	// Max, if > 0, is the count at which IssueCode refuses (ErrLimited).
	Max int
}

// CodeResult is the outcome of ConsumeCode.
type CodeResult int

const (
	// CodeOK: the code matched and is now used.
	CodeOK CodeResult = iota
	// CodeWrong: no match; the attempt was counted.
	CodeWrong
	// CodeDead: no live code (never sent, used, expired or out of attempts).
	CodeDead
)

// ResetToken is a password-reset token; only its hash is stored.
type ResetToken struct {
	TokenHash []byte
	UserID    string
	AppID     string
	CreatedAt time.Time
	ExpiresAt time.Time
	// EmailKey or Phone is the address the reset code went to: see
	// CreateResetToken. The email is stored (not read back): spending the
	// token, by a reset or a password change, makes that address verified
	// if the account still has it.
	EmailKey, Phone string
}

// Session is a server-side sign-in session; access tokens name it by ID.
type Session struct {
	ID        string
	UserID    string
	AppID     string
	Scope     string // granted at sign-in; a refresh may narrow it, never widen it
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while live
	// CredVersion is the user's CredVersion read with the password the
	// sign-in checked. Once the user's differs, the session reads as
	// revoked (RevokedAt = CreatedAt): a sign-in that checked the old
	// password while a reset ran does not outlive the reset.
	CredVersion int64
}

// RefreshToken belongs to a session; only its hash is stored.
type RefreshToken struct {
	TokenHash []byte
	SessionID string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OutboxMessage is a message waiting for delivery. Payload is opaque to the
// store (package notify owns its format).
type OutboxMessage struct {
	ID        int64
	Kind      string // "email" or "sms"
	Payload   []byte
	Attempts  int
	CreatedAt time.Time
	NotBefore time.Time
	ExpiresAt time.Time // undelivered after this, the message is dropped
}

// Apps stores client applications.
type Apps interface {
	// BootstrapApp creates candidate as the installation's first app unless one
	// was bootstrapped already or any app exists (then the oldest is the
	// first), atomically across replicas. It returns the bootstrap app and
	// whether this call created it.
	BootstrapApp(ctx context.Context, candidate App) (App, bool, error)
	// PutApp creates the app or sets its name and secret hash (idempotent).
	// An existing app keeps its Public setting: only SetAppPublic changes it,
	// so re-applying KEYHAVEN_APP_ID at start-up never undoes an operator's
	// choice.
	PutApp(ctx context.Context, a App) error
	// SetAppPublic sets whether the app is public; ErrNotFound for an
	// unknown id.
	SetAppPublic(ctx context.Context, id string, public bool) error
	// SetAppLogoutRedirects replaces the app's LogoutRedirectURIs (PutApp
	// keeps them too); ErrNotFound for an unknown id.
	SetAppLogoutRedirects(ctx context.Context, id string, uris []string) error
	// GetApp returns ErrNotFound for an unknown id.
	GetApp(ctx context.Context, id string) (App, error)
}

// Secrets stores server-wide key material shared by every replica.
type Secrets interface {
	// EnsureSecret stores value under name unless a value is there already,
	// and returns the stored value: the first writer wins, across replicas.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
	// Secret returns the value stored under name, ErrNotFound if none.
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Users stores accounts.
type Users interface {
	// CreateUser returns ErrConflict if the id, email, phone or username is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser* return ErrNotFound when no account matches.
	GetUserByID(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, emailKey string) (User, error)
	GetUserByPhone(ctx context.Context, phone string) (User, error)
	GetUserByUsername(ctx context.Context, usernameKey string) (User, error)
	// UpdateUser writes the fields of u (matched by ID) that f names, and
	// UpdatedAt; ErrNotFound if it is gone, ErrConflict if a unique value
	// is taken, ErrLastSignInName if the row as written would keep no
	// email, no phone and no username with a password (checked against
	// the row at the write, so two removals racing cannot both land).
	UpdateUser(ctx context.Context, u User, f Fields) error
	// ChangeCredentials is UpdateUser (of c.Fields) for a change of the
	// password, email or phone, in one transaction with what goes with it: the user's unused
	// reset tokens are deleted (one sent to an old address, or issued
	// before the change, must not outlive it); if c.EndOthers, every other
	// session of the user but c.Keep ends with its refresh tokens; and
	// c.Notices are queued (setting their IDs). It writes only if
	// u.CredVersion is still the user's, else ErrStale and nothing is
	// written: a change that read the account before a password change,
	// a reset or a first proof of its email must not land after it.
	ChangeCredentials(ctx context.Context, u User, c Change) error
	// RecordSignIn counts a successful sign-in and, if rehash.To is not
	// empty, replaces the password hash (rehash after a parameter change)
	// if it is still rehash.From: a reset committed meanwhile stays. If try
	// is not nil it takes back the Hit made on that counter before the
	// password was checked (never below zero), so the counter counts
	// failures; ErrNotFound, writing nothing, for an unknown user.
	RecordSignIn(ctx context.Context, userID string, at time.Time, ip string, rehash Rehash, try *Counter) error
	// DeleteUser removes the account with its sessions and tokens, freeing
	// its email, phone and username, and enqueues notice (if not nil,
	// setting notice.ID) in the same transaction; ErrNotFound, writing
	// nothing, if it is gone already. If by is not empty it is the
	// signed-in session asking: unless it is still live and of the user's
	// credential version, ErrStale and nothing is deleted (a delete
	// authorised before a reset or a first proof of the email must not
	// remove the account after it).
	DeleteUser(ctx context.Context, id, by string, notice *OutboxMessage) error
}

// Codes stores one-time passcodes.
type Codes interface {
	// IssueCode replaces the code for (c.Target, c.Channel) and enqueues msg
	// (if not nil) in one transaction, counting c.Counter (if not nil). It
	// returns ErrLimited, writing nothing, if the counter is already at its
	// Max, and ErrThrottled, writing nothing, if the current code was created
	// less than minInterval before c.CreatedAt. On success msg.ID is the
	// queued message's id.
	IssueCode(ctx context.Context, c Code, minInterval time.Duration, msg *OutboxMessage) error
	// ConsumeCode checks codeHash against the live code for (target, channel)
	// at now. A match marks it used (CodeOK); a mismatch counts an attempt and
	// returns CodeWrong with the attempts left; CodeDead if there is no live
	// code or maxAttempts were used. The check and the count are one atomic
	// step: parallel guesses get maxAttempts tries between them, no more.
	ConsumeCode(ctx context.Context, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (CodeResult, int, error)
	// MatchCode is ConsumeCode that leaves a matching code unused (a flow
	// that needs two codes checks both before spending either); a mismatch
	// still counts an attempt.
	MatchCode(ctx context.Context, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (CodeResult, int, error)
}

// Rehash replaces a password hash From with To, the same password hashed
// with the current parameters.
type Rehash struct{ From, To string }

// Change is what goes with a ChangeCredentials.
type Change struct {
	// EndOthers ends every session of the user but Keep, and raises the
	// credential version (as FieldPassword does).
	EndOthers bool
	// Keep is the signed-in session making the change, if any: it must be
	// live and of u.CredVersion, else ErrStale; EndOthers spares it, and a
	// raised version is raised for it too.
	Keep    string
	Notices []*OutboxMessage
	// SpendReset, if set, is the hash of a reset token spent by the change
	// (a signed-in password change proven by a reset code instead of the
	// old password): it must be the user's, unused and unexpired at
	// u.UpdatedAt, else ErrNotFound and nothing is written. As with a
	// reset, the account's password failures are cleared with it.
	SpendReset []byte
	// Fields are the fields of u written.
	Fields Fields
}

// Fields names the groups of a user's fields a write changes. A write
// changes those and UpdatedAt, nothing else: flows read the row, then work
// (a password change hashes for tens of milliseconds), and writing back the
// rest of what they read would undo a change made meanwhile, such as a
// reset's new password under a profile update.
type Fields uint8

const (
	// FieldProfile is Profile, Username and UsernameKey.
	FieldProfile Fields = 1 << iota
	// FieldEmail is Email, EmailKey and EmailVerified.
	FieldEmail
	// FieldPhone is Phone and PhoneVerified.
	FieldPhone
	// FieldPassword is PasswordHash and PasswordLastSetAt. It is written
	// only if u.CredVersion is still the user's (else ErrStale): a
	// password change that read the user before a reset or a first proof
	// of its email must not undo it. The version then goes up, and
	// sessions of the old one read as ended.
	FieldPassword
	// FieldEmailVerified is EmailVerified alone.
	FieldEmailVerified
)

// PasswordFailures names the counter of an account's wrong passwords (ASVS
// 2.2.1), shared by every check of its password. A reset clears it, so
// failures someone else caused do not lock the owner out.
func PasswordFailures(userID string) string { return "signin-fail:user:" + userID }

// Throttles keeps fixed-window counters shared by every replica.
type Throttles interface {
	// Hit adds one to the counter (key, window) and returns the new count.
	// expiresAt lets the store forget the counter afterwards.
	Hit(ctx context.Context, key string, window time.Time, expiresAt time.Time) (int, error)
	// Count returns the counter's value, 0 if absent.
	Count(ctx context.Context, key string, window time.Time) (int, error)
	// Unhit takes back one Hit on the counter (key, window), never below
	// zero; an absent counter stays absent.
	Unhit(ctx context.Context, key string, window time.Time) error
}

// Sliding is a count over the size-long period ending at now, from fixed
// windows of that size: cur, this window's count, plus the previous
// window's, weighted by the share of it the period still covers. Fixed
// windows alone let twice a limit through around a boundary (100 failures
// at 10:59, 100 more at 11:00); counters must therefore live two windows.
func Sliding(ctx context.Context, t Throttles, key string, cur int, size time.Duration, now time.Time) (float64, error) {
	win := now.Truncate(size)
	prev, err := t.Count(ctx, key, win.Add(-size))
	if err != nil {
		return 0, err
	}
	return float64(cur) + float64(prev)*(1-float64(now.Sub(win))/float64(size)), nil
}

// Resets stores password-reset tokens and performs the reset itself.
type Resets interface {
	// CreateResetToken stores t and deletes the user's older reset tokens,
	// if the user exists and still holds t.EmailKey and t.Phone (those
	// set); else ErrNotFound, writing nothing. So an address changed or
	// unbound while its code was being verified gets no token.
	CreateResetToken(ctx context.Context, t ResetToken) error
	// GetResetToken returns ErrNotFound unless the token exists, is unused and
	// is not expired at now.
	GetResetToken(ctx context.Context, tokenHash []byte, now time.Time) (ResetToken, error)
	// ResetPassword, in one transaction: claims the token (ErrNotFound if it is
	// used, expired or unknown — exactly one concurrent caller wins), sets the
	// user's password hash (raising CredVersion, and verifying the email the
	// token's code went to if the account still has it), revokes every session and refresh token of the
	// user, deletes the user's other reset tokens, clears the user's
	// PasswordFailures counter in every window, and enqueues notice (setting
	// notice.ID).
	ResetPassword(ctx context.Context, tokenHash []byte, newHash string, now time.Time, notice *OutboxMessage) (userID string, err error)
}

// Sessions stores sign-in sessions and refresh tokens.
type Sessions interface {
	// CreateSession stores s and, if rt is not nil, its refresh token.
	CreateSession(ctx context.Context, s Session, rt *RefreshToken) error
	// GetSession returns ErrNotFound for an unknown id (revoked ones are
	// returned with RevokedAt set).
	GetSession(ctx context.Context, id string) (Session, error)
	// GetSessionUser returns a session and its user in one read; ErrNotFound
	// if either is missing.
	GetSessionUser(ctx context.Context, id string) (Session, User, error)
	// RevokeSession ends one session and its refresh tokens.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions ends every session and refresh token of a user.
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) error
	// GetRefreshToken returns a live (unused, unexpired at now) refresh
	// token without using it; ErrNotFound otherwise.
	GetRefreshToken(ctx context.Context, hash []byte, now time.Time) (RefreshToken, error)
	// RotateRefreshToken claims oldHash (unused, unexpired, live session of
	// appID) and stores next in its place, in one transaction; ErrNotFound
	// otherwise. Presenting an already-rotated token revokes its whole
	// session (theft), but only when appID's: another app cannot end it.
	RotateRefreshToken(ctx context.Context, appID string, oldHash []byte, next RefreshToken, now time.Time) (Session, error)
}

// Outbox stores messages until a worker delivers them.
type Outbox interface {
	// Enqueue stores m and returns its id.
	Enqueue(ctx context.Context, m OutboxMessage) (int64, error)
	// ClaimOutbox leases up to limit due messages (NotBefore <= now, not
	// leased) until now+lease and counts an attempt on each. Two concurrent
	// claimers never get the same message while its lease runs. Expired
	// messages are deleted instead of returned.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// ClaimOutboxIDs is ClaimOutbox for the messages of ids only: those
	// of them that are due, unleased and unexpired. Unknown ids are skipped.
	ClaimOutboxIDs(ctx context.Context, ids []int64, now time.Time, lease time.Duration) ([]OutboxMessage, error)
	// DeleteOutbox removes a delivered (or abandoned) message.
	DeleteOutbox(ctx context.Context, id int64) error
	// RetryOutbox releases the lease and schedules the next try.
	RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastError string) error
	// OutboxStats returns the number of waiting messages and the creation
	// time of the oldest (zero if none).
	OutboxStats(ctx context.Context) (int, time.Time, error)
}

// Store is everything a Keyhaven server needs from its database.
type Store interface {
	Apps
	Secrets
	Users
	Codes
	Throttles
	Resets
	Sessions
	Outbox
	// Sweep deletes what expired before now: counters, codes, reset tokens,
	// sessions and refresh tokens. Safe to call from every replica.
	Sweep(ctx context.Context, now time.Time) error
	// Ping checks that the database answers and is migrated.
	Ping(ctx context.Context) error
	Close() error
}
