// Command keyhaven is the Keyhaven identity server and its admin CLI.
//
//	keyhaven [serve] [flags]                  run the server (the default)
//	keyhaven app create --name N [--public]   create an application, print its id and secret
//	keyhaven app update --id ID --public=B    make an application public or confidential
//	keyhaven user create --email E --password P [--phone N] [--username U]
//	keyhaven migrate up|status                apply or list database migrations
//	keyhaven loadtest --url U --app-id A      measure a local server (docs/performance.md)
//
// The admin commands (app, user, migrate) take --config FILE as serve does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/keyhaven/keyhaven/internal/apierr"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/pwhash"
	"github.com/keyhaven/keyhaven/internal/server"
	"github.com/keyhaven/keyhaven/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal the default action returns: a second
		// SIGTERM or Ctrl-C stops at once instead of waiting for the drain.
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // help was asked for, and printed
		}
		fmt.Fprintln(os.Stderr, "keyhaven:", strings.ReplaceAll(err.Error(), "\n", "\nkeyhaven: "))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "app":
		return appCmd(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args, getenv, stdout, stderr)
	case "loadtest":
		return loadtestCmd(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "keyhaven", server.Version())
		return nil
	case "help", "-h", "--help":
		if len(args) > 0 && args[0] != "help" {
			return run(ctx, []string{args[0], "--help"}, getenv, stdout, stderr)
		}
		fmt.Fprintln(stdout, "usage: keyhaven [serve|app create|app update|user create|migrate up|migrate status|loadtest|version] [flags]\n"+
			"       keyhaven help COMMAND   the command's flags")
		return nil
	}
	return fmt.Errorf("unknown command %q (try: serve, app create, app update, user create, migrate, loadtest, version)", cmd)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err := errors.Join(err, server.CheckSettings(cfg)); err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	tuneRuntime(&cfg, getenv)
	start := time.Now()
	// Listen first: a taken port must stop start-up before a first run
	// creates the database and prints a secret above the error.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("KEYHAVEN_LISTEN: %w", err)
	}
	var mln net.Listener
	if cfg.MetricsListen != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("KEYHAVEN_METRICS_LISTEN: %w", err)
		}
	}
	s, err := server.New(ctx, cfg, log, server.Options{Mount: server.Mount})
	if err != nil {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
		return err
	}
	s.MetricsListener = mln
	defer func() {
		if err := s.CloseWithin(5 * time.Second); err != nil {
			log.Warn("keyhaven stop", "err", err)
		}
	}()
	if s.BootstrapApp.Secret != "" {
		// Shown once, on the terminal, never in the log.
		fmt.Fprintf(stdout, "Created the first application. Save its secret now: it is not shown again.\n"+
			"  app id:     %s\n  app secret: %s\n", s.BootstrapApp.ID, s.BootstrapApp.Secret)
	}
	log.Info("keyhaven serving", "addr", ln.Addr().String(), "metrics_addr", cfg.MetricsListen, "issuer", cfg.Issuer(),
		"startup_ms", time.Since(start).Milliseconds(), "version", server.Version())
	err = s.Run(ctx, ln, cfg.ShutdownTimeout)
	log.Info("keyhaven stopped")
	return err
}

// tuneRuntime keeps hashing from starving everything else. With one
// processor per core and one hash per core, running hashes hold every
// processor and each request waits ~10 ms for preemption; one extra
// processor lets the rest of a request (and the outbox) run between hashes.
// Each argon2id hash allocates its m KiB afresh, so a soft memory limit
// keeps a burst of sign-ins from growing the heap without end. It leaves
// room for the hashes in progress and as many finished ones awaiting the
// collector: a tighter limit made the runtime return and re-fault those
// blocks on every hash, costing 5-10 % of hash throughput. Within that
// limit GOGC=200 halves the collections (the default ran one every two or
// three hashes): sign-in 71 -> 78 % and reset 68 -> 78 % of the ceiling in
// back-to-back runs. GOMAXPROCS, GOMEMLIMIT and GOGC set by the operator win.
func tuneRuntime(cfg *config.Config, getenv func(string) string) {
	procs := runtime.GOMAXPROCS(0)
	if cfg.HashConcurrency == 0 {
		cfg.HashConcurrency = procs
	}
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procs + 1)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		if spec, err := pwhash.ParseSpec(cfg.PasswordHash); err == nil && spec.Kind == pwhash.Argon2id {
			debug.SetMemoryLimit(2*int64(cfg.HashConcurrency)*int64(spec.Memory)*1024 + 96<<20)
		}
	}
}

// adminFlags is an admin command's flag set, with the --config flag serve
// has, so that both read the same file.
// wantsHelp reports whether a command with subcommands was asked for help
// instead of given one.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
}

func adminFlags(name string, stderr io.Writer) (fs *flag.FlagSet, configFile *string) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile = fs.String("config", "", "YAML config file (also KEYHAVEN_CONFIG)")
	return fs, configFile
}

// adminConfig loads the config for an admin command: the database settings
// come from the environment and the YAML file (file, else KEYHAVEN_CONFIG).
func adminConfig(file string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	var args []string
	if file != "" {
		args = []string{"--config", file}
	}
	return config.Load(args, getenv, stderr)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func appCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: keyhaven app create --name NAME [--public] [--config FILE]\n" +
		"       keyhaven app update --id ID [--public=true|false] [--logout-redirect-uri URL ...] [--config FILE]"
	if wantsHelp(args) {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "create" && args[0] != "update") {
		return errors.New(usage)
	}
	fs, configFile := adminFlags("keyhaven app "+args[0], stderr)
	public := fs.Bool("public", false, "a public client (browser or mobile app): may refresh, introspect and revoke tokens without its secret")
	var logout urlList
	var name, id *string
	if args[0] == "create" {
		name = fs.String("name", "", "application name (required)")
	} else {
		id = fs.String("id", "", "application id (required)")
		fs.Var(&logout, "logout-redirect-uri", "an exact URL where sign-out may send the app's users (repeat for more; replaces the list; one empty value clears it)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	switch {
	case name != nil && strings.TrimSpace(*name) == "":
		return errors.New("--name: is required")
	case id != nil && *id == "":
		return errors.New("--id: is required")
	case id != nil && !flagSet(fs, "public") && !flagSet(fs, "logout-redirect-uri"):
		return errors.New("app update changes --public=true|false and --logout-redirect-uri: give at least one")
	}
	cfg, err := adminConfig(*configFile, getenv, stderr)
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if id != nil {
		if _, err := st.GetApp(ctx, *id); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("--id: no application %q", *id)
		} else if err != nil {
			return err
		}
		if flagSet(fs, "public") {
			if err := st.SetAppPublic(ctx, *id, *public); err != nil {
				return err
			}
		}
		if flagSet(fs, "logout-redirect-uri") {
			if err := st.SetAppLogoutRedirects(ctx, *id, logout); err != nil {
				return err
			}
		}
		app, err := st.GetApp(ctx, *id)
		if err != nil {
			return err
		}
		uris := app.LogoutRedirectURIs
		if uris == nil {
			uris = []string{}
		}
		return printJSON(stdout, map[string]any{"appId": app.ID, "name": app.Name, "public": app.Public, "logoutRedirectUris": uris})
	}
	newID, secret := server.NewAppCredentials()
	if err := st.PutApp(ctx, store.App{ID: newID, Name: *name, SecretHash: server.HashSecret(secret),
		Public: *public, CreatedAt: time.Now().UTC()}); err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{"appId": newID, "appSecret": secret, "name": *name, "public": *public})
}

// urlList is a repeatable flag of absolute http(s) URLs; an empty value
// stands for none.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute http(s) URL without user info or fragment", v)
	}
	*l = append(*l, v)
	return nil
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: keyhaven user create --email E [--password P, or KEYHAVEN_USER_PASSWORD] [--phone N] [--username U] [--config FILE]"
	if wantsHelp(args) {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) == 0 || args[0] != "create" {
		return errors.New(usage)
	}
	fs, configFile := adminFlags("keyhaven user create", stderr)
	email := fs.String("email", "", "email address")
	phone := fs.String("phone", "", "phone number")
	username := fs.String("username", "", "username")
	password := fs.String("password", "", "password (or KEYHAVEN_USER_PASSWORD, which keeps it out of the process list)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *password == "" {
		*password = getenv("KEYHAVEN_USER_PASSWORD")
	}
	if *email == "" && *phone == "" && *username == "" {
		return errors.New("--email, --phone or --username: one is required")
	}
	if *password == "" {
		return errors.New("--password: is required")
	}
	cfg, err := adminConfig(*configFile, getenv, stderr)
	if err != nil {
		return err
	}
	// On an empty database this creates the first application, as serve
	// would; its secret exists only here, so it goes into the output, under
	// the keys app create uses.
	s, err := server.New(ctx, cfg, server.NewLogger(cfg, io.Discard), server.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := s.Accounts.CreateUser(ctx, *email, *phone, *username, *password)
	out := map[string]string{}
	if err == nil {
		out = map[string]string{"userId": u.ID, "email": u.Email, "phone": u.Phone, "username": u.Username,
			"createdAt": u.CreatedAt.Format(time.RFC3339)}
	}
	if s.BootstrapApp.Secret != "" {
		// Printed even when the user is refused: the app exists from now on.
		out["appId"], out["appSecret"] = s.BootstrapApp.ID, s.BootstrapApp.Secret
	}
	if err != nil {
		if len(out) > 0 {
			_ = printJSON(stdout, out)
		}
		if e, ok := apierr.As(err); ok {
			// The checks are sign-up's: name the flag, not the API field.
			if field, problem, ok := strings.Cut(e.Message, ": "); ok && !strings.Contains(field, " ") {
				return errors.New("--" + strings.TrimPrefix(field, "passwordPayload.") + ": " + problem)
			}
		}
		return err
	}
	return printJSON(stdout, out)
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: keyhaven migrate up|status [--config FILE]"
	if wantsHelp(args) {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return errors.New(usage)
	}
	fs, configFile := adminFlags("keyhaven migrate "+args[0], stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := adminConfig(*configFile, getenv, stderr)
	if err != nil {
		return err
	}
	if args[0] == "up" {
		// Opening a store applies the pending migrations (under
		// PostgreSQL's advisory lock, so concurrent runs migrate once).
		st, err := server.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		st.Close()
	}
	states, err := server.MigrationStatus(ctx, cfg)
	if err != nil {
		return err
	}
	if driver, path, _ := cfg.Database(); driver == "sqlite" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// A mistyped path must not pass for a database to migrate.
			fmt.Fprintf(stderr, "keyhaven: no database at %s yet: every migration is pending\n", path)
		}
	}
	type row struct {
		Version   int    `json:"version"`
		Name      string `json:"name"`
		AppliedAt string `json:"appliedAt,omitempty"`
	}
	out := make([]row, 0, len(states))
	for _, m := range states {
		r := row{Version: m.Version, Name: m.Name}
		if !m.AppliedAt.IsZero() {
			r.AppliedAt = m.AppliedAt.Format(time.RFC3339)
		}
		out = append(out, r)
	}
	return printJSON(stdout, map[string]any{"command": args[0], "migrations": out})
}
