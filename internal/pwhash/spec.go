// Package pwhash hashes and verifies passwords and enforces the password
// policy.
//
// Every hash computation runs inside a bounded pool (see Hasher) because a
// single argon2id hash at the default parameters allocates 19 MiB: without
// the bound, a burst of sign-ins would exhaust memory instead of queueing.
//
// Passwords are NFKC-normalised before hashing and before length checks
// (NIST SP 800-63B §5.1.1.2) so that the same password typed on different
// keyboards or input methods verifies.
package pwhash

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind names a hashing algorithm.
type Kind string

// The supported kinds. Only these two: argon2id is the current OWASP
// recommendation, bcrypt is offered for deployments that must interoperate
// with systems that only know bcrypt.
const (
	Argon2id Kind = "argon2id"
	Bcrypt   Kind = "bcrypt"
)

// Limits on parameters. The upper bounds exist because the same checks guard
// hashes read back from the database: an absurd m or t in a stored (perhaps
// imported) hash must be refused, not run until the process is killed.
const (
	minBcryptCost  = 4       // bcrypt's own minimum
	maxBcryptCost  = 31      // bcrypt's own maximum
	maxArgonMemKiB = 4 << 20 // 4 GiB
	maxArgonTime   = 100
	maxArgonLanes  = 255 // golang.org/x/crypto/argon2 takes a uint8
)

// DefaultSpecString is the value of KEYHAVEN_PASSWORD_HASH when it is unset:
// OWASP's minimum recommended argon2id parameters (19 MiB, 2 passes, 1 lane).
const DefaultSpecString = "argon2id:m=19456,t=2,p=1"

// Spec selects the algorithm and its cost parameters for new hashes. It is
// parsed from the KEYHAVEN_PASSWORD_HASH setting; the zero Spec means
// DefaultSpec. Specs are comparable with ==.
type Spec struct {
	Kind Kind
	// Memory is argon2id's m, in KiB.
	Memory uint32
	// Time is argon2id's t, the number of passes over memory.
	Time uint32
	// Threads is argon2id's p, the number of lanes.
	Threads uint8
	// Cost is bcrypt's log2 work factor.
	Cost int
}

// DefaultSpec returns the spec used when KEYHAVEN_PASSWORD_HASH is unset. It
// is a function rather than a variable so that nobody can change the default
// for the whole process by assignment.
func DefaultSpec() Spec {
	return Spec{Kind: Argon2id, Memory: 19456, Time: 2, Threads: 1}
}

// ParseSpec parses "argon2id:m=<KiB>,t=<passes>,p=<lanes>" or
// "bcrypt:cost=<4..31>". Every parameter of the chosen kind must be given;
// the error names the offending part so an operator can fix the setting.
func ParseSpec(s string) (Spec, error) {
	spec, err := parseSpec(strings.TrimSpace(s))
	if err != nil {
		return Spec{}, fmt.Errorf("invalid password hash spec %q: %w", s, err)
	}
	return spec, nil
}

func parseSpec(s string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("empty; want e.g. %q or \"bcrypt:cost=12\"", DefaultSpecString)
	}
	kind, params, ok := strings.Cut(s, ":")
	if !ok {
		return Spec{}, fmt.Errorf("missing ':' after the algorithm name; want e.g. %q", DefaultSpecString)
	}
	switch Kind(kind) {
	case Argon2id:
		v, err := parseParams(params, "argon2id", "m", "t", "p")
		if err != nil {
			return Spec{}, err
		}
		spec := Spec{Kind: Argon2id}
		if spec.Memory, err = paramUint32("argon2id", "m", v["m"]); err != nil {
			return Spec{}, err
		}
		if spec.Time, err = paramUint32("argon2id", "t", v["t"]); err != nil {
			return Spec{}, err
		}
		p, err := paramUint32("argon2id", "p", v["p"])
		if err != nil {
			return Spec{}, err
		}
		if p > maxArgonLanes {
			return Spec{}, fmt.Errorf("argon2id: p must be at most %d (got %d)", maxArgonLanes, p)
		}
		spec.Threads = uint8(p)
		return spec, spec.validate()
	case Bcrypt:
		v, err := parseParams(params, "bcrypt", "cost")
		if err != nil {
			return Spec{}, err
		}
		cost, err := strconv.Atoi(v["cost"])
		if err != nil {
			return Spec{}, fmt.Errorf("bcrypt: cost must be a whole number (got %q)", v["cost"])
		}
		spec := Spec{Kind: Bcrypt, Cost: cost}
		return spec, spec.validate()
	default:
		return Spec{}, fmt.Errorf("unknown algorithm %q; want %q or %q", kind, Argon2id, Bcrypt)
	}
}

// parseParams splits "k=v,k=v" and insists on exactly the keys in want, in
// any order, each once. It is shared by ParseSpec and the PHC decoder.
func parseParams(s, kind string, want ...string) (map[string]string, error) {
	got := make(map[string]string, len(want))
	if s != "" {
		for _, kv := range strings.Split(s, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			v = strings.TrimSpace(v)
			if !ok || k == "" {
				return nil, fmt.Errorf("%s: parameter %q is not of the form name=value", kind, kv)
			}
			known := false
			for _, w := range want {
				known = known || k == w
			}
			if !known {
				return nil, fmt.Errorf("%s: unknown parameter %q; want %s", kind, k, strings.Join(want, ", "))
			}
			if _, dup := got[k]; dup {
				return nil, fmt.Errorf("%s: parameter %s given twice", kind, k)
			}
			got[k] = v
		}
	}
	for _, w := range want {
		if _, ok := got[w]; !ok {
			return nil, fmt.Errorf("%s: missing parameter %s", kind, w)
		}
	}
	return got, nil
}

func paramUint32(kind, name, v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %s must be a whole number below 2^32 (got %q)", kind, name, v)
	}
	return uint32(n), nil
}

// validate checks the ranges; it is also applied to parameters decoded from
// stored hashes.
func (s Spec) validate() error {
	switch s.Kind {
	case Argon2id:
		switch {
		case s.Threads < 1:
			return fmt.Errorf("argon2id: p must be at least 1")
		case s.Time < 1:
			return fmt.Errorf("argon2id: t must be at least 1")
		case s.Time > maxArgonTime:
			return fmt.Errorf("argon2id: t must be at most %d (got %d)", maxArgonTime, s.Time)
		case uint64(s.Memory) < 8*uint64(s.Threads):
			// RFC 9106 §3.1: each lane needs at least 8 blocks of 1 KiB.
			return fmt.Errorf("argon2id: m must be at least 8*p (got m=%d, p=%d)", s.Memory, s.Threads)
		case s.Memory > maxArgonMemKiB:
			return fmt.Errorf("argon2id: m must be at most %d KiB (4 GiB) (got %d)", maxArgonMemKiB, s.Memory)
		}
		if s.Cost != 0 {
			return fmt.Errorf("argon2id: cost is a bcrypt parameter")
		}
	case Bcrypt:
		if s.Cost < minBcryptCost || s.Cost > maxBcryptCost {
			return fmt.Errorf("bcrypt: cost must be between %d and %d (got %d)", minBcryptCost, maxBcryptCost, s.Cost)
		}
		if s.Memory != 0 || s.Time != 0 || s.Threads != 0 {
			return fmt.Errorf("bcrypt: m, t and p are argon2id parameters")
		}
	default:
		return fmt.Errorf("unknown algorithm %q; want %q or %q", s.Kind, Argon2id, Bcrypt)
	}
	return nil
}

// String formats the spec in the syntax ParseSpec accepts, so that it can
// be logged and round-tripped.
func (s Spec) String() string {
	switch s.Kind {
	case Argon2id:
		return fmt.Sprintf("argon2id:m=%d,t=%d,p=%d", s.Memory, s.Time, s.Threads)
	case Bcrypt:
		return fmt.Sprintf("bcrypt:cost=%d", s.Cost)
	case "":
		if s == (Spec{}) {
			return DefaultSpec().String()
		}
	}
	return fmt.Sprintf("invalid(%q)", string(s.Kind))
}
