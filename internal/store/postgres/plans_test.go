package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store/postgres/pgtest"
)

// Read connections plan prepared statements once, unless the URL says
// otherwise or nothing is prepared; write connections keep the default.
func TestReadConnectionsUseGenericPlans(t *testing.T) {
	base := pgtest.Fresh(t, "test")
	for _, c := range []struct{ extra, want, wantWrite string }{
		{"", "force_generic_plan", "auto"},
		{"&plan_cache_mode=force_custom_plan", "force_custom_plan", "force_custom_plan"},
		{"&default_query_exec_mode=exec", "auto", "auto"},
	} {
		t.Run(c.want, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := Open(ctx, base+c.extra, 8) // 2 to read, 6 to write
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for pool, want := range map[*sql.DB]string{st.read: c.want, st.pool: c.wantWrite} {
				// Hold every connection at once, so each is asked.
				for range pool.Stats().MaxOpenConnections {
					conn, err := pool.Conn(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					var got string
					if err := conn.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&got); err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Errorf("URL %q: plan_cache_mode = %q, want %q", c.extra, got, want)
					}
				}
			}
		})
	}
}
