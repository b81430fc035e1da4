// Package sqldb implements store.Store once, in SQL that SQLite and
// PostgreSQL both accept. The few differences (placeholders, row locking,
// error codes) live in Dialect, supplied by packages sqlite and postgres,
// which also open the database and own their migrations.
package sqldb

import (
	"cmp"
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Name prefixes every error ("sqlite: get user: not found").
	Name string
	// Numbered placeholders ($1, $2) instead of "?".
	Numbered bool
	// SkipLocked is appended to the outbox claim's inner SELECT.
	SkipLocked string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(error) bool
	// IsRetryable reports whether the database aborted a transaction that
	// may simply run again (a deadlock's victim): see DB.retry.
	IsRetryable func(error) bool
	// PostgresSQL: the SQL may use PostgreSQL's extensions (INSERT inside
	// WITH, array parameters), so a multi-step write can be one statement,
	// one round trip.
	PostgresSQL bool
}

// DB is a store.Store on a database/sql handle. Reads and writes may use
// different pools: SQLite serialises writers, so its write pool has one
// connection and readers never queue behind it.
type DB struct {
	read, write *sql.DB
	d           Dialect
	mu          sync.Mutex
	queries     map[string]string
	stmts       map[string]*sql.Stmt // prepared reads, by query text as written
	group       *committer           // nil: each write commits on its own

	// Reads by key, merged on PostgreSQL (merge.go).
	users        map[string]*pointRead[store.User] // by column
	sessionUsers *pointRead[sessionUser]
	deletes      merger[int64, struct{}] // outbox deletes, merged on PostgreSQL
}

// New returns a store over read and write pools (the same pool is fine).
func New(read, write *sql.DB, d Dialect) *DB {
	db := &DB{read: read, write: write, d: d, queries: map[string]string{}, stmts: map[string]*sql.Stmt{}}
	db.users = map[string]*pointRead[store.User]{}
	for column, key := range map[string]func(store.User) string{
		"id":           func(u store.User) string { return u.ID },
		"email_key":    func(u store.User) string { return u.EmailKey },
		"phone":        func(u store.User) string { return u.Phone },
		"username_key": func(u store.User) string { return u.UsernameKey },
	} {
		db.users[column] = newPointRead(db, userCols+" WHERE "+column+" ", scanUser, key)
	}
	db.sessionUsers = newPointRead(db, sessionUserQuery, scanSessionUser, func(r sessionUser) string { return r.s.ID })
	db.deletes.run = db.deleteOutboxes
	return db
}

// NewGrouped is New with group commit: every write goes through one
// committer that commits the writes waiting together in one transaction (see
// group.go). For a write pool of one connection whose commits wait for an
// fsync, as SQLite's; migrate before calling it.
func NewGrouped(read, write *sql.DB, d Dialect) *DB {
	db := New(read, write, d)
	db.group = newCommitter(db, write)
	return db
}

var _ store.Store = (*DB)(nil)

// q rewrites "?" placeholders for the dialect, once per query text.
func (db *DB) q(query string) string {
	if !db.d.Numbered {
		return query
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if out, ok := db.queries[query]; ok {
		return out
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	db.queries[query] = b.String()
	return b.String()
}

// readRow runs a single-row read on the read pool through a statement
// prepared once per query text: parsing and planning the SQL again on every
// request was a sixth of a token-authenticated read's CPU.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, db.q(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// readRows is readRow for a read of many rows.
func (db *DB) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return db.read.QueryContext(ctx, db.q(query), args...)
	}
	return st.QueryContext(ctx, args...)
}

// prepared returns the statement for query, prepared on first use. It is
// kept under the query's text as written, so a read takes one lock, not a
// second one for rewriting the placeholders.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.mu.Lock()
	st, ok := db.stmts[query]
	db.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(context.WithoutCancel(ctx), db.q(query))
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if prev, raced := db.stmts[query]; raced {
		st.Close()
		return prev, nil
	}
	db.stmts[query] = st
	return st, nil
}

func (db *DB) err(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		err = store.ErrNotFound
	case db.d.IsUniqueViolation != nil && db.d.IsUniqueViolation(err):
		err = fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return fmt.Errorf("%s: %s: %w", db.d.Name, op, err)
}

// tx runs fn in a write transaction, committing if it returns nil. With
// group commit the transaction is a savepoint in the committer's batch.
func (db *DB) tx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	if db.group != nil {
		return db.group.do(ctx, op, fn)
	}
	return db.retry(ctx, func() error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return db.err(op, err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return db.err(op, err)
		}
		return db.err(op, tx.Commit())
	})
}

// attempts bounds how often, in all, a write the database aborted as
// retryable runs.
const attempts = 3

// retry runs a write again when the database aborted it as a deadlock's
// victim. Writers take rows in one order where they can (a user's row, then
// its tokens), but a reset claims its token before the user's row, and a
// rare cycle with an account deletion stays possible; the victim then runs
// again rather than answer 500. Each attempt is a new transaction, and
// every write's function sets its results afresh, so a rerun is safe.
func (db *DB) retry(ctx context.Context, run func() error) error {
	for n := 1; ; n++ {
		err := run()
		if err == nil || n == attempts || db.d.IsRetryable == nil || !db.d.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

// querier is the write pool or a transaction on it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec runs a write that is one statement (or a read that must see the
// latest writes): on its own on the write pool, or with group commit as a
// job in the next batch.
func (db *DB) exec(ctx context.Context, op string, fn func(querier) error) error {
	if db.group == nil {
		return db.retry(ctx, func() error { return db.err(op, fn(db.write)) })
	}
	return db.group.do(ctx, op, func(tx *sql.Tx) error { return fn(tx) })
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// nullable maps "" to NULL so unique indexes ignore absent values.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n)
	if err == nil && n == 0 {
		err = errors.New("no migrations applied")
	}
	return db.err("ping", err)
}

// Close closes both pools, after the writes already submitted.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.close()
	}
	db.mu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = map[string]*sql.Stmt{}
	db.mu.Unlock()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// ---- apps and secrets

// BootstrapApp implements store.Apps.
func (db *DB) BootstrapApp(ctx context.Context, c store.App) (store.App, bool, error) {
	var created bool
	var out store.App
	err := db.tx(ctx, "bootstrap app", func(tx *sql.Tx) error {
		// An installation that has apps already (made by app create, or
		// named by KEYHAVEN_APP_ID) gets no other: its oldest is the first.
		first := c.ID
		err := tx.QueryRowContext(ctx, db.q("SELECT id FROM apps ORDER BY created_at, id LIMIT 1")).Scan(&first)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, db.q(
			"INSERT INTO settings(name, value) VALUES('bootstrap_app', ?) ON CONFLICT(name) DO NOTHING"), []byte(first))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 && first == c.ID {
			if _, err := tx.ExecContext(ctx, db.q(
				"INSERT INTO apps(id, name, secret_hash, public, created_at) VALUES(?, ?, ?, ?, ?)"),
				c.ID, c.Name, c.SecretHash, c.Public, ms(c.CreatedAt)); err != nil {
				return err
			}
			created = true
		}
		var id []byte
		if err := tx.QueryRowContext(ctx, db.q("SELECT value FROM settings WHERE name = 'bootstrap_app'")).Scan(&id); err != nil {
			return err
		}
		return db.scanApp(tx.QueryRowContext(ctx, db.q(appCols+" WHERE id = ?"), string(id)), &out)
	})
	return out, created, err
}

const appCols = "SELECT id, name, secret_hash, public, created_at, logout_redirect_uris FROM apps"

func (db *DB) scanApp(row *sql.Row, a *store.App) error {
	var created int64
	var uris string
	if err := row.Scan(&a.ID, &a.Name, &a.SecretHash, &a.Public, &created, &uris); err != nil {
		return err
	}
	a.CreatedAt = tm(created)
	if uris != "" {
		a.LogoutRedirectURIs = strings.Split(uris, "\n")
	}
	return nil
}

// PutApp implements store.Apps.
func (db *DB) PutApp(ctx context.Context, a store.App) error {
	return db.exec(ctx, "put app", func(q querier) error {
		_, err := q.ExecContext(ctx, db.q(
			"INSERT INTO apps(id, name, secret_hash, public, created_at) VALUES(?, ?, ?, ?, ?) "+
				"ON CONFLICT(id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash"),
			a.ID, a.Name, a.SecretHash, a.Public, ms(a.CreatedAt))
		return err
	})
}

// SetAppPublic implements store.Apps.
func (db *DB) SetAppPublic(ctx context.Context, id string, public bool) error {
	return db.exec(ctx, "set app public", func(q querier) error {
		return oneRow(q.ExecContext(ctx, db.q("UPDATE apps SET public = ? WHERE id = ?"), public, id))
	})
}

// SetAppLogoutRedirects implements store.Apps.
func (db *DB) SetAppLogoutRedirects(ctx context.Context, id string, uris []string) error {
	return db.exec(ctx, "set app logout redirects", func(q querier) error {
		return oneRow(q.ExecContext(ctx, db.q("UPDATE apps SET logout_redirect_uris = ? WHERE id = ?"), strings.Join(uris, "\n"), id))
	})
}

// GetApp implements store.Apps.
func (db *DB) GetApp(ctx context.Context, id string) (store.App, error) {
	var a store.App
	if !storable(id) {
		return a, db.err("get app", sql.ErrNoRows)
	}
	err := db.scanApp(db.readRow(ctx, appCols+" WHERE id = ?", id), &a)
	return a, db.err("get app", err)
}

// EnsureSecret implements store.Secrets.
func (db *DB) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var out []byte
	err := db.tx(ctx, "ensure secret", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(
			"INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING"), name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q("SELECT value FROM settings WHERE name = ?"), name).Scan(&out)
	})
	return out, err
}

// Secret implements store.Secrets.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.readRow(ctx, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	return v, db.err("get secret", err)
}

// ---- users

// userColumns are a user row's columns, in userScan's order.
var userColumns = []string{"id", "email", "email_key", "email_verified", "phone", "phone_verified", "username", "username_key",
	"password_hash", "profile", "status", "logins_count", "last_login", "last_ip", "password_last_set_at", "created_at", "updated_at", "cred_version"}

var userCols = "SELECT " + strings.Join(userColumns, ", ") + " FROM users"

// userScan receives a user row; its fields are the columns that need
// converting on the way in.
type userScan struct {
	u                              store.User
	emailKey, phone, usernameKey   sql.NullString
	profile                        string
	lastLogin, pwSet, created, upd int64
}

func (s *userScan) dest() []any {
	u := &s.u
	return []any{&u.ID, &u.Email, &s.emailKey, &u.EmailVerified, &s.phone, &u.PhoneVerified, &u.Username, &s.usernameKey,
		&u.PasswordHash, &s.profile, &u.Status, &u.LoginsCount, &s.lastLogin, &u.LastIP, &s.pwSet, &s.created, &s.upd, &u.CredVersion}
}

func (s *userScan) user() store.User {
	u := s.u
	u.EmailKey, u.Phone, u.UsernameKey = s.emailKey.String, s.phone.String, s.usernameKey.String
	u.Profile = []byte(s.profile)
	u.LastLogin, u.PasswordLastSetAt, u.CreatedAt, u.UpdatedAt = tm(s.lastLogin), tm(s.pwSet), tm(s.created), tm(s.upd)
	return u
}

func scanUser(row scanner) (store.User, error) {
	var s userScan
	err := row.Scan(s.dest()...)
	return s.user(), err
}

func profileText(p []byte) string {
	if len(p) == 0 {
		return "{}"
	}
	return string(p)
}

// CreateUser implements store.Users.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	return db.exec(ctx, "create user", func(q querier) error {
		_, err := q.ExecContext(ctx, db.q(
			"INSERT INTO users(id, email, email_key, email_verified, phone, phone_verified, username, username_key, "+
				"password_hash, profile, status, logins_count, last_login, last_ip, password_last_set_at, created_at, updated_at) "+
				"VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			u.ID, u.Email, nullable(u.EmailKey), u.EmailVerified, nullable(u.Phone), u.PhoneVerified, u.Username, nullable(u.UsernameKey),
			u.PasswordHash, profileText(u.Profile), u.Status, u.LoginsCount, ms(u.LastLogin), u.LastIP, ms(u.PasswordLastSetAt),
			ms(u.CreatedAt), ms(u.UpdatedAt))
		return err
	})
}

func (db *DB) getUser(ctx context.Context, column, key string) (store.User, error) {
	u, err := db.users[column].get(ctx, key)
	return u, db.err("get user", err)
}

// GetUserByID implements store.Users.
func (db *DB) GetUserByID(ctx context.Context, id string) (store.User, error) {
	return db.getUser(ctx, "id", id)
}

// GetUserByEmail implements store.Users.
func (db *DB) GetUserByEmail(ctx context.Context, key string) (store.User, error) {
	return db.getUser(ctx, "email_key", key)
}

// GetUserByPhone implements store.Users.
func (db *DB) GetUserByPhone(ctx context.Context, phone string) (store.User, error) {
	return db.getUser(ctx, "phone", phone)
}

// GetUserByUsername implements store.Users.
func (db *DB) GetUserByUsername(ctx context.Context, key string) (store.User, error) {
	return db.getUser(ctx, "username_key", key)
}

// UpdateUser implements store.Users.
func (db *DB) UpdateUser(ctx context.Context, u store.User, f store.Fields) error {
	return db.exec(ctx, "update user", func(q querier) error { return db.updateUser(ctx, q, u, f, nil) })
}

// updateUser writes f of u. With FieldPassword, or for a change of
// credentials (c not nil), it writes only if u.CredVersion is still the
// user's (else store.ErrStale); with FieldPassword or c.EndOthers the
// version goes up.
func (db *DB) updateUser(ctx context.Context, q querier, u store.User, f store.Fields, c *store.Change) error {
	set, args := "", []any{}
	add := func(part string, vals ...any) { set, args = set+part+", ", append(args, vals...) }
	if f&store.FieldProfile != 0 {
		add("profile = ?, username = ?, username_key = ?", profileText(u.Profile), u.Username, nullable(u.UsernameKey))
	}
	if f&store.FieldEmail != 0 {
		add("email = ?, email_key = ?, email_verified = ?", u.Email, nullable(u.EmailKey), u.EmailVerified)
	}
	if f&store.FieldPhone != 0 {
		add("phone = ?, phone_verified = ?", nullable(u.Phone), u.PhoneVerified)
	}
	if f&store.FieldEmailVerified != 0 && f&store.FieldEmail == 0 {
		add("email_verified = ?", u.EmailVerified)
	}
	where, wargs := "id = ?", []any{u.ID}
	if f&store.FieldPassword != 0 {
		add("password_hash = ?, password_last_set_at = ?", u.PasswordHash, ms(u.PasswordLastSetAt))
	}
	if f&store.FieldPassword != 0 || c != nil && c.EndOthers {
		add("cred_version = cred_version + 1")
	}
	checked := f&store.FieldPassword != 0 || c != nil
	if checked {
		where, wargs = "id = ? AND cred_version = ?", []any{u.ID, u.CredVersion}
	}
	keeps := keepsSignInName(u, f)
	if keeps != "" {
		where += " AND (" + keeps + ")"
	}
	err := oneRow(q.ExecContext(ctx, db.q("UPDATE users SET "+set+"updated_at = ? WHERE "+where), append(append(args, ms(u.UpdatedAt)), wargs...)...))
	if errors.Is(err, store.ErrNotFound) && (checked || keeps != "") {
		var version int64
		if q.QueryRowContext(ctx, db.q("SELECT cred_version FROM users WHERE id = ?"), u.ID).Scan(&version) == nil {
			if checked && version != u.CredVersion || keeps == "" {
				return store.ErrStale
			}
			return store.ErrLastSignInName
		}
	}
	return err
}

// keepsSignInName is the condition on the row being written that it keeps
// a way to sign in (an email, a phone, or a username with a password), or
// "" when the write removes none of them. The fields not written are read
// at the write, so two removals racing cannot both land.
func keepsSignInName(u store.User, f store.Fields) string {
	email := f&store.FieldEmail != 0
	phone := f&store.FieldPhone != 0
	name := f&store.FieldProfile != 0
	password := f&store.FieldPassword != 0
	if email && u.EmailKey != "" || phone && u.Phone != "" ||
		!(email || phone || name && u.UsernameKey == "" || password && u.PasswordHash == "") {
		return ""
	}
	column := func(written bool, value bool, cond string) string {
		switch {
		case !written:
			return cond
		case value:
			return "TRUE"
		}
		return "FALSE"
	}
	return column(email, false, "email_key IS NOT NULL") + " OR " + column(phone, false, "phone IS NOT NULL") + " OR (" +
		column(name, u.UsernameKey != "", "username_key IS NOT NULL") + " AND " +
		column(password, u.PasswordHash != "", "password_hash <> ''") + ")"
}

// ChangeCredentials implements store.Users.
func (db *DB) ChangeCredentials(ctx context.Context, u store.User, c store.Change) error {
	return db.tx(ctx, "change credentials", func(tx *sql.Tx) error {
		proven := "" // the email the spent token's code went to
		if c.SpendReset != nil {
			// The reset's own claim; another user's token is rolled back.
			var owner string
			if err := tx.QueryRowContext(ctx, db.q(claimResetToken), ms(u.UpdatedAt), c.SpendReset, ms(u.UpdatedAt)).Scan(&owner, &proven); err != nil {
				return err
			}
			if owner != u.ID {
				return store.ErrNotFound
			}
		}
		if err := db.updateUser(ctx, tx, u, c.Fields, &c); err != nil {
			return err
		}
		if c.Keep != "" {
			// The session making the change must be live and of the version
			// the change read; it follows a raised version.
			err := oneRow(tx.ExecContext(ctx, db.q("UPDATE sessions SET cred_version = (SELECT cred_version FROM users WHERE id = ?) "+
				"WHERE id = ? AND user_id = ? AND revoked_at = 0 AND cred_version = ?"), u.ID, c.Keep, u.ID, u.CredVersion))
			if errors.Is(err, store.ErrNotFound) {
				return store.ErrStale
			}
			if err != nil {
				return err
			}
		}
		if proven != "" {
			if _, err := tx.ExecContext(ctx, db.q(provenEmail), proven, u.ID); err != nil {
				return err
			}
		}
		if c.SpendReset != nil {
			// After the user's row, as ResetPassword and a sign-in's
			// give-back order them.
			if _, err := tx.ExecContext(ctx, db.q(clearFailures+"?"), store.PasswordFailures(u.ID)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.q(dropResetTokens+"?"), u.ID); err != nil {
			return err
		}
		if c.EndOthers {
			if err := db.revokeOthers(ctx, tx, u.ID, c.Keep, u.UpdatedAt); err != nil {
				return err
			}
		}
		for _, m := range c.Notices {
			id, err := db.enqueue(ctx, tx, *m)
			if err != nil {
				return err
			}
			m.ID = id
		}
		return nil
	})
}

// oneRow is mustAffect on an Exec's results.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	return mustAffect(res)
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// RecordSignIn implements store.Users.
func (db *DB) RecordSignIn(ctx context.Context, userID string, at time.Time, ip string, rehash store.Rehash, try *store.Counter) error {
	const record = "UPDATE users SET logins_count = logins_count + 1, last_login = ?, last_ip = ?, " +
		"password_hash = CASE WHEN ? <> '' AND password_hash = ? THEN ? ELSE password_hash END WHERE id = ?"
	stmt, args := record, []any{ms(at), ip, rehash.To, rehash.From, rehash.To, userID}
	var giveBack []any
	if try != nil {
		giveBack = []any{try.Key, ms(try.Window)}
		if db.d.PostgresSQL {
			// One statement, as each is a round trip of every sign-in. A
			// CTE's UPDATE runs whatever the main one matches, so it checks
			// the user itself: an unknown user gives nothing back.
			stmt = "WITH g AS (" + unhit + " AND EXISTS (SELECT 1 FROM users WHERE id = ?)) " + record
			args = append(append(giveBack, userID), args...)
			giveBack = nil
		}
	}
	return db.exec(ctx, "record sign-in", func(q querier) error {
		if giveBack != nil {
			if _, err := q.ExecContext(ctx, db.q(unhit), giveBack...); err != nil {
				return err
			}
		}
		res, err := q.ExecContext(ctx, db.q(stmt), args...)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// DeleteUser removes an account; its sessions, tokens and codes go with it.
func (db *DB) DeleteUser(ctx context.Context, id, by string, notice *store.OutboxMessage) error {
	return db.tx(ctx, "delete user", func(tx *sql.Tx) error {
		if db.d.PostgresSQL {
			// The user row first: deleting the tokens first could deadlock
			// with CreateResetToken, which holds the row and then deletes
			// the user's older tokens. (A reset, which holds its token and
			// then takes the row, can still meet this in a cycle: see
			// retry.)
			if _, err := tx.ExecContext(ctx, db.q("SELECT 1 FROM users WHERE id = ? FOR UPDATE"), id); err != nil {
				return err
			}
		}
		if by != "" {
			// After the row lock: a reset or proof committed before it is seen.
			var one int
			err := tx.QueryRowContext(ctx, db.q("SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "+
				"WHERE s.id = ? AND s.user_id = ? AND s.revoked_at = 0 AND s.cred_version = u.cred_version"), by, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrStale
			}
			if err != nil {
				return err
			}
		}
		for _, stmt := range []string{
			"DELETE FROM refresh_tokens WHERE user_id = ?",
			"DELETE FROM sessions WHERE user_id = ?",
			"DELETE FROM reset_tokens WHERE user_id = ?",
		} {
			if _, err := tx.ExecContext(ctx, db.q(stmt), id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, db.q("DELETE FROM users WHERE id = ?"), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil || notice == nil {
			return err
		}
		notice.ID, err = db.enqueue(ctx, tx, *notice)
		return err
	})
}

// ---- codes

// IssueCode implements store.Codes. The throttle is the upsert's own WHERE,
// so two replicas racing for the same target cannot both issue.
func (db *DB) IssueCode(ctx context.Context, c store.Code, minInterval time.Duration, msg *store.OutboxMessage) error {
	cutoff := ms(c.CreatedAt.Add(-minInterval))
	if minInterval <= 0 {
		// No throttle: concurrent requests' clocks may read out of order.
		cutoff = math.MaxInt64
	}
	if db.d.PostgresSQL {
		return db.issueCodeCTE(ctx, c, cutoff, msg)
	}
	return db.tx(ctx, "issue code", func(tx *sql.Tx) error {
		if k := c.Counter; k != nil && k.Max > 0 {
			var n int
			err := tx.QueryRowContext(ctx, db.q(countQuery), k.Key, ms(k.Window)).Scan(&n)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if n >= k.Max {
				return store.ErrLimited
			}
		}
		res, err := tx.ExecContext(ctx, db.q(
			"INSERT INTO codes(target, channel, code_hash, attempts, created_at, expires_at, used_at) VALUES(?, ?, ?, 0, ?, ?, 0) "+
				codeUpsert),
			c.Target, c.Channel, c.CodeHash, ms(c.CreatedAt), ms(c.ExpiresAt), cutoff)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrThrottled
		}
		if msg != nil {
			if msg.ID, err = db.enqueue(ctx, tx, *msg); err != nil {
				return err
			}
		}
		if c.Counter != nil {
			_, err = db.hit(ctx, tx, *c.Counter)
		}
		return err
	})
}

// SQL both IssueCode forms, Count and hit share.
const (
	codeUpsert = "ON CONFLICT(target, channel) DO UPDATE SET code_hash = excluded.code_hash, attempts = 0, " +
		"created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = 0 WHERE codes.created_at <= ?"
	countQuery = "SELECT count FROM throttles WHERE key = ? AND window_start = ?"
	// A counter's life only grows: one made by an older build (or a caller
	// that keeps it shorter) must still be there when a sliding count reads
	// it as the previous window.
	counterUpsert = "ON CONFLICT(key, window_start) DO UPDATE SET count = throttles.count + 1, " +
		"expires_at = CASE WHEN excluded.expires_at > throttles.expires_at THEN excluded.expires_at ELSE throttles.expires_at END"
	outboxInsert = "INSERT INTO outbox(kind, payload, attempts, created_at, not_before, expires_at, leased_until, last_error) "
)

// issueCodeCTE is IssueCode as one statement: reading the count, BEGIN,
// three INSERTs and COMMIT were six round trips for the busiest write of the
// code flows. The code goes in only under the cap, the message and the
// count only if the code did; the last column is the count before.
func (db *DB) issueCodeCTE(ctx context.Context, c store.Code, cutoff int64, msg *store.OutboxMessage) error {
	var m store.OutboxMessage
	if msg != nil {
		m = *msg
	}
	var k store.Counter
	if c.Counter != nil {
		k = *c.Counter
	}
	max := k.Max
	if max <= 0 {
		max = math.MaxInt32
	}
	var issued, before int
	var id sql.NullInt64
	err := db.write.QueryRowContext(ctx, db.q(
		"WITH n AS (SELECT COALESCE(("+countQuery+"), 0) AS count), "+
			"c AS (INSERT INTO codes(target, channel, code_hash, attempts, created_at, expires_at, used_at) "+
			"SELECT ?, ?, ?, 0, ?, ?, 0 FROM n WHERE n.count < ? "+codeUpsert+" RETURNING 1), "+
			"o AS ("+outboxInsert+"SELECT ?, ?, 0, ?, ?, ?, 0, '' WHERE ?::boolean AND EXISTS (SELECT 1 FROM c) RETURNING id), "+
			"h AS (INSERT INTO throttles(key, window_start, count, expires_at) SELECT ?, ?, 1, ? WHERE ?::boolean AND EXISTS (SELECT 1 FROM c) "+
			counterUpsert+") "+
			"SELECT (SELECT COUNT(*) FROM c), (SELECT count FROM n), (SELECT id FROM o)"),
		k.Key, ms(k.Window),
		c.Target, c.Channel, c.CodeHash, ms(c.CreatedAt), ms(c.ExpiresAt), max, cutoff,
		m.Kind, m.Payload, ms(m.CreatedAt), ms(m.NotBefore), ms(m.ExpiresAt), msg != nil,
		k.Key, ms(k.Window), ms(k.ExpiresAt), c.Counter != nil).Scan(&issued, &before, &id)
	switch {
	case err != nil:
	case issued == 0 && before >= max:
		err = store.ErrLimited
	case issued == 0:
		err = store.ErrThrottled
	case msg != nil:
		msg.ID = id.Int64 // issued: the message was queued with it
	}
	return db.err("issue code", err)
}

// ConsumeCode implements store.Codes.
func (db *DB) ConsumeCode(ctx context.Context, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (store.CodeResult, int, error) {
	return db.useCode(ctx, true, target, channel, codeHash, now, maxAttempts)
}

// MatchCode implements store.Codes.
func (db *DB) MatchCode(ctx context.Context, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (store.CodeResult, int, error) {
	return db.useCode(ctx, false, target, channel, codeHash, now, maxAttempts)
}

// useCode checks a guess and counts it in one row update. Checking in one
// statement and counting a miss in another let parallel guesses all be
// checked before any was counted, so a code saw far more than maxAttempts.
// A right guess is not counted; ConsumeCode also claims the code with it.
func (db *DB) useCode(ctx context.Context, consume bool, target, channel string, codeHash []byte, now time.Time, maxAttempts int) (store.CodeResult, int, error) {
	usedAt, args := "used_at", []any{codeHash}
	if consume {
		usedAt, args = "CASE WHEN code_hash = ? THEN ? ELSE used_at END", append(args, codeHash, ms(now))
	}
	args = append(args, target, channel, ms(now), maxAttempts)
	var stored []byte
	var attempts int
	err := db.exec(ctx, "use code", func(q querier) error {
		err := q.QueryRowContext(ctx, db.q(
			"UPDATE codes SET attempts = attempts + CASE WHEN code_hash = ? THEN 0 ELSE 1 END, used_at = "+usedAt+
				" WHERE target = ? AND channel = ? AND used_at = 0 AND expires_at > ? AND attempts < ?"+
				" RETURNING code_hash, attempts"), args...).Scan(&stored, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			stored = nil
			return nil
		}
		return err
	})
	switch {
	case err != nil || stored == nil:
		return store.CodeDead, 0, err
	case subtle.ConstantTimeCompare(stored, codeHash) == 1:
		return store.CodeOK, 0, nil
	default:
		return store.CodeWrong, maxAttempts - attempts, nil
	}
}

// ---- throttles

// Hit implements store.Throttles.
func (db *DB) Hit(ctx context.Context, key string, window, expiresAt time.Time) (int, error) {
	var n int
	err := db.exec(ctx, "hit throttle", func(q querier) error {
		var err error
		n, err = db.hit(ctx, q, store.Counter{Key: key, Window: window, ExpiresAt: expiresAt})
		return err
	})
	return n, err
}

func (db *DB) hit(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, c store.Counter) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, db.q(
		"INSERT INTO throttles(key, window_start, count, expires_at) VALUES(?, ?, 1, ?) "+
			counterUpsert+" RETURNING count"),
		c.Key, ms(c.Window), ms(c.ExpiresAt)).Scan(&n)
	return n, err
}

const unhit = "UPDATE throttles SET count = count - 1 WHERE key = ? AND window_start = ? AND count > 0"

// Unhit implements store.Throttles.
func (db *DB) Unhit(ctx context.Context, key string, window time.Time) error {
	return db.exec(ctx, "unhit throttle", func(q querier) error {
		_, err := q.ExecContext(ctx, db.q(unhit), key, ms(window))
		return err
	})
}

// Count implements store.Throttles.
func (db *DB) Count(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := db.readRow(ctx, countQuery, key, ms(window)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, db.err("count throttle", err)
}

// ---- reset tokens

// CreateResetToken implements store.Resets.
func (db *DB) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	// The row is written only if the user holds the address at this moment.
	const holder = "SELECT id FROM users WHERE id = ? AND (? = '' OR email_key = ?) AND (? = '' OR phone = ?)"
	held := []any{t.UserID, t.EmailKey, t.EmailKey, t.Phone, t.Phone}
	row := []any{t.TokenHash, t.UserID, t.AppID, ms(t.CreatedAt), ms(t.ExpiresAt), t.EmailKey}
	if db.d.PostgresSQL {
		// One statement instead of BEGIN, two writes and COMMIT. FOR KEY
		// SHARE: under READ COMMITTED an unlocked check reads the
		// statement's snapshot, so a change of address in flight (an
		// UPDATE of a unique column, which takes FOR UPDATE) would pass
		// it; locked, it waits for the change and re-reads the row. The
		// weakest lock: a sign-in's or a reset's update of the row changes
		// no key, so neither waits for it nor it for them (a reset holds
		// its token row, then updates the user). Taken first (the delete
		// and the insert both read u), it keeps the order a change of
		// address and a deletion use: user row, then tokens.
		stmt := "WITH u AS (" + holder + " FOR KEY SHARE), " +
			"d AS (DELETE FROM reset_tokens WHERE user_id IN (SELECT id FROM u)) " +
			"INSERT INTO reset_tokens(token_hash, user_id, app_id, created_at, expires_at, used_at, email_key) " +
			"SELECT ?, ?, ?, ?, ?, 0, ? FROM u"
		args := append(held, row...)
		return db.exec(ctx, "create reset token", func(q querier) error {
			return oneRow(q.ExecContext(ctx, db.q(stmt), args...))
		})
	}
	// SQLite: the transaction holds the write lock, so no change of address
	// can be in flight.
	return db.tx(ctx, "create reset token", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q("DELETE FROM reset_tokens WHERE user_id IN ("+holder+")"), held...); err != nil {
			return err
		}
		return oneRow(tx.ExecContext(ctx, db.q("INSERT INTO reset_tokens(token_hash, user_id, app_id, created_at, expires_at, used_at, email_key) "+
			"SELECT ?, ?, ?, ?, ?, 0, ? WHERE EXISTS ("+holder+")"), append(row, held...)...))
	})
}

// GetResetToken implements store.Resets.
func (db *DB) GetResetToken(ctx context.Context, hash []byte, now time.Time) (store.ResetToken, error) {
	t := store.ResetToken{TokenHash: hash}
	var created, expires int64
	err := db.readRow(ctx, "SELECT user_id, app_id, created_at, expires_at FROM reset_tokens WHERE token_hash = ? AND used_at = 0 AND expires_at > ?",
		hash, ms(now)).Scan(&t.UserID, &t.AppID, &created, &expires)
	t.CreatedAt, t.ExpiresAt = tm(created), tm(expires)
	return t, db.err("get reset token", err)
}

// ResetPassword implements store.Resets.
func (db *DB) ResetPassword(ctx context.Context, hash []byte, newHash string, now time.Time, notice *store.OutboxMessage) (string, error) {
	if db.d.PostgresSQL {
		return db.resetPasswordCTE(ctx, hash, newHash, now, notice)
	}
	var userID string
	err := db.tx(ctx, "reset password", func(tx *sql.Tx) error {
		var proven string
		if err := tx.QueryRowContext(ctx, db.q(claimResetToken), ms(now), hash, ms(now)).Scan(&userID, &proven); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, db.q(fmt.Sprintf(setPassword, "?")+"?"), newHash, ms(now), ms(now), proven, proven, proven, userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if err := db.revokeUser(ctx, tx, userID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(dropResetTokens+"?"), userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(clearFailures+"?"), store.PasswordFailures(userID)); err != nil {
			return err
		}
		if notice != nil {
			notice.ID, err = db.enqueue(ctx, tx, *notice)
		}
		return err
	})
	return userID, err
}

// The writes of a reset, in the order both ResetPassword forms make them;
// the middle four end in the user's id, the last in the counter's key.
const (
	claimResetToken = "UPDATE reset_tokens SET used_at = ? WHERE token_hash = ? AND used_at = 0 AND expires_at > ? RETURNING user_id, email_key"
	// setPassword's %[1]s is the email the token's code went to: if it is
	// still the account's, it is verified now. If that is its first proof,
	// a phone bound before it goes (account.ProveEmail's rule: what whoever
	// typed the address set ends with the proof; the password is replaced
	// and the sessions end here anyway).
	setPassword = "UPDATE users SET password_hash = ?, password_last_set_at = ?, updated_at = ?, cred_version = cred_version + 1, " +
		"phone = CASE WHEN " + firstProof + " THEN NULL ELSE phone END, " +
		"phone_verified = CASE WHEN " + firstProof + " THEN FALSE ELSE phone_verified END, " +
		"email_verified = (email_verified OR COALESCE(email_key = %[1]s, FALSE)) WHERE id = "
	firstProof      = "NOT email_verified AND COALESCE(email_key = %[1]s, FALSE)"
	revokeSessions  = "UPDATE sessions SET revoked_at = ? WHERE revoked_at = 0 AND user_id = "
	revokeRefreshes = "UPDATE refresh_tokens SET used_at = ? WHERE used_at = 0 AND user_id = "
	dropResetTokens = "DELETE FROM reset_tokens WHERE used_at = 0 AND user_id = "
	provenEmail     = "UPDATE users SET email_verified = TRUE WHERE email_key = ? AND id = ?"
	clearFailures   = "DELETE FROM throttles WHERE key = "
)

// resetPasswordCTE is ResetPassword as one statement: BEGIN, six writes and
// COMMIT were eight round trips. Every write after the claim takes the
// user from it, so a token that is used, expired or unknown changes
// nothing; concurrent callers queue on the token's row, and the losers
// find it used. All parts see the same snapshot, in which the claimed
// token is still unused: the delete of the user's other tokens names it
// out, as one statement may not change a row twice.
func (db *DB) resetPasswordCTE(ctx context.Context, hash []byte, newHash string, now time.Time, notice *store.OutboxMessage) (string, error) {
	var m store.OutboxMessage
	if notice != nil {
		m = *notice
	}
	var userID sql.NullString
	var id sql.NullInt64
	err := db.retry(ctx, func() error {
		return db.write.QueryRowContext(ctx, db.q(
			"WITH t AS ("+claimResetToken+"), "+
				"u AS ("+fmt.Sprintf(setPassword, "(SELECT email_key FROM t)")+"(SELECT user_id FROM t) RETURNING id), "+
				"s AS ("+revokeSessions+"(SELECT id FROM u)), "+
				"r AS ("+revokeRefreshes+"(SELECT id FROM u)), "+
				"d AS ("+dropResetTokens+"(SELECT id FROM u) AND token_hash <> ?), "+
				"f AS ("+clearFailures+"CAST(? AS TEXT) || (SELECT id FROM u)), "+
				"o AS ("+outboxInsert+"SELECT ?, ?, 0, ?, ?, ?, 0, '' WHERE ?::boolean AND EXISTS (SELECT 1 FROM u) RETURNING id) "+
				"SELECT (SELECT id FROM u), (SELECT id FROM o)"),
			ms(now), hash, ms(now),
			newHash, ms(now), ms(now),
			ms(now),
			ms(now),
			hash,
			store.PasswordFailures(""),
			m.Kind, m.Payload, ms(m.CreatedAt), ms(m.NotBefore), ms(m.ExpiresAt), notice != nil).Scan(&userID, &id)
	})
	if err == nil && !userID.Valid {
		// No live token (its user's rows cascade with it, so a claimed
		// token always has a user to update).
		err = sql.ErrNoRows
	}
	if err == nil && notice != nil {
		notice.ID = id.Int64
	}
	return userID.String, db.err("reset password", err)
}

// ---- sessions

// CreateSession implements store.Sessions.
func (db *DB) CreateSession(ctx context.Context, s store.Session, rt *store.RefreshToken) error {
	const insertSession = "INSERT INTO sessions(id, user_id, app_id, scope, created_at, expires_at, revoked_at, cred_version) VALUES(?, ?, ?, ?, ?, ?, 0, ?)"
	args := []any{s.ID, s.UserID, s.AppID, s.Scope, ms(s.CreatedAt), ms(s.ExpiresAt), s.CredVersion}
	if db.d.PostgresSQL && rt != nil {
		// One statement instead of BEGIN, two inserts and COMMIT, for every
		// sign-in: the refresh token's foreign key is checked at the end of
		// the statement, when the session is there.
		return db.exec(ctx, "create session", func(q querier) error {
			_, err := q.ExecContext(ctx, db.q("WITH s AS ("+insertSession+") "+insertRefresh), append(args, refreshArgs(*rt)...)...)
			return err
		})
	}
	return db.tx(ctx, "create session", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(insertSession), args...); err != nil {
			return err
		}
		if rt == nil {
			return nil
		}
		return db.insertRefresh(ctx, tx, *rt)
	})
}

const insertRefresh = "INSERT INTO refresh_tokens(token_hash, session_id, user_id, created_at, expires_at, used_at) VALUES(?, ?, ?, ?, ?, 0)"

func refreshArgs(rt store.RefreshToken) []any {
	return []any{rt.TokenHash, rt.SessionID, rt.UserID, ms(rt.CreatedAt), ms(rt.ExpiresAt)}
}

func (db *DB) insertRefresh(ctx context.Context, tx *sql.Tx, rt store.RefreshToken) error {
	_, err := tx.ExecContext(ctx, db.q(insertRefresh), refreshArgs(rt)...)
	return err
}

// sessionColumns are a session row's columns, in sessionScan's order, read
// with its user's (as u). A session opened under another credential
// version than its user's reads as revoked since its creation.
const sessionColumns = "s.id, s.user_id, s.app_id, s.scope, s.created_at, s.expires_at, " +
	"CASE WHEN s.revoked_at = 0 AND s.cred_version <> u.cred_version THEN s.created_at ELSE s.revoked_at END, s.cred_version"

const sessionsUsers = " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id "

const sessionCols = "SELECT " + sessionColumns + sessionsUsers + "= ?"

// sessionUserQuery reads a session and its user in one statement: a
// token-authenticated read then makes one round trip, not two.
var sessionUserQuery = "SELECT " + sessionColumns + ", u." + strings.Join(userColumns, ", u.") + sessionsUsers

// sessionScan receives a session row.
type sessionScan struct {
	s       store.Session
	c, e, r int64
}

func (s *sessionScan) dest() []any {
	return []any{&s.s.ID, &s.s.UserID, &s.s.AppID, &s.s.Scope, &s.c, &s.e, &s.r, &s.s.CredVersion}
}

func (s *sessionScan) session() store.Session {
	out := s.s
	out.CreatedAt, out.ExpiresAt, out.RevokedAt = tm(s.c), tm(s.e), tm(s.r)
	return out
}

func scanSession(row *sql.Row) (store.Session, error) {
	var s sessionScan
	err := row.Scan(s.dest()...)
	return s.session(), err
}

// GetSession implements store.Sessions.
func (db *DB) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(db.readRow(ctx, sessionCols, id))
	return s, db.err("get session", err)
}

// GetSessionUser implements store.Sessions.
func (db *DB) GetSessionUser(ctx context.Context, id string) (store.Session, store.User, error) {
	r, err := db.sessionUsers.get(ctx, id)
	if err != nil {
		return store.Session{}, store.User{}, db.err("get session and user", err)
	}
	return r.s, r.u, nil
}

type sessionUser struct {
	s store.Session
	u store.User
}

func scanSessionUser(row scanner) (sessionUser, error) {
	var ss sessionScan
	var us userScan
	err := row.Scan(append(ss.dest(), us.dest()...)...)
	return sessionUser{ss.session(), us.user()}, err
}

// RevokeSession implements store.Sessions.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time) error {
	return db.tx(ctx, "revoke session", func(tx *sql.Tx) error {
		return db.revokeSession(ctx, tx, id, now)
	})
}

func (db *DB) revokeSession(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, db.q("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0"), ms(now), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, db.q("UPDATE refresh_tokens SET used_at = ? WHERE session_id = ? AND used_at = 0"), ms(now), id)
	return err
}

func (db *DB) revokeUser(ctx context.Context, tx *sql.Tx, userID string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, db.q(revokeSessions+"?"), ms(now), userID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, db.q(revokeRefreshes+"?"), ms(now), userID)
	return err
}

// RevokeUserSessions implements store.Sessions.
func (db *DB) RevokeUserSessions(ctx context.Context, userID string, now time.Time) error {
	return db.tx(ctx, "revoke user sessions", func(tx *sql.Tx) error {
		return db.revokeUser(ctx, tx, userID, now)
	})
}

// revokeOthers ends every session of a user but keep, with their refresh
// tokens (after a password change the session that made it stays).
func (db *DB) revokeOthers(ctx context.Context, tx *sql.Tx, userID, keep string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, db.q(
		"UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at = 0"), ms(now), userID, keep); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, db.q(
		"UPDATE refresh_tokens SET used_at = ? WHERE user_id = ? AND session_id <> ? AND used_at = 0"), ms(now), userID, keep)
	return err
}

// GetRefreshToken implements store.Sessions.
func (db *DB) GetRefreshToken(ctx context.Context, hash []byte, now time.Time) (store.RefreshToken, error) {
	rt := store.RefreshToken{TokenHash: hash}
	var c, e int64
	err := db.readRow(ctx, "SELECT session_id, user_id, created_at, expires_at FROM refresh_tokens WHERE token_hash = ? AND used_at = 0 AND expires_at > ?",
		hash, ms(now)).Scan(&rt.SessionID, &rt.UserID, &c, &e)
	rt.CreatedAt, rt.ExpiresAt = tm(c), tm(e)
	return rt, db.err("get refresh token", err)
}

// errReuse carries a detected refresh-token replay out of the transaction
// after the session's revocation is committed.
var errReuse = errors.New("refresh token reused")

// RotateRefreshToken implements store.Sessions.
func (db *DB) RotateRefreshToken(ctx context.Context, appID string, oldHash []byte, next store.RefreshToken, now time.Time) (store.Session, error) {
	var s store.Session
	reused := false
	err := db.tx(ctx, "rotate refresh token", func(tx *sql.Tx) error {
		var sessionID string
		var expires, used int64
		if err := tx.QueryRowContext(ctx, db.q(
			"SELECT r.session_id, r.expires_at, r.used_at FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "+
				"WHERE r.token_hash = ? AND s.app_id = ?"), oldHash, appID).
			Scan(&sessionID, &expires, &used); err != nil {
			return err
		}
		if used != 0 {
			// A rotated token came back: someone kept a copy. End the session.
			reused = true
			return db.revokeSession(ctx, tx, sessionID, now)
		}
		if expires <= ms(now) {
			return store.ErrNotFound
		}
		res, err := tx.ExecContext(ctx, db.q(
			"UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at = 0"), ms(now), oldHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// A concurrent rotation claimed it between our read and this
			// update (PostgreSQL lets both read it unused; SQLite's
			// serialised writers see it used above): the same reuse.
			reused = true
			return db.revokeSession(ctx, tx, sessionID, now)
		}
		if s, err = scanSession(tx.QueryRowContext(ctx, db.q(sessionCols), sessionID)); err != nil {
			return err
		}
		if !s.RevokedAt.IsZero() || !s.ExpiresAt.After(now) {
			return store.ErrNotFound
		}
		next.SessionID, next.UserID = s.ID, s.UserID
		return db.insertRefresh(ctx, tx, next)
	})
	if err == nil && reused {
		err = fmt.Errorf("%s: rotate refresh token: %w: %w", db.d.Name, errReuse, store.ErrNotFound)
	}
	return s, err
}

// ---- outbox

func (db *DB) enqueue(ctx context.Context, tx *sql.Tx, m store.OutboxMessage) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, db.q(
		outboxInsert+"VALUES(?, ?, 0, ?, ?, ?, 0, '') RETURNING id"),
		m.Kind, m.Payload, ms(m.CreatedAt), ms(m.NotBefore), ms(m.ExpiresAt)).Scan(&id)
	return id, err
}

// Enqueue implements store.Outbox.
func (db *DB) Enqueue(ctx context.Context, m store.OutboxMessage) (int64, error) {
	var id int64
	err := db.tx(ctx, "enqueue", func(tx *sql.Tx) error {
		var err error
		id, err = db.enqueue(ctx, tx, m)
		return err
	})
	return id, err
}

// A claim leases the messages that are due (args: lease end; then now
// three times for outboxDue) and hands back claimReturning of each.
const (
	outboxLease    = "UPDATE outbox SET leased_until = ?, attempts = attempts + 1 WHERE "
	outboxDue      = "not_before <= ? AND leased_until <= ? AND expires_at > ?"
	claimReturning = " RETURNING id, kind, payload, attempts, created_at, not_before, expires_at"
)

// scanClaimed reads the rows of a claim.
func scanClaimed(rows *sql.Rows, err error) ([]store.OutboxMessage, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		var m store.OutboxMessage
		var c, nb, e int64
		if err := rows.Scan(&m.ID, &m.Kind, &m.Payload, &m.Attempts, &c, &nb, &e); err != nil {
			return nil, err
		}
		m.CreatedAt, m.NotBefore, m.ExpiresAt = tm(c), tm(nb), tm(e)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ClaimOutbox implements store.Outbox. Expired messages are pruned first;
// the claim never picks them (expires_at), so the two never touch one row.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	const prune = "DELETE FROM outbox WHERE expires_at <= ?"
	claim := outboxLease + "id IN (SELECT id FROM outbox WHERE " + outboxDue + " ORDER BY id LIMIT ?" + db.d.SkipLocked + ")" + claimReturning
	args := []any{ms(now.Add(lease)), ms(now), ms(now), ms(now), limit}
	var out []store.OutboxMessage
	if db.d.PostgresSQL {
		// One statement, no BEGIN/COMMIT.
		err := db.exec(ctx, "claim outbox", func(q querier) (err error) {
			out, err = scanClaimed(q.QueryContext(ctx, db.q("WITH expired AS ("+prune+") "+claim), append([]any{ms(now)}, args...)...))
			return err
		})
		return out, err
	}
	err := db.tx(ctx, "claim outbox", func(tx *sql.Tx) (err error) {
		if _, err := tx.ExecContext(ctx, db.q(prune), ms(now)); err != nil {
			return err
		}
		out, err = scanClaimed(tx.QueryContext(ctx, db.q(claim), args...))
		return err
	})
	return out, err
}

// ClaimOutboxIDs implements store.Outbox. It looks each id up by the
// primary key: ClaimOutbox's scan in id order steps over every row deleted
// since the last vacuum, so on PostgreSQL its cost grows with them
// (BenchmarkStore/ClaimAndDeleteOutbox: 2.9 to 9.7 ms over 9,000 deleted
// rows, against 0.9-1.0 ms by id). ids are a batch (SQLite binds each).
func (db *DB) ClaimOutboxIDs(ctx context.Context, ids []int64, now time.Time, lease time.Duration) ([]store.OutboxMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{ms(now.Add(lease))}
	var query string
	if db.d.PostgresSQL {
		query = outboxLease + "id = ANY(?) AND " + outboxDue + claimReturning
		args = append(args, ids)
	} else {
		query = outboxLease + "id IN (?" + strings.Repeat(", ?", len(ids)-1) + ") AND " + outboxDue + claimReturning
		for _, id := range ids {
			args = append(args, id)
		}
	}
	args = append(args, ms(now), ms(now), ms(now))
	var out []store.OutboxMessage
	err := db.exec(ctx, "claim outbox ids", func(q querier) (err error) {
		out, err = scanClaimed(q.QueryContext(ctx, db.q(query), args...))
		return err
	})
	slices.SortFunc(out, func(a, b store.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// DeleteOutbox implements store.Outbox.
func (db *DB) DeleteOutbox(ctx context.Context, id int64) error {
	if db.d.PostgresSQL {
		_, err := db.deletes.do(ctx, id)
		return db.err("delete outbox", err)
	}
	return db.exec(ctx, "delete outbox", func(q querier) error {
		_, err := q.ExecContext(ctx, db.q("DELETE FROM outbox WHERE id = ?"), id)
		return err
	})
}

// deleteOutboxes deletes the messages of ids in one statement.
func (db *DB) deleteOutboxes(ctx context.Context, ids []int64, _ []struct{}) error {
	_, err := db.write.ExecContext(ctx, "DELETE FROM outbox WHERE id = ANY($1)", ids)
	return err
}

// RetryOutbox implements store.Outbox.
func (db *DB) RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastError string) error {
	return db.exec(ctx, "retry outbox", func(q querier) error {
		_, err := q.ExecContext(ctx, db.q(
			"UPDATE outbox SET not_before = ?, leased_until = 0, last_error = ? WHERE id = ?"), ms(notBefore), lastError, id)
		return err
	})
}

// OutboxStats implements store.Outbox.
func (db *DB) OutboxStats(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := db.read.QueryRowContext(ctx, "SELECT COUNT(*), MIN(created_at) FROM outbox").Scan(&n, &oldest)
	return n, tm(oldest.Int64), db.err("outbox stats", err)
}

// Sweep implements store.Store.
func (db *DB) Sweep(ctx context.Context, now time.Time) error {
	return db.tx(ctx, "sweep", func(tx *sql.Tx) error {
		t := ms(now)
		for _, stmt := range []string{
			"DELETE FROM throttles WHERE expires_at <= ?",
			"DELETE FROM codes WHERE expires_at <= ?",
			"DELETE FROM reset_tokens WHERE expires_at <= ?",
			"DELETE FROM refresh_tokens WHERE expires_at <= ?",
			"DELETE FROM sessions WHERE expires_at <= ?",
		} {
			if _, err := tx.ExecContext(ctx, db.q(stmt), t); err != nil {
				return err
			}
		}
		return nil
	})
}
