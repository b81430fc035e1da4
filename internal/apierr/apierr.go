// Package apierr is the one error type that crosses the HTTP boundary, and
// the table of stable apiCode values. Codes are never renumbered.
package apierr

import (
	"errors"
	"fmt"
)

// Error is a failure a client may see: Status becomes the envelope's
// statusCode, APICode its apiCode, Message its message.
type Error struct {
	Status  int
	APICode int
	Message string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.cause)
	}
	return e.Message
}

// Unwrap returns the internal cause, never shown to clients.
func (e *Error) Unwrap() error { return e.cause }

// New returns an Error.
func New(status, apiCode int, msg string) *Error {
	return &Error{Status: status, APICode: apiCode, Message: msg}
}

// Wrap returns an Error that keeps cause for logs.
func Wrap(status, apiCode int, msg string, cause error) *Error {
	return &Error{Status: status, APICode: apiCode, Message: msg, cause: cause}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Stable apiCode values. Append only.
const (
	CodeBadRequest        = 40000 // malformed or invalid input (message names the field)
	CodeBodyTooLarge      = 41300 // request body over the limit
	CodeAppUnknown        = 40001 // x-authing-app-id missing or unknown
	CodeDecryptFailed     = 40002 // encrypted password could not be decrypted
	CodePasswordPolicy    = 40003 // new password refused by the policy
	CodePasswordReused    = 40004 // new password equals the current one
	CodeUnauthorized      = 40100 // no valid access token
	CodeBadCredentials    = 40101 // wrong account or password
	CodeBadClient         = 40102 // client authentication failed
	CodeCodeInvalid       = 40103 // wrong, used or expired passcode
	CodeResetTokenInvalid = 40104 // reset token unknown, used or expired
	CodeAccountExists     = 40900 // email, phone or username taken
	CodeChangedMeanwhile  = 40901 // the password changed while this change was made
	CodeNotFound          = 40400 // no such resource
	CodeRateLimited       = 42900 // per-IP limit
	CodeCodeThrottled     = 42901 // one code a minute per target and channel, hourly cap
	CodeInternal          = 50000 // anything unexpected
	CodeUnavailable       = 50300 // database unreachable
)

// BadRequest names the field in error.
func BadRequest(field, problem string) *Error {
	if field == "" {
		return New(400, CodeBadRequest, problem)
	}
	return New(400, CodeBadRequest, field+": "+problem)
}
