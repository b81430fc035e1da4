package pwhash

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Observer receives timings of hash computations, for metrics. Its methods
// are called synchronously from the goroutine doing the work and must be
// safe for concurrent use and fast.
type Observer interface {
	// HashQueued is called when a computation obtains its slot, with the
	// time it waited for it. It is not called when the wait is abandoned
	// because the context ended.
	HashQueued(wait time.Duration)
	// HashDone is called when a computation finishes, with the time it took.
	HashDone(d time.Duration)
}

// Hasher hashes and verifies passwords under one Spec. At most
// maxConcurrent computations run at a time, whatever the number of callers:
// each argon2id computation allocates m KiB (19 MiB by default), so a burst
// of a thousand sign-ins must queue rather than allocate 19 GiB. A Hasher is
// safe for concurrent use.
type Hasher struct {
	spec  Spec
	slots chan struct{} // a counting semaphore: one token per running computation
	obs   Observer

	// Fixed inputs for VerifyDummy, so that it costs a Verify without
	// generating anything.
	dummySalt   []byte
	dummyKey    []byte
	dummyBcrypt []byte
}

// NewHasher returns a Hasher producing hashes under spec (the zero Spec means
// DefaultSpec). maxConcurrent <= 0 means runtime.GOMAXPROCS(0): hashing is
// CPU-bound, so running more at once only adds memory. obs may be nil.
//
// NewHasher panics if spec is invalid: specs come from ParseSpec or
// DefaultSpec, so an invalid one is a programming error.
func NewHasher(spec Spec, maxConcurrent int, obs Observer) *Hasher {
	if spec == (Spec{}) {
		spec = DefaultSpec()
	}
	if err := spec.validate(); err != nil {
		panic(fmt.Sprintf("pwhash.NewHasher: %v", err))
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{spec: spec, slots: make(chan struct{}, maxConcurrent), obs: obs}
	switch spec.Kind {
	case Argon2id:
		h.dummySalt = make([]byte, argonSaltLen)
		h.dummyKey = make([]byte, argonKeyLen)
	case Bcrypt:
		h.dummyBcrypt = dummyBcrypt(spec.Cost)
	}
	return h
}

// Spec returns the spec new hashes are made with.
func (h *Hasher) Spec() Spec { return h.spec }

// run executes f, which must be one hash computation, in a slot. It gives up
// with ctx.Err() if ctx ends before a slot frees up (or has already ended:
// no point starting 50 ms of work for a client that has gone); once started,
// f runs to completion.
func (h *Hasher) run(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	queued := time.Now()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	start := time.Now()
	if h.obs != nil {
		h.obs.HashQueued(start.Sub(queued))
	}
	f()
	if h.obs != nil {
		h.obs.HashDone(time.Since(start))
	}
	return nil
}

// Hash returns the encoded hash of the NFKC form of password under the
// Hasher's spec: a PHC string for argon2id, "$kh-bcrypt-sha256$2a$..." for
// bcrypt. It does not check the password policy; see Policy.Check.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	pw := []byte(Normalize(password))
	switch h.spec.Kind {
	case Argon2id:
		salt := make([]byte, argonSaltLen)
		if _, err := rand.Read(salt); err != nil {
			return "", fmt.Errorf("pwhash: reading salt: %w", err)
		}
		var key []byte
		if err := h.run(ctx, func() {
			key = argon2.IDKey(pw, salt, h.spec.Time, h.spec.Memory, h.spec.Threads, argonKeyLen)
		}); err != nil {
			return "", err
		}
		return encodeArgon2id(h.spec, salt, key), nil
	default: // Bcrypt; NewHasher accepts nothing else
		var out []byte
		var herr error
		if err := h.run(ctx, func() {
			out, herr = bcrypt.GenerateFromPassword(bcryptPrehash(pw), h.spec.Cost)
		}); err != nil {
			return "", err
		}
		if herr != nil {
			return "", fmt.Errorf("pwhash: bcrypt: %w", herr)
		}
		return khBcryptPrefix + string(out), nil
	}
}

// Verify reports whether password (as typed; it is NFKC-normalised here)
// matches encoded, and, if it does, whether encoded should be replaced by a
// fresh Hash because it was made with another algorithm or other parameters
// than the current spec. rehash is false whenever ok is false. A malformed
// or unknown encoded string is an error (ErrMalformedHash,
// ErrUnknownFormat), as is ctx ending while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, rehash bool, err error) {
	norm := Normalize(password)
	switch {
	case strings.HasPrefix(encoded, argonPrefix):
		a, err := decodeArgon2id(encoded)
		if err != nil {
			return false, false, err
		}
		if err := h.run(ctx, func() { ok = a.matches([]byte(norm)) }); err != nil {
			return false, false, err
		}
		return ok, ok && !a.current(h.spec), nil

	case strings.HasPrefix(encoded, khBcryptPrefix+"$"):
		inner := encoded[len(khBcryptPrefix):]
		cost, err := parseBcrypt(inner)
		if err != nil {
			return false, false, err
		}
		if err := h.run(ctx, func() {
			ok = bcrypt.CompareHashAndPassword([]byte(inner), bcryptPrehash([]byte(norm))) == nil
		}); err != nil {
			return false, false, err
		}
		return ok, ok && h.spec != (Spec{Kind: Bcrypt, Cost: cost}), nil

	case isPlainBcrypt(encoded):
		if _, err := parseBcrypt(encoded); err != nil {
			return false, false, err
		}
		if err := h.run(ctx, func() { ok = verifyPlainBcrypt(encoded, password, norm) }); err != nil {
			return false, false, err
		}
		// Plain bcrypt is never what Hash produces, so always upgrade.
		return ok, ok, nil

	default:
		return false, false, ErrUnknownFormat
	}
}

// verifyPlainBcrypt checks an imported bcrypt hash. Other systems did not
// normalise, so the password as typed is tried too when NFKC changed it (at
// most two computations; only for input that is not already NFKC). Inputs
// over 72 bytes cannot match: bcrypt would compare only their first 72
// bytes. If no candidate is eligible, one computation is still spent so
// that the response time does not reveal an account with an imported hash.
func verifyPlainBcrypt(encoded, typed, norm string) bool {
	hash := []byte(encoded)
	candidates := []string{norm}
	if typed != norm {
		candidates = append(candidates, typed)
	}
	tried := false
	for _, c := range candidates {
		if len(c) > bcryptMaxInput {
			continue
		}
		tried = true
		if bcrypt.CompareHashAndPassword(hash, []byte(c)) == nil {
			return true
		}
	}
	if !tried {
		_ = bcrypt.CompareHashAndPassword(hash, bcryptPrehash([]byte(norm)))
	}
	return false
}

// VerifyDummy spends the same CPU time and memory as a Verify against a
// hash made under the current spec, and always fails. Sign-in calls it for
// unknown accounts so that "no such account" costs, and takes, the same as
// "wrong password" and cannot be told apart by timing or by load.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	norm := []byte(Normalize(password))
	switch h.spec.Kind {
	case Argon2id:
		_ = h.run(ctx, func() {
			got := argon2.IDKey(norm, h.dummySalt, h.spec.Time, h.spec.Memory, h.spec.Threads, argonKeyLen)
			_ = subtle.ConstantTimeCompare(got, h.dummyKey)
		})
	default:
		_ = h.run(ctx, func() {
			_ = bcrypt.CompareHashAndPassword(h.dummyBcrypt, bcryptPrehash(norm))
		})
	}
}
