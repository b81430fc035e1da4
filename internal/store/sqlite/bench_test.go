package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/store/storetest"
)

// The store round-trips of the hot paths, on a real file with the
// production settings (WAL, synchronous=FULL: every write transaction
// waits for one fsync). The postgres package has the same set.
//
//	go test -run '^$' -bench . -benchmem ./internal/store/sqlite/

func openBench(b *testing.B) store.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func BenchmarkStore(b *testing.B) {
	st := openBench(b)
	storetest.Bench(b, st)
}
