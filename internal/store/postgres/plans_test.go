package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
)

// Every connection of the pool plans prepared statements once, unless the
// URL says otherwise or nothing is prepared.
func TestConnectionsUseGenericPlans(t *testing.T) {
	base := pgtest.Fresh(t, "test")
	for _, c := range []struct{ extra, want string }{
		{"", "force_generic_plan"},
		{"&plan_cache_mode=force_custom_plan", "force_custom_plan"},
		{"&default_query_exec_mode=exec", "auto"},
	} {
		t.Run(c.want, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := Open(ctx, base+c.extra, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Hold three connections at once, so each is asked.
			for range 3 {
				conn, err := st.pool.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				var got string
				if err := conn.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("URL %q: plan_cache_mode = %q, want %q", c.extra, got, c.want)
				}
			}
		})
	}
}
