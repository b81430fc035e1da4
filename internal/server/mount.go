package server

import (
	"context"
	"net/http"
	"time"

	"github.com/keyhaven/keyhaven/internal/ops"
	"github.com/keyhaven/keyhaven/internal/webui"
)

// Mount adds the handlers of a full server beyond the API: the hosted
// forgot-password page and the operations endpoints (health, metrics).
func Mount(s *Server, mux *http.ServeMux) {
	mountWeb(s, mux)
	mountOps(s, mux)
}

// mountWeb serves the hosted pages (package webui). The page's default app
// is the configured one, else the one created at this start; otherwise the
// link must carry ?app_id=.
func mountWeb(s *Server, mux *http.ServeMux) {
	defaultApp := s.Config.AppID
	if defaultApp == "" {
		defaultApp = s.BootstrapApp.ID
	}
	webui.New(webui.Options{
		Product: s.Config.ProductName, LogoURL: s.Config.LogoURL, SignInURL: s.Config.SignInURL,
		DefaultAppID:      func(context.Context) string { return defaultApp },
		Apps:              s.Store,
		PasswordMinLength: s.Config.PasswordMinLength,
		CodeTTL:           s.Config.CodeTTL,
		ResendAfter:       s.Config.CodeInterval,
		Log:               s.Log,
	}).Register(mux)
}

// mountOps serves /healthz, /readyz and /metrics.
func mountOps(s *Server, mux *http.ServeMux) {
	checks := []ops.Check{ops.DatabaseCheck(s.Store)}
	if l, ok := s.Store.(ops.MigrationLister); ok {
		checks = append(checks, ops.MigrationsCheck(l))
	}
	mux.Handle("GET /healthz", ops.Healthz())
	mux.Handle("GET /readyz", ops.Readyz(s.Log, 2*time.Second, checks...))
	if s.Config.MetricsListen == "" {
		mux.Handle("GET /metrics", s.Metrics.Handler())
	}
}
