package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
)

// The store round-trips of the hot paths, the same for every store: each
// store package's BenchmarkStore opens a store with production settings and
// calls Bench.

// Bench measures each operation a request makes, sequentially (the
// cost of one call) and, for reads, from many goroutines (what the pool
// sustains).
func Bench(b *testing.B, st store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: "bench-user", Email: "bench@example.com", EmailKey: "bench@example.com", Status: "Activated",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		Profile:      []byte(`{"nickname":"bench"}`), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := store.Session{ID: "bench-session", UserID: u.ID, AppID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateSession(ctx, sess, nil); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	id := func(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

	b.Run("GetUserByEmail", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.GetUserByEmail(ctx, u.EmailKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetUserByEmail/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.GetUserByEmail(ctx, u.EmailKey); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("GetSession", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.GetSession(ctx, sess.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetSession/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.GetSession(ctx, sess.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.Count(ctx, store.PasswordFailures("bench-user"), now.Truncate(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Writes: each is one transaction, so one commit.
	b.Run("Hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.Hit(ctx, "bench-counter", now.Truncate(time.Hour), now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RecordSignIn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := st.RecordSignIn(ctx, u.ID, now, "127.0.0.1", store.Rehash{}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateSession", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := store.Session{ID: id("s"), UserID: u.ID, AppID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			rt := store.RefreshToken{TokenHash: hash(s.ID), SessionID: s.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: s.ExpiresAt}
			if err := st.CreateSession(ctx, s, &rt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateSession/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s := store.Session{ID: id("p"), UserID: u.ID, AppID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := st.CreateSession(ctx, s, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// A code's life: issued with its message, then consumed.
	b.Run("IssueCode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			target := id("email:issue")
			msg := store.OutboxMessage{Kind: "email", Payload: []byte(`{"to":"bench@example.com"}`), CreatedAt: now,
				NotBefore: now, ExpiresAt: now.Add(5 * time.Minute)}
			c := store.Code{Target: target, Channel: "CHANNEL_RESET_PASSWORD", CodeHash: hash(target), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
			if err := st.IssueCode(ctx, c, 0, &msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Sixteen concurrent requests, as in the load test: what the store's
	// writes sustain when they queue for the one writer.
	b.Run("IssueCode/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				target := id("email:pissue")
				msg := store.OutboxMessage{Kind: "email", Payload: []byte(`{"to":"bench@example.com"}`), CreatedAt: now,
					NotBefore: now, ExpiresAt: now.Add(5 * time.Minute)}
				c := store.Code{Target: target, Channel: "CHANNEL_RESET_PASSWORD", CodeHash: hash(target), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
				if err := st.IssueCode(ctx, c, 0, &msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ConsumeCode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			target := id("email:consume")
			c := store.Code{Target: target, Channel: "CHANNEL_RESET_PASSWORD", CodeHash: hash(target), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
			if err := st.IssueCode(ctx, c, 0, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, _, err := st.ConsumeCode(ctx, target, c.Channel, c.CodeHash, now, 5)
			if err != nil || res != store.CodeOK {
				b.Fatal(res, err)
			}
		}
	})
	// The worker's side of one message: claim (by a scan, or by the id the
	// request path passed on), then delete once sent. The payload is the
	// size of a code email's (text and HTML, ~1.7 KB).
	payload := []byte(`{"text":"` + strings.Repeat("x", 1700) + `"}`)
	for _, byID := range []bool{false, true} {
		name := "ClaimAndDeleteOutbox"
		if byID {
			name = "ClaimByIDAndDeleteOutbox"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				id, err := st.Enqueue(ctx, store.OutboxMessage{Kind: "email", Payload: payload, CreatedAt: now,
					NotBefore: now, ExpiresAt: now.Add(time.Hour)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var msgs []store.OutboxMessage
				if byID {
					msgs, err = st.ClaimOutboxIDs(ctx, []int64{id}, now, time.Minute)
				} else {
					msgs, err = st.ClaimOutbox(ctx, now, time.Minute, 1)
				}
				if err != nil || len(msgs) == 0 {
					b.Fatal(len(msgs), err)
				}
				if err := st.DeleteOutbox(ctx, msgs[0].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("OutboxStats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := st.OutboxStats(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
