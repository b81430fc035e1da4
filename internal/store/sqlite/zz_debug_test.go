package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
)

func TestDebugClaimIDs(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 {
		now := time.Now()
		msg := &store.OutboxMessage{Kind: "email", Payload: []byte("{}"), CreatedAt: now, NotBefore: now, ExpiresAt: now.Add(5 * time.Minute)}
		c := store.Code{Target: "email:a@b.c", Channel: "X", CodeHash: []byte{byte(i)}, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		if err := st.IssueCode(ctx, c, 0, msg); err != nil {
			t.Fatal(err)
		}
		got, err := st.ClaimOutboxIDs(ctx, []int64{msg.ID}, time.Now(), time.Minute)
		t.Logf("id %d: got %d, %v", msg.ID, len(got), err)
	}
}
