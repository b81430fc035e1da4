package config_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keyhaven.yaml")
	if err := os.WriteFile(file, []byte("rate-limit-per-ip: 30\ncode-ttl: 2m\nproduct-name: FromFile\ntrusted-proxies: [10.0.0.0/8, 192.168.1.1]\n"+
		"app-id: 0x10\napp-secret: 01234567890123456789\nsms-regions: [cn, HK]\nlogo-url:\ndefault-phone-region: us\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(nil, env(map[string]string{"KEYHAVEN_CONFIG": file}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Values are taken as written, never as YAML numbers.
	if c.AppID != "0x10" || c.AppSecret.Reveal() != "01234567890123456789" || strings.Join(c.SMSRegions, ",") != "CN,HK" || c.DefaultPhoneRegion != "US" {
		t.Fatalf("from the file: app %q, secret %q, regions %v", c.AppID, c.AppSecret.Reveal(), c.SMSRegions)
	}
	c, err = config.Load([]string{"--product-name", "FromFlag"}, env(map[string]string{
		"KEYHAVEN_CONFIG": file, "KEYHAVEN_RATE_LIMIT_PER_IP": "45", "KEYHAVEN_PRODUCT_NAME": "FromEnv",
		"KEYHAVEN_APP_ID": "app", "KEYHAVEN_APP_SECRET_FILE": secret,
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitPerIP != 45 || c.CodeTTL != 2*time.Minute || c.ProductName != "FromFlag" || c.AppSecret.Reveal() != "from-a-file-0123456789" {
		t.Fatalf("got %+v", c)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.1/32" {
		t.Fatalf("proxies %v", c.TrustedProxies)
	}
	if s := fmt.Sprint(c.AppSecret); s != "[redacted]" {
		t.Fatalf("secret prints as %q", s)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{
		"KEYHAVEN_RATE_LIMIT_PER_IP": "-1", "KEYHAVEN_CODE_TTL": "20m", "KEYHAVEN_LOG_FORMAT": "xml",
		"KEYHAVEN_DATABASE_URL": "mysql://u:hunter2@h/db", "KEYHAVEN_APP_ID": "only-id", "KEYHAVEN_LOGO_URL": "javascript:alert(1)",
		"KEYHAVEN_DEFAULT_PHONE_REGION": "ZZ", "KEYHAVEN_PUBLIC_URL": "https://id.example.com/?q=1", "KEYHAVEN_RESET_TOKEN_TTL": "8760h",
		"KEYHAVEN_HASH_CONCURRENCY": "100000", "KEYHAVEN_SMS_REGIONS": "CN,XX", "KEYHAVEN_REFRESH_TOKEN_TTL": "30m",
	}), io.Discard)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{"KEYHAVEN_RATE_LIMIT_PER_IP", "KEYHAVEN_CODE_TTL", "KEYHAVEN_LOG_FORMAT", "KEYHAVEN_DATABASE_URL", "KEYHAVEN_APP_ID", "KEYHAVEN_LOGO_URL",
		"KEYHAVEN_DEFAULT_PHONE_REGION", "KEYHAVEN_PUBLIC_URL", "KEYHAVEN_RESET_TOKEN_TTL", "KEYHAVEN_HASH_CONCURRENCY", "KEYHAVEN_SMS_REGIONS", "KEYHAVEN_REFRESH_TOKEN_TTL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %s in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("password printed:\n%s", msg)
	}
	if _, err := config.Load(nil, env(map[string]string{"KEYHAVEN_CONFIG": "/nonexistent.yaml"}), io.Discard); err == nil {
		t.Error("missing config file accepted")
	}
}

func TestDatabaseURLs(t *testing.T) {
	for url, want := range map[string]string{
		"sqlite:///var/lib/k.db":                          "sqlite /var/lib/k.db",
		"sqlite://./data/k.db":                            "sqlite ./data/k.db",
		"postgres://u:p@127.0.0.1:5432/k?sslmode=disable": "postgres postgres://u:p@127.0.0.1:5432/k?sslmode=disable",
		"postgres://u@/k?host=/run/postgresql":            "postgres postgres://u@/k?host=/run/postgresql",
	} {
		c := config.Default()
		c.DatabaseURL = config.Secret(url)
		d, src, err := c.Database()
		if err != nil || d+" "+src != want {
			t.Errorf("%s: %s %s %v", url, d, src, err)
		}
	}
	for _, url := range []string{"postgres:///k", "postgres://", "mysql://u@h/k", "sqlite://"} {
		c := config.Default()
		c.DatabaseURL = config.Secret(url)
		if _, _, err := c.Database(); err == nil {
			t.Errorf("%s accepted", url)
		}
	}
}

func TestAccessTokenAlg(t *testing.T) {
	for _, tt := range []struct {
		value, want string // want "" means refused
	}{
		{"", "ES256"}, // unset: the default
		{"ES256", "ES256"},
		{"RS256", "RS256"},
		{"rs256", ""},
		{"HS256", ""},
		{"none", ""},
		{"ES384", ""},
	} {
		c, err := config.Load(nil, env(map[string]string{"KEYHAVEN_ACCESS_TOKEN_ALG": tt.value}), io.Discard)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "KEYHAVEN_ACCESS_TOKEN_ALG (access-token-alg): must be ES256 or RS256") {
				t.Errorf("%q: got %v, want an error naming KEYHAVEN_ACCESS_TOKEN_ALG", tt.value, err)
			}
			continue
		}
		if err != nil || c.AccessTokenAlg != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.value, c.AccessTokenAlg, err, tt.want)
		}
	}
	// The flag spelling reaches the same check.
	if _, err := config.Load([]string{"--access-token-alg", "PS256"}, env(nil), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "KEYHAVEN_ACCESS_TOKEN_ALG") {
		t.Errorf("--access-token-alg PS256: %v", err)
	}
}
