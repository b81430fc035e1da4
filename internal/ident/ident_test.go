package ident_test

import (
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/ident"
)

func TestParsePhone(t *testing.T) {
	for _, c := range []struct{ number, cc string }{
		{"13800138000", ""}, {"+86 138 0013 8000", ""}, {"13800138000", "+86"}, {"13800138000", "86"}, {"+8613800138000", "+86"},
	} {
		p, err := ident.ParsePhone(c.number, c.cc, "CN")
		if err != nil || p.E164 != "+8613800138000" || p.National != "13800138000" || p.CountryCode != "+86" {
			t.Errorf("ParsePhone(%q, %q) = %+v, %v", c.number, c.cc, p, err)
		}
	}
	if p, err := ident.ParsePhone("2025550123", "+1", "CN"); err != nil || p.E164 != "+12025550123" {
		t.Errorf("US number: %+v %v", p, err)
	}
	for _, bad := range []string{"", "abc", "123", "+86 1"} {
		if _, err := ident.ParsePhone(bad, "", "CN"); err == nil {
			t.Errorf("ParsePhone(%q) accepted", bad)
		}
	}
}

func TestParseEmail(t *testing.T) {
	e, err := ident.ParseEmail("  Alice@Example.COM ")
	if err != nil || e.Address != "Alice@Example.COM" || e.Key != "alice@example.com" {
		t.Fatalf("got %+v %v", e, err)
	}
	// The Kelvin sign must not fold onto "k": it names another mailbox.
	k, err := ident.ParseEmail("\u212Aate@example.com")
	if err != nil || k.Key == "kate@example.com" {
		t.Fatalf("kelvin: %+v %v", k, err)
	}
	for _, bad := range []string{"", "no-at", "a@", "@b", "A <a@b.c>", "a@b.c, d@e.f", "a b@c.d"} {
		if _, err := ident.ParseEmail(bad); err == nil {
			t.Errorf("ParseEmail(%q) accepted", bad)
		}
	}
}

func TestUsernames(t *testing.T) {
	if k, err := ident.NewUsername("Bea_张三-1"); err != nil || k != "bea_张三-1" {
		t.Fatalf("got %q %v", k, err)
	}
	if _, err := ident.NewUsername("می\u200cخواهم"); err != nil { // ZWNJ, as Persian writes
		t.Fatalf("ZWNJ: %v", err)
	}
	// New names: no invisible characters, no compatibility forms.
	for _, bad := range []string{"", "a b", "a@b", "a\tb", "a\x00b", "a\u200bb", "a\u3000b", "\u202eboB", "ｂｏｂ", "a\uff20b", strings.Repeat("x", 65)} {
		if _, err := ident.NewUsername(bad); err == nil {
			t.Errorf("NewUsername(%q) accepted", bad)
		}
	}
	// Lookups find names stored before those rules, as they were keyed.
	if k, err := ident.UsernameKey("ｂｏｂ"); err != nil || k != "ｂｏｂ" {
		t.Fatalf("legacy fullwidth lookup: %q %v", k, err)
	}
	for _, bad := range []string{"", "a b", "a@b", "a\x00b"} {
		if _, err := ident.UsernameKey(bad); err == nil {
			t.Errorf("UsernameKey(%q) accepted", bad)
		}
	}
}
