package pwcrypto_test

import (
	"testing"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/pwcrypto"
)

// FuzzDecrypt feeds arbitrary type/value pairs to Decrypt. Whatever comes
// in, it must not panic, and must answer with a non-empty valid UTF-8
// password (for rsa/sm2), the value itself (for ""/none), ErrDecrypt, or
// ErrUnknownType for exactly the unknown types. Seeds, including real Node
// ciphertexts, are in testdata/fuzz/FuzzDecrypt.
func FuzzDecrypt(f *testing.F) {
	k := fixedKeys(f)
	f.Fuzz(func(t *testing.T, typ, value string) {
		got, err := k.Decrypt(typ, value)
		known := typ == "" || typ == "none" || typ == "rsa" || typ == "sm2"
		switch err {
		case nil:
			if !known {
				t.Fatalf("unknown type %q accepted", typ)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("Decrypt(%q) returned invalid UTF-8 %q", typ, got)
			}
			if (typ == "" || typ == "none") && got != value {
				t.Fatalf("Decrypt(%q, %q) = %q, want the value back", typ, value, got)
			}
			if (typ == "rsa" || typ == "sm2") && got == "" {
				t.Fatalf("Decrypt(%q) returned an empty password without error", typ)
			}
		case pwcrypto.ErrDecrypt:
			if !known {
				t.Fatalf("unknown type %q gave ErrDecrypt, want ErrUnknownType", typ)
			}
			if got != "" {
				t.Fatalf("Decrypt returned %q with an error", got)
			}
		case pwcrypto.ErrUnknownType:
			if known {
				t.Fatalf("known type %q gave ErrUnknownType", typ)
			}
			if got != "" {
				t.Fatalf("Decrypt returned %q with an error", got)
			}
		default:
			t.Fatalf("Decrypt(%q, %q) returned unexpected error %#v", typ, value, err)
		}
	})
}
