package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyhaven.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return st
	})
}

func TestReopenKeepsMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	for range 2 {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		states, err := st.MigrationStatus(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(states) == 0 || states[0].Version != 1 || states[0].AppliedAt.IsZero() {
			t.Fatalf("migration status: %+v", states)
		}
	}
}
