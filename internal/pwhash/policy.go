package pwhash

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	zxcvbn "github.com/ccojocar/zxcvbn-go"
	"github.com/ccojocar/zxcvbn-go/frequency"
)

// Default length limits, in characters (Unicode code points after NFKC).
// 8 is NIST SP 800-63B's minimum for user-chosen passwords; 128 leaves room
// for passphrases while bounding the work done per request.
const (
	DefaultMinLength = 8
	DefaultMaxLength = 128
)

// PolicyError.Reason values. They are stable so that clients and the HTTP
// layer can map them to their own messages or translations.
const (
	ReasonEmpty       = "empty"
	ReasonInvalidUTF8 = "invalid_utf8"
	ReasonTooShort    = "too_short"
	ReasonTooLong     = "too_long"
	ReasonUserInput   = "user_input" // equals the account's email, username, phone...
	ReasonCommon      = "common"     // on the bundled list of common passwords
	ReasonWeak        = "weak"       // zxcvbn estimates it is guessed almost at once
)

// zxcvbnMaxChars bounds the part of the password that zxcvbn scores.
// zxcvbn-go is slow on long input (its dictionary matchers try every
// substring): scoring a whole 128-character password takes 10-70 ms, while
// the first 32 characters take 0.2-0.6 ms, so only those are scored. A
// 32-character prefix that is trivially guessable ("passwordpassword...",
// "aaaa...") is reason enough to refuse, and a password whose first 32
// characters are not is not trivially guessable either. Keyboard walks stay
// slower (about 1 ms per three-key run, some 5 ms at worst for 32
// characters) because zxcvbn-go re-parses its keyboard layout for every
// such run; that is still well below the cost of the hash that follows.
const zxcvbnMaxChars = 32

// Policy is the password policy applied when a password is set (sign-up,
// change, reset): length limits counted in characters after NFKC, and
// refusal of guessable passwords. Following NIST SP 800-63B and OWASP ASVS
// 2.1.9 it has no composition rules (no "one digit, one symbol"): any
// Unicode text is allowed. A zero field means its default.
//
// Refusing the current password is the caller's job, as it needs Verify.
type Policy struct {
	MinLength int // default DefaultMinLength
	MaxLength int // default DefaultMaxLength
}

// PolicyError is the error Check returns: Reason is one of the Reason*
// constants, for programs; Message is an English sentence for people.
type PolicyError struct {
	Reason  string
	Message string
}

// Error returns Message, so the error can be shown as is.
func (e *PolicyError) Error() string { return e.Message }

func refuse(reason, format string, a ...any) *PolicyError {
	return &PolicyError{Reason: reason, Message: fmt.Sprintf(format, a...)}
}

// Check returns nil if password (as typed) may be set, else a *PolicyError.
// userInputs are things an attacker would try first for this account
// (email, username, phone number); a password equal to one of them, ignoring
// case, is refused, and they count as known words when scoring.
func (p Policy) Check(password string, userInputs ...string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = DefaultMinLength
	}
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	if password == "" {
		return refuse(ReasonEmpty, "password must not be empty")
	}
	if !utf8.ValidString(password) {
		return refuse(ReasonInvalidUTF8, "password contains bytes that are not valid UTF-8 text")
	}
	pw := Normalize(password)
	n := utf8.RuneCountInString(pw)
	if n < minLen {
		return refuse(ReasonTooShort, "password must be at least %d characters", minLen)
	}
	if n > maxLen {
		return refuse(ReasonTooLong, "password must be at most %d characters", maxLen)
	}

	inputs := make([]string, 0, 2*len(userInputs))
	for _, in := range userInputs {
		in = strings.TrimSpace(Normalize(in))
		if in == "" {
			continue
		}
		if strings.EqualFold(pw, in) {
			return refuse(ReasonUserInput, "password must not be the same as your email address, username or phone number")
		}
		inputs = append(inputs, in)
		// zxcvbn only knows whole words: give it the mailbox name as well.
		if local, _, ok := strings.Cut(in, "@"); ok && local != "" {
			inputs = append(inputs, local)
		}
	}

	if _, ok := commonPasswords()[strings.ToLower(pw)]; ok {
		return refuse(ReasonCommon, "password is one of the most commonly used passwords; choose another")
	}

	scored := pw
	if n > zxcvbnMaxChars {
		scored = firstRunes(pw, zxcvbnMaxChars)
	}
	if zxcvbn.PasswordStrength(scored, inputs).Score == 0 {
		return refuse(ReasonWeak, "password is too easy to guess; a few unrelated words make a strong password")
	}
	return nil
}

// firstRunes returns the first n code points of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// commonPasswords is the set of zxcvbn's bundled list of common passwords
// (about 7,000, lower case). It is built on first use and never modified:
// a read-only lookup table, not shared mutable state.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.Lists["Passwords"].List
	set := make(map[string]struct{}, len(list))
	for _, w := range list {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set
})
