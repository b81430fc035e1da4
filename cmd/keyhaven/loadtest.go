package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/loadtest"
	"github.com/keyhaven/keyhaven/internal/pwhash"
)

// loadtestCmd measures a running server on this machine against the
// performance targets (docs/performance.md). It runs its own SMTP server,
// which the server under test must send to.
func loadtestCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keyhaven loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hashSpec := getenv("KEYHAVEN_PASSWORD_HASH")
	if hashSpec == "" {
		hashSpec = pwhash.DefaultSpecString
	}
	hashConc, _ := strconv.Atoi(getenv("KEYHAVEN_HASH_CONCURRENCY"))
	var cfg loadtest.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server under test (loopback only)")
	fs.StringVar(&cfg.AppID, "app-id", getenv("KEYHAVEN_APP_ID"), "the server's app id (KEYHAVEN_APP_ID)")
	fs.IntVar(&cfg.Users, "users", 200, "accounts to create through the API first")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "clients in the signin, reset and codes phases")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "length of each timed phase")
	fs.IntVar(&cfg.ProfileConcurrency, "profile-concurrency", 16, "clients in the profile phase")
	fs.IntVar(&cfg.Burst, "burst", 1000, "concurrent sign-ins in the burst phase")
	phases := fs.String("phases", strings.Join(loadtest.AllPhases, ","), "phases to run, comma-separated")
	fs.StringVar(&cfg.HashSpec, "hash", hashSpec, "the server's KEYHAVEN_PASSWORD_HASH, for the ceiling")
	fs.IntVar(&cfg.HashConcurrency, "hash-concurrency", hashConc, "the server's KEYHAVEN_HASH_CONCURRENCY (0: CPU count), for the memory bound")
	fs.DurationVar(&cfg.CeilingTime, "ceiling-time", 5*time.Second, "how long to measure the hash ceiling")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "the server's process id, to read its peak memory from /proc")
	smtpAddr := fs.String("smtp-listen", "127.0.0.1:2525", "where the load test's SMTP server listens (loopback only)")
	timeout := fs.Duration("timeout", 30*time.Minute, "stop the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Phases = strings.Split(*phases, ",")
	host, _, err := net.SplitHostPort(*smtpAddr)
	if err != nil || (host != "localhost" && !net.ParseIP(host).IsLoopback()) {
		return fmt.Errorf("--smtp-listen: want a loopback host:port, got %q", *smtpAddr)
	}
	if err := loadtest.CheckLoopbackURL(cfg.URL); err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if cfg.AppID == "" {
		return errors.New("--app-id: is required (the server's KEYHAVEN_APP_ID)")
	}
	ln, err := net.Listen("tcp", *smtpAddr)
	if err != nil {
		return fmt.Errorf("--smtp-listen: %w", err)
	}
	cfg.SMTP = ln
	cfg.Log = stderr
	fmt.Fprintf(stderr, "SMTP sink on %s: the server must run with KEYHAVEN_SMTP_URL=smtp://%s?from=loadtest%%40example.com&tls=none\n",
		ln.Addr(), ln.Addr())
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := loadtest.Run(ctx, cfg)
	if rep != nil {
		rep.Write(stdout)
	}
	return err
}
