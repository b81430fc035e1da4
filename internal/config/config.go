// Package config loads Keyhaven's settings: defaults in code, then a YAML
// file, then KEYHAVEN_* environment variables, then flags. Every setting is
// parsed by one function whatever its source, so a bad value is reported
// the same way, naming the setting as the operator wrote it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gopkg.in/yaml.v3"
)

// Secret is a string that never prints.
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// LogValue hides the value from log/slog.
func (Secret) LogValue() any { return "[redacted]" }

// Reveal returns the value.
func (s Secret) Reveal() string { return string(s) }

// Config is every setting.
type Config struct {
	Listen             string
	MetricsListen      string // if set, /metrics is served here and not on Listen
	PublicURL          string // issuer and links; default http://<listen>
	DatabaseURL        Secret
	DBMaxConns         int
	DBConnectTimeout   time.Duration
	ShutdownTimeout    time.Duration
	SMTPURL            Secret
	SMSWebhookURL      Secret
	AppID              string
	AppSecret          Secret
	PasswordHash       string
	HashConcurrency    int
	SendConcurrency    int // messages sent at once (SMTP connections, SMS webhook calls)
	RateLimitPerIP     int
	TrustedProxies     []netip.Prefix
	DefaultPhoneRegion string
	ProductName        string
	LogoURL            string
	SignInURL          string
	LogLevel           string
	LogFormat          string

	PasswordMinLength int
	PasswordFailures  int
	CodeTTL           time.Duration
	CodeMaxAttempts   int
	CodeInterval      time.Duration
	CodeHourlyCap     int
	CodeDailyFailures int
	// SMSHourlyCap bounds the texts with a code all replicas send an hour
	// (0: none), and SMSRegions the regions texted (empty: any): a budget
	// against SMS pumping, where someone has codes sent to numbers whose
	// operators pay them.
	SMSHourlyCap    int
	SMSRegions      []string
	ResetTokenTTL   time.Duration
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	AccessTokenAlg  string // ES256 or RS256; id tokens are always RS256
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		Listen:             "127.0.0.1:8080",
		DatabaseURL:        "sqlite://./keyhaven-data/keyhaven.db",
		DBMaxConns:         10,
		DBConnectTimeout:   5 * time.Second,
		ShutdownTimeout:    30 * time.Second,
		PasswordHash:       "argon2id:m=19456,t=2,p=1",
		RateLimitPerIP:     60,
		DefaultPhoneRegion: "CN",
		ProductName:        "Keyhaven",
		LogLevel:           "info",
		LogFormat:          "json",
		PasswordMinLength:  8,
		PasswordFailures:   100,
		CodeTTL:            5 * time.Minute,
		CodeMaxAttempts:    5,
		CodeInterval:       time.Minute,
		CodeHourlyCap:      10,
		CodeDailyFailures:  20,
		SMSHourlyCap:       1000,
		ResetTokenTTL:      15 * time.Minute,
		AccessTokenTTL:     time.Hour,
		RefreshTokenTTL:    30 * 24 * time.Hour,
		AccessTokenAlg:     "ES256",
		SendConcurrency:    64,
	}
}

// Setting describes one setting in its three spellings.
type Setting struct {
	Key    string // YAML key and flag name, e.g. "rate-limit-per-ip"
	Env    string // KEYHAVEN_RATE_LIMIT_PER_IP
	Help   string
	Secret bool // also read from <Env>_FILE; never echoed
	set    func(c *Config, v string) error
	get    func(c *Config) string
}

func envName(key string) string {
	return "KEYHAVEN_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// text, secret, number and duration build the settings of each value type.
func text(key, help string, p func(*Config) *string) Setting {
	return Setting{Key: key, Env: envName(key), Help: help,
		set: func(c *Config, v string) error { *p(c) = v; return nil },
		get: func(c *Config) string { return *p(c) }}
}

func secret(key, help string, p func(*Config) *Secret) Setting {
	return Setting{Key: key, Env: envName(key), Help: help, Secret: true,
		set: func(c *Config, v string) error { *p(c) = Secret(v); return nil },
		get: func(*Config) string { return "" }}
}

func number(key, help string, min int, p func(*Config) *int) Setting {
	return Setting{Key: key, Env: envName(key), Help: help,
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min {
				return fmt.Errorf("must be a whole number of at least %d, got %q", min, v)
			}
			*p(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*p(c)) }}
}

func duration(key, help string, min time.Duration, p func(*Config) *time.Duration) Setting {
	return Setting{Key: key, Env: envName(key), Help: help,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d < min {
				return fmt.Errorf("must be a duration like 5m or 30s, at least %s, got %q", min, v)
			}
			*p(c) = d
			return nil
		},
		get: func(c *Config) string { return p(c).String() }}
}

// Settings lists every setting, in the order the README documents them.
func Settings() []Setting {
	return []Setting{
		text("listen", "address to listen on", func(c *Config) *string { return &c.Listen }),
		text("metrics-listen", "if set, /metrics is served on this address only (keep it off the public listener)", func(c *Config) *string { return &c.MetricsListen }),
		text("public-url", "external base URL (token issuer, links); default http://<listen>", func(c *Config) *string { return &c.PublicURL }),
		secret("database-url", "sqlite:///abs/path.db, sqlite://rel/path.db or postgres://user:pass@host:port/db", func(c *Config) *Secret { return &c.DatabaseURL }),
		number("db-max-conns", "PostgreSQL connections in all (a quarter of them for reads)", 1, func(c *Config) *int { return &c.DBMaxConns }),
		duration("db-connect-timeout", "how long start-up waits for the database, trying again while it is not reachable yet", time.Second, func(c *Config) *time.Duration { return &c.DBConnectTimeout }),
		secret("smtp-url", "smtp://[user:pass@]host:port?from=addr&tls=none|starttls|tls; unset: mail is logged (development only)", func(c *Config) *Secret { return &c.SMTPURL }),
		secret("sms-webhook-url", "each SMS is POSTed here as JSON; unset: SMS is logged (development only)", func(c *Config) *Secret { return &c.SMSWebhookURL }),
		text("app-id", "bootstrap application id (with app-secret)", func(c *Config) *string { return &c.AppID }),
		secret("app-secret", "bootstrap application secret (with app-id)", func(c *Config) *Secret { return &c.AppSecret }),
		text("password-hash", "argon2id:m=19456,t=2,p=1 or bcrypt:cost=N", func(c *Config) *string { return &c.PasswordHash }),
		number("hash-concurrency", "password hashes computed at once; 0 = one per CPU", 0, func(c *Config) *int { return &c.HashConcurrency }),
		number("send-concurrency", "messages (email, SMS) sent at once; each email in flight holds one SMTP connection", 1, func(c *Config) *int { return &c.SendConcurrency }),
		number("rate-limit-per-ip", "requests a minute from one address to the sign-up, sign-in, code, reset, bind/unbind, update-password/email/phone and delete-account endpoints (their verify steps included); 0 = off", 0, func(c *Config) *int { return &c.RateLimitPerIP }),
		{Key: "trusted-proxies", Env: envName("trusted-proxies"), Help: "comma-separated CIDRs whose X-Forwarded-For is believed",
			set: setProxies, get: func(c *Config) string {
				var out []string
				for _, p := range c.TrustedProxies {
					out = append(out, p.String())
				}
				return strings.Join(out, ",")
			}},
		text("default-phone-region", "region for phone numbers given without a country code (ISO 3166, e.g. CN)", func(c *Config) *string { return &c.DefaultPhoneRegion }),
		text("product-name", "name shown in messages and on the hosted page", func(c *Config) *string { return &c.ProductName }),
		text("logo-url", "logo shown on the hosted page", func(c *Config) *string { return &c.LogoURL }),
		text("sign-in-url", "where the hosted page links after a reset", func(c *Config) *string { return &c.SignInURL }),
		text("log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
		text("log-format", "json or text", func(c *Config) *string { return &c.LogFormat }),
		duration("shutdown-timeout", "how long SIGTERM lets requests in flight finish before cutting them (a second signal stops at once)", 100*time.Millisecond,
			func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
		number("password-min-length", "shortest password accepted, in characters (8 to 64)", 8, func(c *Config) *int { return &c.PasswordMinLength }),
		number("password-failures", "wrong passwords one account may see an hour, whichever name it signs in with (at most 100)", 1, func(c *Config) *int { return &c.PasswordFailures }),
		duration("code-ttl", "how long a one-time code lives (at most 10m)", 30*time.Second, func(c *Config) *time.Duration { return &c.CodeTTL }),
		number("code-max-attempts", "wrong tries that kill a code", 1, func(c *Config) *int { return &c.CodeMaxAttempts }),
		duration("code-interval", "least time between two codes to one target and channel", 0, func(c *Config) *time.Duration { return &c.CodeInterval }),
		number("code-hourly-cap", "codes one target may receive an hour", 1, func(c *Config) *int { return &c.CodeHourlyCap }),
		number("code-daily-failures", "wrong codes one target may see a day", 1, func(c *Config) *int { return &c.CodeDailyFailures }),
		number("sms-hourly-cap", "texts with a code all replicas may send an hour, against SMS pumping; 0 = no cap", 0, func(c *Config) *int { return &c.SMSHourlyCap }),
		{Key: "sms-regions", Env: envName("sms-regions"), Help: "comma-separated regions (ISO 3166, e.g. CN,HK) whose numbers may be texted a code; empty = any",
			set: setRegions, get: func(c *Config) string { return strings.Join(c.SMSRegions, ",") }},
		duration("reset-token-ttl", "how long a passwordResetToken lives", time.Minute, func(c *Config) *time.Duration { return &c.ResetTokenTTL }),
		duration("access-token-ttl", "access and id token lifetime", time.Minute, func(c *Config) *time.Duration { return &c.AccessTokenTTL }),
		duration("refresh-token-ttl", "refresh token and session lifetime", time.Minute, func(c *Config) *time.Duration { return &c.RefreshTokenTTL }),
		text("access-token-alg", "ES256 or RS256 (for resource servers that only verify RSA); id tokens are always RS256", func(c *Config) *string { return &c.AccessTokenAlg }),
	}
}

func setProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("must be comma-separated CIDRs like 10.0.0.0/8, got %q", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

func setRegions(c *Config, v string) error {
	c.SMSRegions = nil
	known := phonenumbers.GetSupportedRegions()
	for _, part := range strings.Split(v, ",") {
		r := strings.ToUpper(strings.TrimSpace(part))
		if r == "" {
			continue
		}
		if !known[r] {
			return fmt.Errorf("must be comma-separated region codes like CN,HK, got %q", part)
		}
		c.SMSRegions = append(c.SMSRegions, r)
	}
	return nil
}

// Load builds the configuration from the YAML file named by --config or
// KEYHAVEN_CONFIG, the environment (getenv) and args (flags). It reports
// every problem at once.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Default()
	settings := Settings()
	fs := flag.NewFlagSet("keyhaven serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error is returned; the list printed only on --help
	configFile := fs.String("config", getenv("KEYHAVEN_CONFIG"), "YAML config file (also KEYHAVEN_CONFIG)")
	flagVals := map[string]*string{}
	for _, s := range settings {
		v := new(string)
		flagVals[s.Key] = v
		help := s.Help + " (" + s.Env
		if d := s.get(&c); d != "" && !s.Secret {
			help += "; default " + d // the flag's own default stays "", so Visit sees only flags given
		}
		fs.StringVar(v, s.Key, "", help+")")
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "usage: keyhaven serve [flags]; each flag may be given as its environment variable or in the --config file")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return c, err
	} else if err != nil {
		return c, fmt.Errorf("%w (keyhaven serve --help lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	apply := func(s Setting, name, v string) {
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if *configFile != "" {
		vals, err := readYAML(*configFile)
		if err != nil {
			return c, err
		}
		known := map[string]Setting{}
		for _, s := range settings {
			known[s.Key] = s
		}
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s, ok := known[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown setting %q", *configFile, k))
				continue
			}
			apply(s, *configFile+": "+k, vals[k])
		}
	}
	for _, s := range settings {
		if v := getenv(s.Env); v != "" {
			apply(s, s.Env, v)
		}
		if s.Secret {
			if path := getenv(s.Env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", s.Env, err))
				} else {
					apply(s, s.Env+"_FILE", strings.TrimSpace(string(b)))
				}
			}
		}
	}
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.Key == f.Name {
				apply(s, "--"+s.Key, *flagVals[s.Key])
			}
		}
	})
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func readYAML(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	// Values are taken as written: decoded as YAML numbers, a secret of
	// digits became 1.2345678901234568e+18 and 0x10 became 16.
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := map[string]string{}
	for k, n := range raw {
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
			out[k] = ""
		case n.Kind == yaml.ScalarNode:
			out[k] = n.Value
		case n.Kind == yaml.SequenceNode:
			parts := make([]string, len(n.Content))
			for i, p := range n.Content {
				if p.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("config file %s: %s: a list of plain values is expected", path, k)
				}
				parts[i] = p.Value
			}
			out[k] = strings.Join(parts, ",")
		default:
			return nil, fmt.Errorf("config file %s: %s: a value or a list of values is expected", path, k)
		}
	}
	return out, nil
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(env, format string, args ...any) {
		// The value may have come from the file or a flag: name those too.
		key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "KEYHAVEN_")), "_", "-")
		errs = append(errs, fmt.Errorf("%s (%s): "+format, append([]any{env, key}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("KEYHAVEN_LISTEN", "must be host:port, got %q", c.Listen)
	}
	if _, _, err := net.SplitHostPort(c.MetricsListen); c.MetricsListen != "" && (err != nil || c.MetricsListen == c.Listen) {
		bad("KEYHAVEN_METRICS_LISTEN", "must be host:port other than KEYHAVEN_LISTEN, got %q", c.MetricsListen)
	}
	if _, _, err := c.Database(); err != nil {
		bad("KEYHAVEN_DATABASE_URL", "%v", err)
	}
	if (c.AppID == "") != (c.AppSecret == "") {
		bad("KEYHAVEN_APP_ID", "KEYHAVEN_APP_ID and KEYHAVEN_APP_SECRET go together: set both or neither")
	}
	if c.AppSecret != "" && len(c.AppSecret) < 16 {
		bad("KEYHAVEN_APP_SECRET", "must be at least 16 characters")
	}
	if c.PublicURL != "" {
		// It is the issuer: OIDC Discovery allows no query or fragment.
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.PublicURL, "?") || strings.HasSuffix(c.PublicURL, "#") {
			bad("KEYHAVEN_PUBLIC_URL", "must be an http(s) URL without user, query or fragment, got %q", c.PublicURL)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("KEYHAVEN_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("KEYHAVEN_LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	}
	if c.AccessTokenAlg != "ES256" && c.AccessTokenAlg != "RS256" {
		bad("KEYHAVEN_ACCESS_TOKEN_ALG", "must be ES256 or RS256, got %q", c.AccessTokenAlg)
	}
	if c.PasswordMinLength > 64 {
		bad("KEYHAVEN_PASSWORD_MIN_LENGTH", "must be at most 64, got %d", c.PasswordMinLength)
	}
	if c.PasswordFailures > 100 {
		bad("KEYHAVEN_PASSWORD_FAILURES", "must be at most 100 (ASVS 2.2.1), got %d", c.PasswordFailures)
	}
	if c.CodeTTL > 10*time.Minute {
		bad("KEYHAVEN_CODE_TTL", "must be at most 10m (ASVS 2.7.2), got %s", c.CodeTTL)
	}
	for _, u := range []struct{ env, v string }{{"KEYHAVEN_LOGO_URL", c.LogoURL}, {"KEYHAVEN_SIGN_IN_URL", c.SignInURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		okScheme := err == nil && (p.Scheme == "https" || (p.Scheme == "http" && u.env == "KEYHAVEN_SIGN_IN_URL"))
		relative := err == nil && p.Scheme == "" && p.Host == "" && strings.HasPrefix(p.Path, "/") && !strings.HasPrefix(p.Path, "//")
		if !okScheme && !relative {
			bad(u.env, "must be an https URL or a path starting with /, got %q", u.v)
		}
	}
	c.DefaultPhoneRegion = strings.ToUpper(strings.TrimSpace(c.DefaultPhoneRegion))
	if !phonenumbers.GetSupportedRegions()[c.DefaultPhoneRegion] {
		bad("KEYHAVEN_DEFAULT_PHONE_REGION", "must be a region code like CN or US, got %q", c.DefaultPhoneRegion)
	}
	if c.ResetTokenTTL > time.Hour {
		bad("KEYHAVEN_RESET_TOKEN_TTL", "must be at most 1h (a reset token is a password), got %s", c.ResetTokenTTL)
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL {
		bad("KEYHAVEN_REFRESH_TOKEN_TTL", "must be at least KEYHAVEN_ACCESS_TOKEN_TTL (%s), got %s", c.AccessTokenTTL, c.RefreshTokenTTL)
	}
	if c.HashConcurrency > 256 {
		bad("KEYHAVEN_HASH_CONCURRENCY", "must be at most 256 (each hash holds its memory; more than the CPUs only queues inside), got %d", c.HashConcurrency)
	}
	return errs
}

// Database returns the driver ("sqlite" or "postgres") and its data source:
// a file path for SQLite, the URL itself for PostgreSQL.
func (c *Config) Database() (driver, source string, err error) {
	raw := string(c.DatabaseURL)
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" || path == "/" {
			return "", "", errors.New("sqlite URL needs a file path, like sqlite://./keyhaven-data/keyhaven.db")
		}
		return "sqlite", path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		// No host is fine with ?host=/run/postgresql: a Unix socket, cheaper
		// than loopback TCP when PostgreSQL runs on the same machine.
		if err != nil || (u.Host == "" && u.Query().Get("host") == "") {
			return "", "", errors.New("not a valid postgres:// URL (value not shown: it may hold a password)")
		}
		return "postgres", raw, nil
	default:
		return "", "", errors.New("must start with sqlite:// or postgres:// (value not shown: it may hold a password)")
	}
}

// Issuer is the token issuer and the base of the links Keyhaven builds.
// It never comes from a request's Host header (OWASP FP-4).
func (c *Config) Issuer() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}

// Value returns the setting's current value in c as text ("" for secrets).
func (s Setting) Value(c *Config) string { return s.get(c) }
