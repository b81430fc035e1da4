package pwhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors returned by Verify for stored hashes it cannot use. They never
// include the stored hash itself, so that wrapping them into a log line does
// not leak it.
var (
	// ErrUnknownFormat: the stored string is not a hash format this package
	// knows (for example an argon2i or an MD5-crypt hash from an import).
	ErrUnknownFormat = errors.New("pwhash: unknown password hash format")
	// ErrMalformedHash: the format is known but the string is damaged or
	// carries parameters outside the accepted limits.
	ErrMalformedHash = errors.New("pwhash: malformed password hash")
)

// argon2id: the PHC string format used by the reference implementation and
// most libraries, so hashes can be exported to and imported from them:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64.
const (
	argonPrefix  = "$argon2id$"
	argonSaltLen = 16 // RFC 9106 recommends 16 bytes
	argonKeyLen  = 32 // RFC 9106 recommends 32 bytes (256-bit tag)
	// Accepted ranges when verifying stored (possibly imported) hashes.
	minStoredSalt, maxStoredSalt = 8, 64
	minStoredKey, maxStoredKey   = 16, 128
)

type argonHash struct {
	params    Spec
	salt, key []byte
}

func encodeArgon2id(s Spec, salt, key []byte) string {
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argonPrefix, argon2.Version,
		s.Memory, s.Time, s.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func decodeArgon2id(encoded string) (argonHash, error) {
	bad := func(format string, a ...any) (argonHash, error) {
		return argonHash{}, fmt.Errorf("%w: argon2id: %s", ErrMalformedHash, fmt.Sprintf(format, a...))
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want 5 '$'-separated fields, got %d", len(parts)-1)
	}
	if parts[2] != "v=19" {
		// v=16 (Argon2 1.0) is not implemented by golang.org/x/crypto.
		return bad("unsupported version field %q, want v=19", parts[2])
	}
	kv, err := parseParams(parts[3], "argon2id", "m", "t", "p")
	if err != nil {
		return bad("%v", err)
	}
	var p Spec
	p.Kind = Argon2id
	if p.Memory, err = paramUint32("argon2id", "m", kv["m"]); err != nil {
		return bad("%v", err)
	}
	if p.Time, err = paramUint32("argon2id", "t", kv["t"]); err != nil {
		return bad("%v", err)
	}
	lanes, err := paramUint32("argon2id", "p", kv["p"])
	if err != nil {
		return bad("%v", err)
	}
	if lanes > maxArgonLanes {
		return bad("p must be at most %d", maxArgonLanes)
	}
	p.Threads = uint8(lanes)
	if err := p.validate(); err != nil {
		return bad("%v", err)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minStoredSalt || len(salt) > maxStoredSalt {
		return bad("salt must be %d to %d bytes of unpadded base64", minStoredSalt, maxStoredSalt)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minStoredKey || len(key) > maxStoredKey {
		return bad("key must be %d to %d bytes of unpadded base64", minStoredKey, maxStoredKey)
	}
	return argonHash{params: p, salt: salt, key: key}, nil
}

// matches recomputes the key; this is the expensive part and must run inside
// a Hasher slot.
func (a argonHash) matches(pw []byte) bool {
	got := argon2.IDKey(pw, a.salt, a.params.Time, a.params.Memory, a.params.Threads, uint32(len(a.key)))
	return subtle.ConstantTimeCompare(got, a.key) == 1
}

// current reports whether a is exactly what Hash would produce under spec.
func (a argonHash) current(spec Spec) bool {
	return a.params == spec && len(a.salt) == argonSaltLen && len(a.key) == argonKeyLen
}

// bcrypt.
//
// bcrypt silently ignores everything after the 72nd byte of its input, so a
// long passphrase would be only as strong as its first 72 bytes and any
// password sharing them would match. New bcrypt hashes therefore hash a
// fixed-length digest of the password instead of the password itself:
//
//	$kh-bcrypt-sha256$2a$<cost>$<22-char salt><31-char hash>
//
// which is the literal prefix "$kh-bcrypt-sha256" followed by an ordinary
// bcrypt string (which starts with "$"), computed over
//
//	base64std(HMAC-SHA256(key = "keyhaven-bcrypt-v1", message = NFKC(password)))
//
// (44 ASCII bytes with padding, well under 72). The base64 step keeps NUL and
// other raw bytes away from bcrypt implementations that stop at them. A keyed
// HMAC rather than a bare SHA-256 keeps the inner value from being an
// unsalted SHA-256 of the password, which could be looked up in leaked
// SHA-256 dumps to "shuck" the bcrypt layer off. Changing the key or the
// construction requires a new prefix.
//
// Plain "$2a$"/"$2b$"/"$2y$" strings (imported from other systems) are still
// verified over the password itself, and a password longer than 72 bytes
// never matches them.
const (
	khBcryptPrefix   = "$kh-bcrypt-sha256"
	bcryptPrehashKey = "keyhaven-bcrypt-v1"
	bcryptMaxInput   = 72
	bcryptLen        = 60 // "$2a$10$" + 22 salt + 31 hash
	bcryptAlphabet   = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func bcryptPrehash(pw []byte) []byte {
	m := hmac.New(sha256.New, []byte(bcryptPrehashKey))
	m.Write(pw)
	sum := m.Sum(nil)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	return out
}

// isPlainBcrypt reports whether s starts like a bcrypt string of a variant we
// verify. $2x$ (hashes from the sign-extension bug in crypt_blowfish) and the
// original $2$ are deliberately not accepted.
func isPlainBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// parseBcrypt checks the layout strictly (golang.org/x/crypto/bcrypt is
// lenient about separators and length) and returns the cost.
func parseBcrypt(s string) (int, error) {
	if len(s) != bcryptLen || !isPlainBcrypt(s) || s[6] != '$' {
		return 0, fmt.Errorf("%w: bcrypt: want $2a$, $2b$ or $2y$, a two-digit cost and 53 characters", ErrMalformedHash)
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || cost < minBcryptCost || cost > maxBcryptCost {
		return 0, fmt.Errorf("%w: bcrypt: cost must be two digits between %d and %d", ErrMalformedHash, minBcryptCost, maxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return 0, fmt.Errorf("%w: bcrypt: invalid character in salt or hash", ErrMalformedHash)
		}
	}
	return cost, nil
}

// dummyBcrypt is a well-formed bcrypt string at the given cost that no
// password matches in practice. Comparing against it costs exactly one
// bcrypt computation at that cost, without having to generate a hash first.
func dummyBcrypt(cost int) []byte {
	return []byte(fmt.Sprintf("$2a$%02d$%s", cost, strings.Repeat("k", bcryptLen-7)))
}
