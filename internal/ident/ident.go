// Package ident normalises the identifiers accounts are found by: email
// addresses, phone numbers and usernames.
package ident

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// Email is a validated address: Address keeps the user's spelling, Key is
// the lookup form.
type Email struct {
	Address string
	Key     string
}

// ErrEmail and ErrPhone are returned for values that are not addresses or
// numbers; callers name the field.
var (
	ErrEmail        = errors.New("not a valid email address")
	ErrPhone        = errors.New("not a valid phone number")
	ErrCallCode     = errors.New("not a calling code such as +86")
	ErrCallCodeDiff = errors.New("the number's calling code and phoneCountryCode differ")
	ErrUsername     = errors.New("must be 1 to 64 printable characters without spaces or @")
	ErrUsernameForm = errors.New("must be written in plain characters (for example b, not the fullwidth ｂ)")
)

// ParseEmail validates an address. Only ASCII letters are case-folded: full
// Unicode folding maps look-alikes together (the Kelvin sign K folds to k),
// which is how Django's reset flow was tricked into mailing an attacker's
// near-copy of a victim's address. Mail is always sent to the stored
// Address, never to what a request typed.
func ParseEmail(s string) (Email, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return Email{}, ErrEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return Email{}, ErrEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return Email{}, ErrEmail
	}
	return Email{Address: s, Key: asciiLower(s)}, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Phone is a validated number.
type Phone struct {
	E164        string // +8613800138000: the lookup form
	National    string // 13800138000
	CountryCode string // +86
	Region      string // CN (ISO 3166); "001" for a non-geographic number
}

// ParsePhone normalises number, with countryCode ("+86", "86") when given,
// else region (ISO 3166 alpha-2) for numbers without a leading +.
func ParsePhone(number, countryCode, region string) (Phone, error) {
	number = strings.TrimSpace(number)
	if number == "" || utf8.RuneCountInString(number) > 32 {
		return Phone{}, ErrPhone
	}
	cc := strings.TrimPrefix(strings.TrimSpace(countryCode), "+")
	if cc != "" {
		for _, r := range cc {
			if r < '0' || r > '9' {
				return Phone{}, ErrCallCode
			}
		}
		if n, err := strconv.Atoi(cc); err != nil || phonenumbers.GetRegionCodeForCountryCode(n) == "ZZ" {
			return Phone{}, ErrCallCode
		}
		if !strings.HasPrefix(number, "+") {
			number = "+" + cc + strings.TrimLeft(number, "0")
			if n, err := phonenumbers.Parse(number, ""); err == nil && phonenumbers.IsValidNumber(n) {
				return phoneOf(n), nil
			}
			number = "+" + cc + strings.TrimPrefix(number, "+"+cc)
		}
	}
	n, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return Phone{}, ErrPhone
	}
	if cc != "" && strconv.Itoa(int(n.GetCountryCode())) != cc {
		// "+1 201…" with phoneCountryCode "+86": which one was meant?
		return Phone{}, ErrCallCodeDiff
	}
	return phoneOf(n), nil
}

func phoneOf(n *phonenumbers.PhoneNumber) Phone {
	return Phone{
		E164:        phonenumbers.Format(n, phonenumbers.E164),
		National:    phonenumbers.GetNationalSignificantNumber(n),
		CountryCode: "+" + itoa(int(n.GetCountryCode())),
		Region:      phonenumbers.GetRegionCodeForNumber(n),
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// UsernameKey returns the lookup form of a username: ASCII letters
// lower-cased, as every stored key was made. It refuses only what no name
// can hold, so a lookup finds names stored before NewUsername's rules.
func UsernameKey(s string) (string, error) {
	if s == "" || utf8.RuneCountInString(s) > 64 || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n@\x00") {
		return "", ErrUsername
	}
	return asciiLower(s), nil
}

// NewUsername checks a username being set and returns its lookup form.
// Beyond UsernameKey's rules it refuses control and invisible characters (a
// NUL cannot be stored in PostgreSQL, and a zero-width space or direction
// mark makes a look-alike of another name; the joiners ZWNJ and ZWJ stay,
// as Persian and Indic names need them) and compatibility forms such as
// the fullwidth ｂｏｂ, a look-alike of bob: its NFKC form must be itself.
func NewUsername(s string) (string, error) {
	k, err := UsernameKey(s)
	if err != nil {
		return "", err
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != '\u200c' && r != '\u200d' }) {
		return "", ErrUsername
	}
	if !norm.NFKC.IsNormalString(s) {
		return "", ErrUsernameForm
	}
	return k, nil
}
