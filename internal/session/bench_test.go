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

// Token checks are on every authenticated request: the RS256 signature and
// claims (Verify), then the session row (Authenticate = Verify + one store
// read). Start is sign-in's share: one session write and two signatures.
//
//	go test -run '^$' -bench . -benchmem ./internal/session/

func newBenchService(b *testing.B) (*session.Service, *token.Signer) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	key, err := token.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	signer, err := token.NewSigner(key, "http://127.0.0.1:8080")
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	t := now()
	if err := st.CreateUser(context.Background(), store.User{ID: "user-1", Email: "bench@example.com", EmailKey: "bench@example.com",
		Status: "Activated", CreatedAt: t, UpdatedAt: t}); err != nil {
		b.Fatal(err)
	}
	return session.NewService(st, signer, []byte("bench pepper 0123456789abcdef"), time.Hour, 24*time.Hour, now), signer
}

func BenchmarkToken(b *testing.B) {
	svc, signer := newBenchService(b)
	ctx := context.Background()
	ts, err := svc.Start(ctx, "user-1", "app-1", "", session.Claims{Email: "bench@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	bearer := "Bearer " + ts.AccessToken

	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c session.AccessClaims
			if err := signer.Verify(ts.AccessToken, time.Now(), &c); err != nil {
				b.Fatal(err)
			}
		}
	})
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
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for b.Loop() {
			if _, err := signer.Sign(session.AccessClaims{Common: signer.NewCommon("user-1", "app-1", session.NewID(), now, time.Hour),
				SessionID: "s", AppID: "app-1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Start", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Start(ctx, "user-1", "app-1", "", session.Claims{Email: "bench@example.com"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
