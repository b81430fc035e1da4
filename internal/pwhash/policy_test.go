package pwhash_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

// A 128-character passphrase: the longest the default policy allows.
var passphrase128 = strings.Repeat("correct horse battery staple ", 5)[:128]

func TestPolicyCheck(t *testing.T) {
	user := []string{"Alice.Smith@example.com", "alice_s", "+8613800138000", ""}
	tests := []struct {
		name   string
		policy pwhash.Policy
		pw     string
		inputs []string
		reason string // "" means accepted
	}{
		// accepted
		{"passphrase", pwhash.Policy{}, "correct horse battery staple", user, ""},
		{"long passphrase", pwhash.Policy{}, "longer passphrase with several words in it for sure", user, ""},
		{"words and digits", pwhash.Policy{}, "Blue-Coffee-42", user, ""},
		{"short sentence", pwhash.Policy{}, "kittens are soft", user, ""},
		{"German", pwhash.Policy{}, "Der Hund bellt laut", user, ""},
		{"Chinese 8 characters", pwhash.Policy{}, "我的密码很安全的", user, ""},
		{"Chinese 128 characters", pwhash.Policy{}, strings.Repeat("我的密码很安全的", 16), user, ""},
		{"Japanese", pwhash.Policy{}, "パスワードは秘密です", user, ""},
		{"exactly 128", pwhash.Policy{}, passphrase128, user, ""},
		{"exactly 8", pwhash.Policy{}, "k7#Qz!p2", user, ""},
		{"spaces are allowed", pwhash.Policy{}, "  purple  monkey  dishwasher  ", user, ""},
		{"no composition rules", pwhash.Policy{}, "purple monkey dishwasher", user, ""},
		{"contains the username but is long", pwhash.Policy{}, "alice_s likes purple dishwashers", user, ""},
		{"4 ligatures are 10 characters after NFKC", pwhash.Policy{}, "\ufb03\ufb03\ufb03x", user, ""},
		{"custom max", pwhash.Policy{MaxLength: 200}, passphrase128 + " correct horse battery", user, ""},

		// refused
		{"empty", pwhash.Policy{}, "", user, "empty"},
		{"invalid UTF-8", pwhash.Policy{}, "abc\xff\xfedefghij", user, "invalid_utf8"},
		{"7 characters", pwhash.Policy{}, "k7#Qz!p", user, "too_short"},
		{"6 Chinese characters are 18 bytes", pwhash.Policy{}, "我的密码很安", user, "too_short"},
		{"129", pwhash.Policy{}, passphrase128 + "x", user, "too_long"},
		{"128 that NFKC makes 130", pwhash.Policy{}, passphrase128[:127] + "\ufb03", user, "too_long"},
		{"custom min", pwhash.Policy{MinLength: 16}, "kittens are soft"[:15], user, "too_short"},
		{"custom max", pwhash.Policy{MaxLength: 20}, "kittens are soft and warm", user, "too_long"},
		{"password1", pwhash.Policy{}, "password1", nil, "common"},
		{"12345678", pwhash.Policy{}, "12345678", nil, "common"},
		{"qwertyuiop", pwhash.Policy{}, "qwertyuiop", nil, "common"},
		{"common, other case", pwhash.Policy{}, "PassWord1", nil, "common"},
		{"common, full-width", pwhash.Policy{}, "ｐａｓｓｗｏｒｄ１", nil, "common"},
		{"iloveyou", pwhash.Policy{}, "iloveyou", nil, "common"},
		{"email", pwhash.Policy{}, "alice.smith@EXAMPLE.com", user, "user_input"},
		{"username padded", pwhash.Policy{MinLength: 6}, "ALICE_S", []string{" alice_s "}, "user_input"},
		{"phone", pwhash.Policy{}, "+8613800138000", user, "user_input"},
		{"repeated character", pwhash.Policy{}, "zzzzzzzzzzzzzzzz", nil, "weak"},
		{"word and year", pwhash.Policy{}, "Sunshine2023!", nil, "weak"},
		{"l33t word and year", pwhash.Policy{}, "P@ssw0rd2024", nil, "weak"},
		{"mailbox name and digits", pwhash.Policy{}, "alice.smith1", user, "weak"},
		{"weak prefix of a long password", pwhash.Policy{}, strings.Repeat("a", 100), nil, "weak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw, tt.inputs...)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want accepted", tt.pw, err)
				}
				return
			}
			var pe *pwhash.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v (%T), want a *PolicyError with reason %q", tt.pw, err, err, tt.reason)
			}
			if pe.Reason != tt.reason {
				t.Fatalf("Check(%q) reason = %q (%s), want %q", tt.pw, pe.Reason, pe.Message, tt.reason)
			}
			if pe.Message == "" || pe.Error() != pe.Message {
				t.Fatalf("Check(%q): Message %q, Error() %q", tt.pw, pe.Message, pe.Error())
			}
		})
	}
}

func TestPolicyMessages(t *testing.T) {
	tests := []struct {
		policy pwhash.Policy
		pw     string
		want   string
	}{
		{pwhash.Policy{}, "short", "password must be at least 8 characters"},
		{pwhash.Policy{MinLength: 12}, "short", "password must be at least 12 characters"},
		{pwhash.Policy{}, strings.Repeat("x", 129), "password must be at most 128 characters"},
		{pwhash.Policy{}, "", "password must not be empty"},
	}
	for _, tt := range tests {
		if err := tt.policy.Check(tt.pw); err == nil || err.Error() != tt.want {
			t.Errorf("%+v.Check(%q) = %v, want %q", tt.policy, tt.pw, err, tt.want)
		}
	}
}

// The length limits are in characters, whatever their size in bytes.
func TestPolicyCountsCharacters(t *testing.T) {
	for _, unit := range []string{"a", "é", "密", "🔑"} {
		for n := 6; n <= 10; n++ {
			pw := strings.Repeat(unit, n-1) + "Z"
			if utf8.RuneCountInString(pw) != n {
				t.Fatal("bad setup")
			}
			err := pwhash.Policy{MinLength: 8, MaxLength: 9}.Check(pw)
			var pe *pwhash.PolicyError
			errors.As(err, &pe)
			got := ""
			if pe != nil && (pe.Reason == "too_short" || pe.Reason == "too_long") {
				got = pe.Reason
			}
			want := map[bool]string{true: "too_short"}[n < 8]
			if n > 9 {
				want = "too_long"
			}
			if got != want {
				t.Errorf("%d × %q: length verdict %q (%v), want %q", n, unit, got, err, want)
			}
		}
	}
}

func ExamplePolicy_Check() {
	err := pwhash.Policy{}.Check("password1")
	var pe *pwhash.PolicyError
	if errors.As(err, &pe) {
		fmt.Println(pe.Reason)
	}
	// Output: common
}
