package pwhash_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

func BenchmarkHashArgon2idDefault(b *testing.B) {
	h := pwhash.NewHasher(pwhash.DefaultSpec(), 1, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyArgon2idDefault(b *testing.B) {
	h := pwhash.NewHasher(pwhash.DefaultSpec(), 1, nil)
	ctx := context.Background()
	enc := mustHash(b, h, "correct horse battery staple")
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkBcrypt10(b *testing.B) {
	h := pwhash.NewHasher(mustSpec(b, "bcrypt:cost=10"), 1, nil)
	ctx := context.Background()
	b.Run("Hash", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		enc := mustHash(b, h, "correct horse battery staple")
		for b.Loop() {
			if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkPolicyCheck(b *testing.B) {
	inputs := []string{"alice.smith@example.com", "alice_s", "+8613800138000"}
	cases := []struct{ name, pw string }{
		{"passphrase28", "correct horse battery staple"},
		{"passphrase128", passphrase128},
		{"random128", strings.Repeat("x9!Kq", 26)[:128]},
		{"chinese128", strings.Repeat("我的密码很安全的", 16)},
		{"common", "password1"},
		{"keyboardwalk128", strings.Repeat("1qaz2wsx3edc4rfv", 8)}, // worst case found
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_ = pwhash.Policy{}.Check(c.pw, inputs...)
			}
		})
	}
}
