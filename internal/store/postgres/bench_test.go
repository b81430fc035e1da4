package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store/postgres"
	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
	"github.com/keyhaven/keyhaven/internal/store/storetest"
)

// The store round-trips of the hot paths on a fresh PostgreSQL database
// with the production settings (synchronous_commit on: every write
// transaction waits for the WAL flush). The set is the same as the SQLite
// store's (internal/store/sqlite/bench_test.go); keep the two in step.
// Skipped unless KEYHAVEN_TEST_POSTGRES_URL is set (fails in CI without it).
//
//	KEYHAVEN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//	  go test -run '^$' -bench . -benchmem ./internal/store/postgres/

func BenchmarkStore(b *testing.B) {
	url := pgtest.Fresh(b, "bench")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, url, 10)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	storetest.Bench(b, st)
}
