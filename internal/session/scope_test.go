package session

import (
	"errors"
	"testing"
)

func TestNarrowNeverWidens(t *testing.T) {
	for _, c := range []struct {
		granted, requested, want string
		err                      error
	}{
		{"openid profile email", "", "openid profile email", nil},
		{"", "", DefaultScope, nil},
		{"openid profile email", "openid  email", "openid email", nil},
		{"openid profile", "openid profile phone", "", ErrInvalidScope},
		{"openid", "offline_access", "", ErrInvalidScope},
	} {
		got, err := narrow(c.granted, c.requested)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("narrow(%q, %q) = %q, %v; want %q, %v", c.granted, c.requested, got, err, c.want, c.err)
		}
	}
}
