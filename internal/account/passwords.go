// Package account is the account domain: registration, sign-in, the
// message service's code requests, and the user-information module. Its
// services speak in plain values; package httpapi owns the wire types.
package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/pwcrypto"
	"github.com/keyhaven/keyhaven/internal/pwhash"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Passwords decrypts, checks and hashes passwords the same way in every flow
// (OWASP FP-5: one policy everywhere).
type Passwords struct {
	Hasher *pwhash.Hasher
	Policy pwhash.Policy
	Keys   *pwcrypto.Keys
}

// errDecrypt is the one answer to every undecryptable password in field,
// whatever went wrong, so the endpoint is no padding oracle.
func errDecrypt(field string) error {
	return apierr.New(400, apierr.CodeDecryptFailed, field+": could not be decrypted with the server's public key")
}

// Decode returns the password sent in field, decrypted per encType.
func (p *Passwords) Decode(encType, value, field string) (string, error) {
	if value == "" {
		return "", apierr.BadRequest(field, "is required")
	}
	pw, err := p.Keys.Decrypt(encType, value)
	switch {
	case errors.Is(err, pwcrypto.ErrUnknownType):
		return "", apierr.BadRequest("passwordEncryptType", "must be none, rsa or sm2")
	case err != nil:
		return "", errDecrypt(field)
	}
	return pw, nil
}

// NewHash checks pw, sent in field, against the policy and, when u has a
// password, that it is not the current one, then hashes it. Costs two
// hashes when u has one.
func (p *Passwords) NewHash(ctx context.Context, pw, field string, u *store.User) (string, error) {
	if err := p.CheckPolicy(pw, field, u); err != nil {
		return "", err
	}
	if u != nil {
		if err := p.notCurrent(ctx, pw, *u); err != nil {
			return "", inField(err, field)
		}
	}
	return p.hash(ctx, pw)
}

// inField restates a password error ("password must ...", "password: ...")
// for the request field that carried the password.
func inField(err error, field string) error {
	var e *apierr.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := strings.TrimPrefix(e.Message, "password")
	return apierr.New(e.Status, e.APICode, field+": "+strings.TrimSpace(strings.TrimPrefix(msg, ":")))
}

// CheckPolicy checks pw, sent in field, against the policy, and against
// u's email, phone and username if u is not nil.
func (p *Passwords) CheckPolicy(pw, field string, u *store.User) error {
	var inputs []string
	if u != nil {
		inputs = append(inputs, u.Email, u.Username, u.Phone)
	}
	if err := p.Policy.Check(pw, inputs...); err != nil {
		var pe *pwhash.PolicyError
		if errors.As(err, &pe) {
			return inField(apierr.New(400, apierr.CodePasswordPolicy, pe.Message), field)
		}
		return err
	}
	return nil
}

// errReused answers a new password that is the current one.
var errReused = apierr.New(400, apierr.CodePasswordReused, "password: must differ from the current password")

// notCurrent refuses pw if it is u's current password (none: nothing to
// compare).
func (p *Passwords) notCurrent(ctx context.Context, pw string, u store.User) error {
	if u.PasswordHash == "" {
		return nil
	}
	same, _, err := p.Hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("account: compare with current password: %w", err)
	}
	if same {
		return errReused
	}
	return nil
}

func (p *Passwords) hash(ctx context.Context, pw string) (string, error) {
	h, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("account: hash password: %w", err)
	}
	return h, nil
}
