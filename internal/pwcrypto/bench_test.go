package pwcrypto_test

import (
	"testing"
)

// The benchmarks decrypt real Node ciphertexts with the fixed keys: one
// RSA-2048 private operation, or one SM2 scalar multiplication plus SM3, per
// login. Run with -benchmem.

func BenchmarkDecryptRSA(b *testing.B) {
	k := fixedKeys(b)
	v := readVectors(b).RSA[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt("rsa", v.Ciphertext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptSM2(b *testing.B) {
	k := fixedKeys(b)
	v := readVectors(b).SM2[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt("sm2", v.Ciphertext); err != nil {
			b.Fatal(err)
		}
	}
}
