package pwhash_test

import (
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

func TestParseSpecValid(t *testing.T) {
	tests := []struct {
		in     string
		want   pwhash.Spec
		String string
	}{
		{"argon2id:m=19456,t=2,p=1", pwhash.Spec{Kind: pwhash.Argon2id, Memory: 19456, Time: 2, Threads: 1}, "argon2id:m=19456,t=2,p=1"},
		{"argon2id:p=4,t=3,m=65536", pwhash.Spec{Kind: pwhash.Argon2id, Memory: 65536, Time: 3, Threads: 4}, "argon2id:m=65536,t=3,p=4"},
		{"  argon2id:m=8,t=1,p=1\n", pwhash.Spec{Kind: pwhash.Argon2id, Memory: 8, Time: 1, Threads: 1}, "argon2id:m=8,t=1,p=1"},
		{"argon2id:m=2040,t=1,p=255", pwhash.Spec{Kind: pwhash.Argon2id, Memory: 2040, Time: 1, Threads: 255}, "argon2id:m=2040,t=1,p=255"},
		{"bcrypt:cost=4", pwhash.Spec{Kind: pwhash.Bcrypt, Cost: 4}, "bcrypt:cost=4"},
		{"bcrypt:cost=12", pwhash.Spec{Kind: pwhash.Bcrypt, Cost: 12}, "bcrypt:cost=12"},
		{"bcrypt:cost=31", pwhash.Spec{Kind: pwhash.Bcrypt, Cost: 31}, "bcrypt:cost=31"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := pwhash.ParseSpec(tt.in)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.String {
				t.Fatalf("String() = %q, want %q", s, tt.String)
			}
			again, err := pwhash.ParseSpec(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseSpecInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error message
	}{
		{"", "empty"},
		{"argon2id", "missing ':'"},
		{"scrypt:n=16384", `unknown algorithm "scrypt"`},
		{"argon2:m=19456,t=2,p=1", `unknown algorithm "argon2"`},
		{"Argon2id:m=19456,t=2,p=1", "unknown algorithm"},
		{"argon2id:", "missing parameter m"},
		{"argon2id:m=19456,t=2", "missing parameter p"},
		{"argon2id:m=19456,t=2,p=1,x=3", `unknown parameter "x"`},
		{"argon2id:m=19456,m=19456,t=2,p=1", "m given twice"},
		{"argon2id:m=19456,t,p=1", "not of the form name=value"},
		{"argon2id:m=19MiB,t=2,p=1", "m must be a whole number"},
		{"argon2id:m=-1,t=2,p=1", "m must be a whole number"},
		{"argon2id:m=19456,t=2,p=1.5", "p must be a whole number"},
		{"argon2id:m=4294967296,t=2,p=1", "m must be a whole number"},
		{"argon2id:m=15,t=1,p=2", "m must be at least 8*p"},
		{"argon2id:m=0,t=1,p=1", "m must be at least 8*p"},
		{"argon2id:m=5000000,t=1,p=1", "m must be at most"},
		{"argon2id:m=19456,t=0,p=1", "t must be at least 1"},
		{"argon2id:m=19456,t=101,p=1", "t must be at most 100"},
		{"argon2id:m=19456,t=2,p=0", "p must be at least 1"},
		{"argon2id:m=19456,t=2,p=256", "p must be at most 255"},
		{"bcrypt:", "missing parameter cost"},
		{"bcrypt:cost=3", "cost must be between 4 and 31"},
		{"bcrypt:cost=32", "cost must be between 4 and 31"},
		{"bcrypt:cost=ten", "cost must be a whole number"},
		{"bcrypt:cost=10,m=5", `unknown parameter "m"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := pwhash.ParseSpec(tt.in)
			if err == nil {
				t.Fatalf("ParseSpec(%q) = %+v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseSpec(%q) error %q does not mention %q", tt.in, err, tt.want)
			}
			if got != (pwhash.Spec{}) {
				t.Fatalf("ParseSpec(%q) returned %+v with its error, want the zero Spec", tt.in, got)
			}
		})
	}
}

func TestDefaultSpec(t *testing.T) {
	want := pwhash.Spec{Kind: pwhash.Argon2id, Memory: 19456, Time: 2, Threads: 1}
	if got := pwhash.DefaultSpec(); got != want {
		t.Fatalf("DefaultSpec() = %+v, want %+v", got, want)
	}
	parsed, err := pwhash.ParseSpec(pwhash.DefaultSpecString)
	if err != nil || parsed != want {
		t.Fatalf("ParseSpec(DefaultSpecString) = %+v, %v", parsed, err)
	}
	if s := (pwhash.Spec{}).String(); s != pwhash.DefaultSpecString {
		t.Fatalf("zero Spec String() = %q, want the default", s)
	}
}
