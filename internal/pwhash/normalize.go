package pwhash

import "golang.org/x/text/unicode/norm"

// Normalize returns the NFKC form of pw. NIST SP 800-63B asks verifiers to
// apply NFKC (or NFKD) so that, for example, the "ﬁ" ligature and "fi", or
// full-width and ASCII digits, are the same password whichever keyboard or
// input method produced them. Hash, Verify and Policy.Check call it
// themselves; callers only need it to count characters the same way.
func Normalize(pw string) string {
	return norm.NFKC.String(pw)
}
