package session_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/session"
	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/token"
)

// Token checks are on every authenticated request: the signature and claims
// (Verify), then the session row (Authenticate = Verify + one store read).
// Start is sign-in's share: one session write and two signatures (ES256
// access token, RS256 id token). Sign and Verify run once per algorithm.
//
//	go test -run '^$' -bench . -benchmem ./internal/session/

func newBenchService(b *testing.B) (*session.Service, *token.Signer) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	rsaKey, err := token.GenerateKey(token.RS256)
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := token.GenerateKey(token.ES256)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := token.NewSigner(rsaKey, ecKey, "http://127.0.0.1:8080")
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	t := now()
	if err := st.CreateUser(context.Background(), store.User{ID: "user-1", Email: "bench@example.com", EmailKey: "bench@example.com",
		Status: "Activated", CreatedAt: t, UpdatedAt: t}); err != nil {
		b.Fatal(err)
	}
	return session.NewService(st, signer, token.ES256, []byte("bench pepper 0123456789abcdef"), time.Hour, 24*time.Hour, now), signer
}

func BenchmarkToken(b *testing.B) {
	svc, signer := newBenchService(b)
	ctx := context.Background()
	ts, err := svc.Start(ctx, "user-1", 0, "app-1", "", session.Claims{Email: "bench@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	bearer := "Bearer " + ts.AccessToken

	for _, alg := range []token.Alg{token.ES256, token.RS256} {
		raw, err := signer.Sign(alg, session.AccessClaims{Common: signer.NewCommon("user-1", "app-1", session.NewID(), time.Now(), time.Hour),
			SessionID: "s", AppID: "app-1"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Verify/"+string(alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c session.AccessClaims
				if err := signer.Verify(raw, time.Now(), &c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, bearer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Authenticate/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // 16 clients on 2 cores, as in the get-profile target
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Authenticate(ctx, bearer); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, alg := range []token.Alg{token.ES256, token.RS256} {
		b.Run("Sign/"+string(alg), func(b *testing.B) {
			b.ReportAllocs()
			now := time.Now()
			for b.Loop() {
				if _, err := signer.Sign(alg, session.AccessClaims{Common: signer.NewCommon("user-1", "app-1", session.NewID(), now, time.Hour),
					SessionID: "s", AppID: "app-1"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Start", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Start(ctx, "user-1", 0, "app-1", "", session.Claims{Email: "bench@example.com"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
