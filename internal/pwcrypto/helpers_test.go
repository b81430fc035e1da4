package pwcrypto_test

import (
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/internal/pwcrypto"
)

// The fixed key pair under testdata/ is the one the Node vectors in
// testdata/vectors.json were made with (by a throwaway script running
// Node's crypto, sm-crypto and JSEncrypt; see vectors.json "generator").

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fixedKeys(tb testing.TB) *pwcrypto.Keys {
	tb.Helper()
	k, err := pwcrypto.LoadKeys(readTestdata(tb, "rsa_private.pem"), readTestdata(tb, "sm2_private.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// freshKeys is generated once per test binary: RSA generation is slow
// under -race, and every test only needs "some other key pair".
var freshKeys = sync.OnceValues(func() (*pwcrypto.Keys, error) {
	r, err := pwcrypto.GenerateRSAKey()
	if err != nil {
		return nil, err
	}
	s, err := pwcrypto.GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	return pwcrypto.LoadKeys(r, s)
})

func mustFreshKeys(tb testing.TB) *pwcrypto.Keys {
	tb.Helper()
	k, err := freshKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

type vector struct {
	Name       string `json:"name"`
	Tool       string `json:"tool"`
	Password   string `json:"password"`
	Ciphertext string `json:"ciphertext"`
}

type vectorFile struct {
	Generator       string   `json:"generator"`
	RSAPublicKeyPEM string   `json:"rsaPublicKeyPEM"`
	SM2PublicKeyHex string   `json:"sm2PublicKeyHex"`
	RSA             []vector `json:"rsa"`
	SM2             []vector `json:"sm2"`
}

func readVectors(tb testing.TB) vectorFile {
	tb.Helper()
	var vf vectorFile
	if err := json.Unmarshal(readTestdata(tb, "vectors.json"), &vf); err != nil {
		tb.Fatal(err)
	}
	if len(vf.RSA) == 0 || len(vf.SM2) == 0 {
		tb.Fatal("vectors.json has no vectors")
	}
	return vf
}

func vectorNamed(tb testing.TB, vs []vector, name, tool string) vector {
	tb.Helper()
	for _, v := range vs {
		if v.Name == name && v.Tool == tool {
			return v
		}
	}
	tb.Fatalf("no vector %s/%s", tool, name)
	return vector{}
}
