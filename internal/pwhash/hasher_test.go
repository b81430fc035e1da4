package pwhash_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/keyhaven/keyhaven/internal/pwhash"
)

// Cheap specs keep the tests (and especially -race) fast; the default spec is
// used only where its exact parameters matter.
const (
	cheapArgon  = "argon2id:m=64,t=1,p=1"
	cheapBcrypt = "bcrypt:cost=4"
)

func mustSpec(t testing.TB, s string) pwhash.Spec {
	t.Helper()
	spec, err := pwhash.ParseSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func newHasher(t testing.TB, spec string) *pwhash.Hasher {
	t.Helper()
	return pwhash.NewHasher(mustSpec(t, spec), 2, nil)
}

func mustHash(t testing.TB, h *pwhash.Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash(%q): %v", pw, err)
	}
	return enc
}

func verify(t testing.TB, h *pwhash.Hasher, pw, enc string) (ok, rehash bool) {
	t.Helper()
	ok, rehash, err := h.Verify(context.Background(), pw, enc)
	if err != nil {
		t.Fatalf("Verify(%q, %q): %v", pw, enc, err)
	}
	return ok, rehash
}

var (
	argonRE  = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	khBcrRE  = regexp.MustCompile(`^\$kh-bcrypt-sha256\$2a\$(\d\d)\$[./A-Za-z0-9]{53}$`)
	formatRE = map[pwhash.Kind]*regexp.Regexp{pwhash.Argon2id: argonRE, pwhash.Bcrypt: khBcrRE}
)

func TestHashVerifyRoundTrip(t *testing.T) {
	passwords := []string{
		"correct horse battery staple",
		"x",
		"",
		"我的密码很安全的",
		"emoji 🔑🗝️ and NUL \x00 inside",
		strings.Repeat("long passphrase ", 20), // 320 bytes, beyond bcrypt's 72
	}
	for _, spec := range []string{cheapArgon, cheapBcrypt} {
		h := newHasher(t, spec)
		for _, pw := range passwords {
			t.Run(fmt.Sprintf("%s/%.20q", spec, pw), func(t *testing.T) {
				enc := mustHash(t, h, pw)
				if !formatRE[h.Spec().Kind].MatchString(enc) {
					t.Fatalf("Hash = %q, not in the expected format", enc)
				}
				if ok, rehash := verify(t, h, pw, enc); !ok || rehash {
					t.Fatalf("Verify(right password) = ok %v, rehash %v; want true, false", ok, rehash)
				}
				if ok, rehash := verify(t, h, pw+"!", enc); ok || rehash {
					t.Fatalf("Verify(wrong password) = ok %v, rehash %v; want false, false", ok, rehash)
				}
				if again := mustHash(t, h, pw); again == enc {
					t.Fatalf("two hashes of the same password are equal (%q): salt not random", enc)
				}
			})
		}
	}
}

func TestDefaultSpecFormat(t *testing.T) {
	h := pwhash.NewHasher(pwhash.Spec{}, 1, nil) // zero Spec means the default
	if h.Spec() != pwhash.DefaultSpec() {
		t.Fatalf("NewHasher(Spec{}).Spec() = %+v, want DefaultSpec", h.Spec())
	}
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") || !argonRE.MatchString(enc) {
		t.Fatalf("Hash = %q, want a PHC argon2id string with the default parameters, 16-byte salt and 32-byte key", enc)
	}
	if ok, rehash := verify(t, h, "correct horse battery staple", enc); !ok || rehash {
		t.Fatalf("Verify = %v, %v; want true, false", ok, rehash)
	}
}

// Hashes made by other implementations verify: the example from the argon2
// reference implementation's README, and a crypt_blowfish test vector.
func TestVerifyReferenceVectors(t *testing.T) {
	h := newHasher(t, cheapArgon)
	tests := []struct{ pw, enc string }{
		{"password", "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"},
		{"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	}
	for _, tt := range tests {
		if ok, rehash := verify(t, h, tt.pw, tt.enc); !ok || !rehash {
			t.Errorf("Verify(%q, %q) = %v, %v; want true, true", tt.pw, tt.enc, ok, rehash)
		}
		if ok, _ := verify(t, h, tt.pw+"x", tt.enc); ok {
			t.Errorf("Verify(wrong, %q) = true", tt.enc)
		}
	}
}

func TestNFKC(t *testing.T) {
	tests := []struct{ set, typed string }{
		{"ﬁnest password", "finest password"}, // U+FB01 ligature
		{"finest password", "ﬁnest password"},
		{"１２３４５６７８９０ＡＢＣ", "1234567890ABC"},            // full-width digits and letters
		{"caf\u00e9 au lait!", "cafe\u0301 au lait!"}, // precomposed vs combining accent
		{"\u2163 kings", "IV kings"},                  // Roman numeral four
		{"ﾊﾟｽﾜｰﾄﾞ", "パスワード"},                          // half-width katakana
	}
	for _, spec := range []string{cheapArgon, cheapBcrypt} {
		h := newHasher(t, spec)
		for _, tt := range tests {
			t.Run(spec+"/"+tt.typed, func(t *testing.T) {
				if pwhash.Normalize(tt.set) != pwhash.Normalize(tt.typed) {
					t.Fatalf("Normalize(%q) = %q != Normalize(%q) = %q", tt.set, pwhash.Normalize(tt.set), tt.typed, pwhash.Normalize(tt.typed))
				}
				enc := mustHash(t, h, tt.set)
				if ok, _ := verify(t, h, tt.typed, enc); !ok {
					t.Fatalf("password set as %q does not verify when typed as %q", tt.set, tt.typed)
				}
			})
		}
	}
}

// Pins the documented stored format, so that a change to it (which would lock
// every bcrypt user out) cannot go unnoticed:
// "$kh-bcrypt-sha256" + bcrypt(base64std(HMAC-SHA256("keyhaven-bcrypt-v1", NFKC(pw)))).
func TestBcryptPrehashFormat(t *testing.T) {
	prehash := func(pw string) []byte {
		m := hmac.New(sha256.New, []byte("keyhaven-bcrypt-v1"))
		m.Write([]byte(pw))
		return []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	h := newHasher(t, cheapBcrypt)
	const pw = "ﬁsh and chips" // stored under its NFKC form "fish and chips"

	enc := mustHash(t, h, pw)
	inner, ok := strings.CutPrefix(enc, "$kh-bcrypt-sha256")
	if !ok {
		t.Fatalf("Hash = %q, want the $kh-bcrypt-sha256 prefix", enc)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(inner), prehash("fish and chips")); err != nil {
		t.Fatalf("inner bcrypt string is not over the documented pre-hash: %v", err)
	}

	made, err := bcrypt.GenerateFromPassword(prehash("fish and chips"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash := verify(t, h, pw, "$kh-bcrypt-sha256"+string(made)); !ok || rehash {
		t.Fatalf("Verify(independently built hash) = %v, %v; want true, false", ok, rehash)
	}
}

func TestBcryptLongPasswords(t *testing.T) {
	h := newHasher(t, cheapBcrypt)
	// Two 100-byte passwords that differ only after byte 72.
	prefix := strings.Repeat("0123456789", 7) + "ab" // 72 bytes
	pw1 := prefix + strings.Repeat("A", 28)
	pw2 := prefix + strings.Repeat("B", 28)
	if len(pw1) != 100 || pw1[:72] != pw2[:72] || pw1 == pw2 {
		t.Fatal("bad test setup")
	}

	enc := mustHash(t, h, pw1)
	if ok, _ := verify(t, h, pw1, enc); !ok {
		t.Fatal("a 100-byte password does not verify against its own hash")
	}
	if ok, _ := verify(t, h, pw2, enc); ok {
		t.Fatal("a different password sharing the first 72 bytes verifies: bcrypt input was truncated")
	}
	if ok, _ := verify(t, h, prefix, enc); ok {
		t.Fatal("the first 72 bytes alone verify")
	}

	// A plain bcrypt hash (as imported) of exactly the first 72 bytes: bcrypt
	// itself would accept any longer password with that prefix; we must not.
	legacy, err := bcrypt.GenerateFromPassword([]byte(prefix), 4)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash := verify(t, h, prefix, string(legacy)); !ok || !rehash {
		t.Fatalf("Verify(72-byte password, plain bcrypt) = %v, %v; want true, true", ok, rehash)
	}
	if bcrypt.CompareHashAndPassword(legacy, []byte(pw1)) != nil {
		t.Fatal("test premise: x/crypto/bcrypt should match on the first 72 bytes")
	}
	if ok, _ := verify(t, h, pw1, string(legacy)); ok {
		t.Fatal("a 100-byte password matched a plain bcrypt hash of its first 72 bytes")
	}
}

func TestLegacyBcrypt(t *testing.T) {
	legacy, err := bcrypt.GenerateFromPassword([]byte("hunter2!"), 5)
	if err != nil {
		t.Fatal(err)
	}
	// Other systems write $2b$ and $2y$ for the same algorithm.
	variants := []string{string(legacy), "$2b$" + string(legacy[4:]), "$2y$" + string(legacy[4:])}
	for _, spec := range []string{cheapArgon, cheapBcrypt, "bcrypt:cost=5"} {
		h := newHasher(t, spec)
		for _, enc := range variants {
			if ok, rehash := verify(t, h, "hunter2!", enc); !ok || !rehash {
				t.Errorf("%s: Verify(plain %.4s) = %v, %v; want true, true", spec, enc, ok, rehash)
			}
			if ok, rehash := verify(t, h, "hunter2?", enc); ok || rehash {
				t.Errorf("%s: Verify(wrong, plain %.4s) = %v, %v; want false, false", spec, enc, ok, rehash)
			}
		}
	}

	// A system that did not normalise hashed the ligature as typed: the
	// same keystrokes must still verify, and the hash be upgraded.
	raw, err := bcrypt.GenerateFromPassword([]byte("ﬁsh and chips"), 4)
	if err != nil {
		t.Fatal(err)
	}
	h := newHasher(t, cheapArgon)
	if ok, rehash := verify(t, h, "ﬁsh and chips", string(raw)); !ok || !rehash {
		t.Fatalf("Verify(unnormalised legacy) = %v, %v; want true, true", ok, rehash)
	}
}

func TestRehash(t *testing.T) {
	tests := []struct {
		made, now string
		rehash    bool
	}{
		{cheapArgon, cheapArgon, false},
		{cheapArgon, "argon2id:m=128,t=1,p=1", true},
		{cheapArgon, "argon2id:m=64,t=2,p=1", true},
		{cheapArgon, "argon2id:m=64,t=1,p=2", true},
		{"argon2id:m=128,t=1,p=1", cheapArgon, true}, // lowering is a change too
		{cheapArgon, cheapBcrypt, true},
		{cheapBcrypt, cheapBcrypt, false},
		{cheapBcrypt, "bcrypt:cost=5", true},
		{"bcrypt:cost=5", cheapBcrypt, true},
		{cheapBcrypt, cheapArgon, true},
	}
	for _, tt := range tests {
		t.Run(tt.made+"→"+tt.now, func(t *testing.T) {
			enc := mustHash(t, newHasher(t, tt.made), "tomato soup 42")
			ok, rehash := verify(t, newHasher(t, tt.now), "tomato soup 42", enc)
			if !ok || rehash != tt.rehash {
				t.Fatalf("Verify = %v, rehash %v; want true, rehash %v", ok, rehash, tt.rehash)
			}
		})
	}

	// Same m/t/p but salt or key length other than 16/32 bytes: not what Hash
	// makes today, so rehash.
	h := newHasher(t, cheapArgon)
	for _, sizes := range [][2]int{{8, 32}, {16, 16}, {32, 64}} {
		salt := make([]byte, sizes[0])
		key := argon2.IDKey([]byte("pw"), salt, 1, 64, 1, uint32(sizes[1]))
		enc := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
		if ok, rehash := verify(t, h, "pw", enc); !ok || !rehash {
			t.Errorf("salt %d, key %d: Verify = %v, %v; want true, true", sizes[0], sizes[1], ok, rehash)
		}
	}
}

// A stored hash altered in its last character no longer verifies the right
// password (the whole key is compared, not a prefix).
func TestVerifyTampered(t *testing.T) {
	for _, spec := range []string{cheapArgon, cheapBcrypt} {
		h := newHasher(t, spec)
		enc := mustHash(t, h, "pw")
		for _, c := range []byte("AQgw") { // differ in high and low bits of the last base64 digit
			if enc[len(enc)-1] == c {
				continue
			}
			tampered := enc[:len(enc)-1] + string(c)
			ok, _, err := h.Verify(context.Background(), "pw", tampered)
			if err != nil && !errors.Is(err, pwhash.ErrMalformedHash) {
				t.Fatalf("Verify(%q): %v", tampered, err)
			}
			if ok {
				t.Fatalf("%s: tampered hash %q verifies", spec, tampered)
			}
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newHasher(t, cheapArgon)
	good := mustHash(t, h, "pw")
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	salt, key := parts[4], parts[5]
	goodBcrypt := mustHash(t, newHasher(t, cheapBcrypt), "pw")
	plain := goodBcrypt[len("$kh-bcrypt-sha256"):]

	tests := []struct {
		name, enc string
		want      error
	}{
		{"empty", "", pwhash.ErrUnknownFormat},
		{"plaintext", "hunter2", pwhash.ErrUnknownFormat},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, pwhash.ErrUnknownFormat},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, pwhash.ErrUnknownFormat},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", pwhash.ErrUnknownFormat},
		{"2x bcrypt", "$2x$" + plain[4:], pwhash.ErrUnknownFormat},
		{"md5crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", pwhash.ErrUnknownFormat},
		{"argon2id prefix only", "$argon2id$", pwhash.ErrMalformedHash},
		{"argon2id missing key", "$argon2id$v=19$m=64,t=1,p=1$" + salt, pwhash.ErrMalformedHash},
		{"argon2id extra field", good + "$x", pwhash.ErrMalformedHash},
		{"argon2id no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id v=16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id missing p", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id p=0", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id m<8p", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id huge m", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id huge t", "$argon2id$v=19$m=64,t=4294967295,p=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id p=256", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id m not a number", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key, pwhash.ErrMalformedHash},
		{"argon2id bad salt base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key, pwhash.ErrMalformedHash},
		{"argon2id padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key, pwhash.ErrMalformedHash},
		{"argon2id short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key, pwhash.ErrMalformedHash},
		{"argon2id empty key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$", pwhash.ErrMalformedHash},
		{"argon2id short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:10], pwhash.ErrMalformedHash},
		{"bcrypt truncated", plain[:40], pwhash.ErrMalformedHash},
		{"bcrypt too long", plain + "x", pwhash.ErrMalformedHash},
		{"bcrypt bad cost", "$2a$1x$" + plain[7:], pwhash.ErrMalformedHash},
		{"bcrypt cost 99", "$2a$99$" + plain[7:], pwhash.ErrMalformedHash},
		{"bcrypt cost 03", "$2a$03$" + plain[7:], pwhash.ErrMalformedHash},
		{"bcrypt missing separator", "$2a$04x" + plain[7:], pwhash.ErrMalformedHash},
		{"bcrypt bad char", plain[:59] + "!", pwhash.ErrMalformedHash},
		{"kh-bcrypt empty", "$kh-bcrypt-sha256$", pwhash.ErrMalformedHash},
		{"kh-bcrypt truncated", goodBcrypt[:50], pwhash.ErrMalformedHash},
		{"kh-bcrypt wrapping argon2id", "$kh-bcrypt-sha256" + good, pwhash.ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "pw", tt.enc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q) error = %v, want %v", tt.enc, err, tt.want)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v with an error", tt.enc, ok, rehash)
			}
			if strings.Contains(err.Error(), tt.enc) && tt.enc != "" {
				t.Fatalf("error %q repeats the stored hash", err)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidSpec(t *testing.T) {
	for _, spec := range []pwhash.Spec{
		{Kind: "md5"},
		{Kind: pwhash.Argon2id, Memory: 4, Time: 1, Threads: 1},
		{Kind: pwhash.Bcrypt, Cost: 3},
		{Kind: pwhash.Bcrypt, Cost: 10, Memory: 64},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", spec)
				}
			}()
			pwhash.NewHasher(spec, 1, nil)
		}()
	}
}

// gateObserver holds every computation inside its slot until released, so a
// test can see how many run at once.
type gateObserver struct {
	started  chan struct{}
	release  chan struct{}
	openOnce sync.Once

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	done        int
}

// newGate returns a gate that is opened for good when the test ends, so that
// a broken bound makes the test fail instead of hang.
func newGate(t *testing.T) *gateObserver {
	o := &gateObserver{started: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(o.open)
	return o
}

// open lets every held and future computation through.
func (o *gateObserver) open() { o.openOnce.Do(func() { close(o.release) }) }

func (o *gateObserver) HashQueued(time.Duration) {
	o.mu.Lock()
	o.inFlight++
	o.maxInFlight = max(o.maxInFlight, o.inFlight)
	o.mu.Unlock()
	o.started <- struct{}{}
	<-o.release
}

func (o *gateObserver) HashDone(time.Duration) {
	o.mu.Lock()
	o.inFlight--
	o.done++
	o.mu.Unlock()
}

func (o *gateObserver) stats() (maxInFlight, done int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.maxInFlight, o.done
}

// waitStarted waits for n computations to start and checks that no more
// start within a short while.
func (o *gateObserver) waitStarted(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-o.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d computations started", i, n)
		}
	}
	select {
	case <-o.started:
		t.Fatalf("more than %d computations running at once", n)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestConcurrencyBound(t *testing.T) {
	for _, limit := range []int{1, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			gate := newGate(t)
			h := pwhash.NewHasher(mustSpec(t, cheapArgon), limit, gate)
			const callers = 5
			var wg sync.WaitGroup
			var failures atomic.Int32
			for i := 0; i < callers; i++ {
				wg.Go(func() {
					var err error
					switch i % 3 {
					case 0:
						_, err = h.Hash(context.Background(), "pw")
					case 1:
						_, _, err = h.Verify(context.Background(), "pw", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
					case 2:
						h.VerifyDummy(context.Background(), "pw")
					}
					if err != nil {
						failures.Add(1)
					}
				})
			}
			for left := callers; left > 0; left -= limit {
				gate.waitStarted(t, min(limit, left))
				for j := 0; j < min(limit, left); j++ {
					gate.release <- struct{}{}
				}
			}
			wg.Wait()
			maxInFlight, done := gate.stats()
			if maxInFlight != limit {
				t.Errorf("at most %d computations ran at once, want exactly %d", maxInFlight, limit)
			}
			if done != callers || failures.Load() != 0 {
				t.Errorf("%d computations done, %d failed; want %d, 0", done, failures.Load(), callers)
			}
		})
	}
}

func TestDefaultConcurrencyIsGOMAXPROCS(t *testing.T) {
	n := max(2, runtime.GOMAXPROCS(0))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	gate := newGate(t)
	h := pwhash.NewHasher(mustSpec(t, cheapArgon), 0, gate)
	var wg sync.WaitGroup
	for i := 0; i < n+1; i++ {
		wg.Go(func() { h.VerifyDummy(context.Background(), "pw") })
	}
	gate.waitStarted(t, n)
	gate.open()
	wg.Wait()
}

func TestCancelWhileQueued(t *testing.T) {
	gate := newGate(t)
	h := pwhash.NewHasher(mustSpec(t, cheapArgon), 1, gate)
	held := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "first")
		held <- err
	}()
	gate.waitStarted(t, 1) // the only slot is now taken

	enc := "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	calls := map[string]func(ctx context.Context) error{
		"Hash": func(ctx context.Context) error {
			_, err := h.Hash(ctx, "second")
			return err
		},
		"Verify": func(ctx context.Context) error {
			_, _, err := h.Verify(ctx, "second", enc)
			return err
		},
		"VerifyDummy": func(ctx context.Context) error {
			h.VerifyDummy(ctx, "second")
			return ctx.Err()
		},
	}
	for name, call := range calls {
		t.Run(name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- call(ctx) }()
			time.Sleep(20 * time.Millisecond) // let it queue
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("error = %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("call did not return after its context was cancelled")
			}
		})
		t.Run(name+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- call(ctx) }()
			select {
			case err := <-errc:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("error = %v, want context.DeadlineExceeded", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("call did not return after its deadline")
			}
		})
	}
	select {
	case <-gate.started:
		t.Fatal("a cancelled call started computing")
	default:
	}

	gate.open()
	if err := <-held; err != nil {
		t.Fatalf("the held Hash failed: %v", err)
	}
	// With a free slot, an already-cancelled context still refuses to start.
	// (Repeated: a select between a free slot and a done context would pick
	// either at random.)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ {
		if _, err := h.Hash(ctx, "third"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash(cancelled ctx) error = %v, want context.Canceled", err)
		}
	}
	if _, done := gate.stats(); done != 1 {
		t.Fatalf("%d computations ran, want 1", done)
	}
}

type countingObserver struct {
	queued, done atomic.Int32
	total        atomic.Int64
}

func (o *countingObserver) HashQueued(time.Duration) { o.queued.Add(1) }
func (o *countingObserver) HashDone(d time.Duration) { o.done.Add(1); o.total.Add(int64(d)) }

// VerifyDummy must cost what a Verify against a current-spec hash costs, or
// response times would tell unknown accounts from wrong passwords.
func TestVerifyDummyCost(t *testing.T) {
	for _, spec := range []string{"argon2id:m=8192,t=1,p=1", "bcrypt:cost=7"} {
		t.Run(spec, func(t *testing.T) {
			obs := &countingObserver{}
			h := pwhash.NewHasher(mustSpec(t, spec), 1, obs)
			enc := mustHash(t, h, "the real password")
			// Interleaved, best of 5, to be robust against a busy machine.
			timed := func(f func()) time.Duration {
				before := obs.total.Load()
				f()
				return time.Duration(obs.total.Load() - before)
			}
			real, dummy := time.Duration(1<<62), time.Duration(1<<62)
			for i := 0; i < 5; i++ {
				real = min(real, timed(func() { verify(t, h, "a wrong password", enc) }))
				before := obs.done.Load()
				dummy = min(dummy, timed(func() { h.VerifyDummy(context.Background(), "a wrong password") }))
				if n := obs.done.Load() - before; n != 1 {
					t.Fatalf("VerifyDummy ran %d computations through the pool, want 1", n)
				}
			}
			if dummy < real/3 || dummy > real*3 {
				t.Fatalf("VerifyDummy took %v, Verify %v: not the same cost", dummy, real)
			}
			t.Logf("Verify %v, VerifyDummy %v", real, dummy)
		})
	}
}
