package pwcrypto

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
)

// The values a client may send as passwordEncryptType.
const (
	TypeNone = "none"
	TypeRSA  = "rsa"
	TypeSM2  = "sm2"
)

// ErrDecrypt is the only error Decrypt returns for a password it cannot
// recover, whatever went wrong: telling bad base64 from bad padding from a
// bad hash would hand an attacker a padding oracle.
var ErrDecrypt = errors.New("password could not be decrypted")

// ErrUnknownType is returned for a passwordEncryptType other than "",
// "none", "rsa" and "sm2". It reveals nothing secret, so unlike ErrDecrypt
// it may be reported to the client as a plain bad request.
var ErrUnknownType = errors.New("unknown password encryption type")

const (
	// maxValueLen bounds the encoded ciphertext we look at, so a huge field
	// costs no decoding work. 8 KiB covers RSA keys far beyond 4096 bits and
	// SM2 passwords of about 4000 bytes.
	maxValueLen = 8 << 10

	// sm2CoordLen is the byte length of one SM2 field element.
	sm2CoordLen = 32

	// sm2Prefix is what GenAuth's JS SDK puts before sm-crypto's output.
	sm2Prefix = "sm2:"
)

// sm2Opts spells out the layout we expect rather than relying on the
// library's default: plain (not ASN.1) encoding, C1‖C3‖C2.
var sm2Opts = sm2.NewPlainDecrypterOpts(sm2.C1C3C2)

// Decrypt returns the password a client sent with the given
// passwordEncryptType. Any other type returns ErrUnknownType.
//
//   - "" and "none": value itself.
//   - "rsa": base64 of the PKCS#1 v1.5 ciphertext; '=' padding optional,
//     surrounding whitespace ignored, and a ciphertext shorter than the
//     modulus (old JSEncrypt dropped leading zero bytes) left-padded.
//   - "sm2": hex (either case) of C1‖C3‖C2, C1's leading 04 optional, with
//     or without a "sm2:" prefix, surrounding whitespace ignored.
//
// Every failure to recover a password returns exactly ErrDecrypt, with no
// detail. So does a decrypted plaintext that is empty or not valid UTF-8,
// and a "none" value that is not valid UTF-8, so a nil error always comes
// with a valid UTF-8 string. (JSEncrypt sends characters outside the BMP,
// such as emoji, as CESU-8 surrogate pairs; those are rewritten to UTF-8
// first.) Callers must answer ErrDecrypt exactly as they answer a wrong
// password, in content and in timing (run the same dummy password-hash
// comparison), or the difference is a Bleichenbacher oracle against the RSA
// key.
//
// Decrypt is safe for concurrent use.
func (k *Keys) Decrypt(encryptType, value string) (string, error) {
	switch encryptType {
	case "", TypeNone:
		if !utf8.ValidString(value) {
			return "", ErrDecrypt
		}
		return value, nil
	case TypeRSA:
		return k.decryptRSA(value)
	case TypeSM2:
		return k.decryptSM2(value)
	default:
		return "", ErrUnknownType
	}
}

// decryptRSA undoes base64(RSAES-PKCS1-v1_5(password)).
func (k *Keys) decryptRSA(value string) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > maxValueLen {
		return "", ErrDecrypt
	}
	// Padding is optional on the wire; at most two '=' are ever valid.
	unpadded := strings.TrimRight(value, "=")
	if len(value)-len(unpadded) > 2 {
		return "", ErrDecrypt
	}
	ct, err := base64.RawStdEncoding.DecodeString(unpadded)
	if err != nil {
		return "", ErrDecrypt
	}
	size := k.rsa.Size()
	if len(ct) == 0 || len(ct) > size {
		return "", ErrDecrypt
	}
	if len(ct) < size {
		// JSEncrypt before 3.0 printed the ciphertext integer without its
		// leading zero bytes, so about one ciphertext in 256 is short. The
		// integer is the same once left-padded; the length is public.
		// crypto/rsa happens to accept short input today, but does not
		// document it, so we do not rely on it.
		padded := make([]byte, size)
		copy(padded[size-len(ct):], ct)
		ct = padded
	}
	// DecryptPKCS1v15 is deprecated because v1.5 encryption invites padding
	// oracles; we need it because JSEncrypt and Node's RSA_PKCS1_PADDING,
	// which GenAuth clients use, speak nothing else. Its padding check is
	// constant time, and every failure here is the same ErrDecrypt.
	pt, err := rsa.DecryptPKCS1v15(nil, k.rsa, ct)
	if err != nil {
		return "", ErrDecrypt
	}
	return password(pt)
}

// decryptSM2 undoes hex(C1‖C3‖C2), with or without C1's 04 byte and the
// "sm2:" prefix.
func (k *Keys) decryptSM2(value string) (string, error) {
	value = strings.TrimPrefix(strings.TrimSpace(value), sm2Prefix)
	if value == "" || len(value) > maxValueLen {
		return "", ErrDecrypt
	}
	raw, err := hex.DecodeString(value) // accepts either case
	if err != nil {
		return "", ErrDecrypt
	}
	pt, err := k.sm2.Decrypt(nil, withPointPrefix(raw), sm2Opts)
	if err != nil {
		return "", ErrDecrypt
	}
	return password(pt)
}

// withPointPrefix returns the ciphertext with C1 in SEC 1 uncompressed form
// (04‖x‖y), which the SM2 library requires. sm-crypto omits the 04 while
// other SM2 libraries keep it, and a length check cannot tell them apart
// (the message length is unknown), so we look at the point: an x-coordinate
// that merely starts with 0x04 (one ciphertext in 256) leaves a 65-byte
// prefix that is on the curve only with negligible probability. All of this
// is public data.
func withPointPrefix(raw []byte) []byte {
	const pointLen = 1 + 2*sm2CoordLen
	if len(raw) >= pointLen && raw[0] == 0x04 {
		if _, err := ecdh.P256().NewPublicKey(raw[:pointLen]); err == nil {
			return raw
		}
	}
	ct := make([]byte, 1+len(raw))
	ct[0] = 0x04
	copy(ct[1:], raw)
	return ct
}

// password turns a decrypted plaintext into the password string, refusing
// what no honest client sends: nothing at all, or bytes that are not text.
// The plaintext buffer is wiped; the returned string cannot be.
func password(pt []byte) (string, error) {
	defer clear(pt)
	if len(pt) == 0 {
		return "", ErrDecrypt
	}
	if utf8.Valid(pt) {
		return string(pt), nil
	}
	fixed, ok := fromCESU8(pt)
	defer clear(fixed)
	if !ok {
		return "", ErrDecrypt
	}
	return string(fixed), nil
}

// fromCESU8 rewrites UTF-16 surrogate pairs encoded as two 3-byte sequences
// (CESU-8) into 4-byte UTF-8. JSEncrypt encodes each UTF-16 code unit on its
// own, so a password with a character outside the BMP (an emoji) arrives
// that way; without this, such users could log in through one client and
// not another. Lone surrogates and any other invalid byte still fail.
func fromCESU8(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		// High surrogate D800–DBFF is ED A0–AF 80–BF; low DC00–DFFF is ED B0–BF 80–BF.
		if i+6 <= len(b) &&
			b[i] == 0xED && b[i+1]&0xF0 == 0xA0 && b[i+2]&0xC0 == 0x80 &&
			b[i+3] == 0xED && b[i+4]&0xF0 == 0xB0 && b[i+5]&0xC0 == 0x80 {
			hi := 0xD800 | rune(b[i+1]&0x0F)<<6 | rune(b[i+2]&0x3F)
			lo := 0xDC00 | rune(b[i+4]&0x0F)<<6 | rune(b[i+5]&0x3F)
			out = utf8.AppendRune(out, utf16.DecodeRune(hi, lo))
			i += 6
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out, utf8.Valid(out)
}
