package webui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/store"
	"github.com/keyhaven/keyhaven/internal/store/sqlite"
	"github.com/keyhaven/keyhaven/internal/webui"
)

const appID = "web-app-0001"

// newSite serves the page over a real SQLite store holding one app.
func newSite(t *testing.T, change func(*webui.Options)) (*http.ServeMux, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutApp(ctx, store.App{ID: appID, Name: "web", SecretHash: make([]byte, 32), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	o := webui.Options{Product: "Acme ID", Apps: st, DefaultAppID: func(context.Context) string { return appID },
		SignInURL: "https://id.example.com/sign-in", PasswordMinLength: 10, CodeTTL: 5 * time.Minute, ResendAfter: time.Minute}
	if change != nil {
		change(&o)
	}
	mux := http.NewServeMux()
	webui.New(o).Register(mux)
	return mux, st
}

type reply struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, h http.Handler, target string, header ...string) reply {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return reply{rec.Code, rec.Result().Header, string(b)}
}

func checkSecurityHeaders(t *testing.T, r reply) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineAttrs = regexp.MustCompile(`(?i)\s(style|on[a-z]+)\s*=`)
)

func TestPageHeadersAndNoInlineCode(t *testing.T) {
	mux, _ := newSite(t, nil)
	r := get(t, mux, "/forgot-password")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	checkSecurityHeaders(t, r)
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := r.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	// The CSP forbids inline script; the page must not need any.
	tags := scriptTag.FindAllStringSubmatch(r.body, -1)
	if len(tags) != 2 {
		t.Fatalf("want the config block and one script file, got %d script tags", len(tags))
	}
	for _, m := range tags {
		attrs, content := m[1], strings.TrimSpace(m[2])
		switch {
		case strings.Contains(attrs, `type="application/json"`): // data, never run
		case strings.Contains(attrs, "src=") && content == "":
		default:
			t.Errorf("inline script: <script%s>%.40s", attrs, content)
		}
	}
	if m := inlineAttrs.FindString(r.body); m != "" {
		t.Errorf("inline style or event handler attribute: %q", m)
	}
	if strings.Contains(r.body, "<style") {
		t.Error("inline <style> element")
	}
	for _, want := range []string{"Acme ID", `href="https://id.example.com/sign-in"`, "at least 10 characters", `for="target"`, `id="target"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// The script's configuration is JSON it can parse, carrying the app id and
// every sentence it shows.
func TestConfigBlock(t *testing.T) {
	mux, _ := newSite(t, nil)
	r := get(t, mux, "/forgot-password?lang=zh-CN")
	m := regexp.MustCompile(`(?s)<script id="kh-config" type="application/json">(.*?)</script>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no config block")
	}
	var cfg struct {
		AppID       string            `json:"appId"`
		Lang        string            `json:"lang"`
		ResendAfter int               `json:"resendAfter"`
		TTL         string            `json:"ttl"`
		Text        map[string]string `json:"text"`
	}
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
		t.Fatalf("config block is not JSON: %v\n%s", err, m[1])
	}
	if cfg.AppID != appID || cfg.Lang != "zh-CN" || cfg.ResendAfter != 60 || cfg.TTL != "5 分钟" {
		t.Errorf("config = %+v", cfg)
	}
	if !strings.Contains(cfg.Text["wrongCode"], "{n}") {
		t.Errorf("wrongCode sentence = %q", cfg.Text["wrongCode"])
	}
}

func TestLanguage(t *testing.T) {
	mux, _ := newSite(t, nil)
	for _, tc := range []struct {
		name, target, accept string
		wantLang, wantText   string
	}{
		{"default", "/forgot-password", "", "en", "Forgot your password?"},
		{"query", "/forgot-password?lang=zh-CN", "", "zh-CN", "忘记密码？"},
		{"accept-language", "/forgot-password", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "忘记密码？"},
		{"query wins", "/forgot-password?lang=en", "zh-CN,zh;q=0.9", "en", "Forgot your password?"},
		{"traditional gets simplified", "/forgot-password?lang=zh-TW", "", "zh-CN", "忘记密码？"},
		{"unknown query falls back to header", "/forgot-password?lang=xx", "zh", "zh-CN", "忘记密码？"},
		{"unsupported header", "/forgot-password", "fr-FR,fr;q=0.9", "en", "Forgot your password?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.accept != "" {
				h = []string{"Accept-Language", tc.accept}
			}
			r := get(t, mux, tc.target, h...)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			if !strings.Contains(r.body, `<html lang="`+tc.wantLang+`">`) {
				t.Errorf("want <html lang=%q>", tc.wantLang)
			}
			if !strings.Contains(r.body, tc.wantText) {
				t.Errorf("page lacks %q", tc.wantText)
			}
			if r.header.Get("Vary") != "Accept-Language" {
				t.Errorf("Vary = %q", r.header.Get("Vary"))
			}
		})
	}
}

// The language links keep the app the page was opened for.
func TestLanguageLinksKeepApp(t *testing.T) {
	mux, _ := newSite(t, nil)
	r := get(t, mux, "/forgot-password?app_id="+appID)
	if !strings.Contains(r.body, `href="?app_id=`+appID+`&amp;lang=zh-CN"`) {
		t.Errorf("no Chinese link keeping the app id in:\n%s", r.body)
	}
	if !strings.Contains(r.body, `aria-current="page">English`) {
		t.Error("the current language is not marked")
	}
}

func TestAppProblems(t *testing.T) {
	t.Run("unknown app id", func(t *testing.T) {
		mux, _ := newSite(t, nil)
		r := get(t, mux, "/forgot-password?app_id=no-such-app")
		if r.status != http.StatusNotFound {
			t.Fatalf("status %d, want 404", r.status)
		}
		checkSecurityHeaders(t, r)
		if !strings.Contains(r.body, "This page is not available") || !strings.Contains(r.body, "does not exist") {
			t.Errorf("no clear explanation in:\n%s", r.body)
		}
		if strings.Contains(r.body, "<form") || strings.Contains(r.body, "<script") {
			t.Error("the error page still offers the form or its script")
		}
	})
	t.Run("unknown app id in Chinese", func(t *testing.T) {
		mux, _ := newSite(t, nil)
		r := get(t, mux, "/forgot-password?app_id=no-such-app&lang=zh-CN")
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "此页面无法使用") {
			t.Errorf("status %d, body:\n%s", r.status, r.body)
		}
	})
	t.Run("no app id and no default", func(t *testing.T) {
		mux, _ := newSite(t, func(o *webui.Options) { o.DefaultAppID = nil })
		r := get(t, mux, "/forgot-password")
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "does not say which application") {
			t.Errorf("status %d, body:\n%s", r.status, r.body)
		}
	})
	t.Run("explicit app id", func(t *testing.T) {
		mux, _ := newSite(t, func(o *webui.Options) { o.DefaultAppID = nil })
		if r := get(t, mux, "/forgot-password?app_id="+appID); r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	})
	t.Run("database down", func(t *testing.T) {
		mux, st := newSite(t, nil)
		st.Close()
		r := get(t, mux, "/forgot-password")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "not available right now") {
			t.Errorf("status %d, body:\n%s", r.status, r.body)
		}
	})
}

func TestAssets(t *testing.T) {
	mux, _ := newSite(t, nil)
	page := get(t, mux, "/forgot-password").body
	for _, tc := range []struct{ name, ctype string }{
		{"forgot.css", "text/css; charset=utf-8"},
		{"forgot.js", "text/javascript; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := regexp.MustCompile(`"(forgot-password/assets/` + regexp.QuoteMeta(tc.name) + `\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("page does not link %s", tc.name)
			}
			r := get(t, mux, "/"+m[1])
			if r.status != 200 || len(r.body) < 100 {
				t.Fatalf("status %d, %d bytes", r.status, len(r.body))
			}
			if got := r.header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if got := r.header.Get("Cache-Control"); !strings.Contains(got, "max-age=") {
				t.Errorf("versioned asset Cache-Control = %q", got)
			}
			etag := r.header.Get("ETag")
			if again := get(t, mux, "/"+m[1], "If-None-Match", etag); again.status != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", again.status)
			}
			if bare := get(t, mux, "/forgot-password/assets/"+tc.name); bare.header.Get("Cache-Control") != "no-cache" {
				t.Errorf("unversioned asset Cache-Control = %q, want no-cache", bare.header.Get("Cache-Control"))
			}
		})
	}
	if r := get(t, mux, "/forgot-password/assets/nope.js"); r.status != 404 {
		t.Errorf("unknown asset: status %d", r.status)
	}
}

func TestBranding(t *testing.T) {
	for _, tc := range []struct {
		name, logo, signIn string
		want, notWant      []string
	}{
		{"https logo", "https://cdn.example.com/logo.png", "", []string{`src="https://cdn.example.com/logo.png"`}, []string{`class="mark"`}},
		{"path logo", "/static/logo.svg", "/login", []string{`src="/static/logo.svg"`, `href="/login"`}, nil},
		{"javascript logo dropped", "javascript:alert(1)", "", []string{`class="mark"`}, []string{"alert(1)"}},
		{"http logo dropped", "http://cdn.example.com/logo.png", "", []string{`class="mark"`}, []string{"cdn.example.com"}},
		{"protocol-relative logo dropped", "//evil.example/logo.png", "", nil, []string{"evil.example"}},
		{"javascript sign-in dropped", "", "javascript:alert(1)", []string{"You can now sign in"}, []string{"alert(1)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux, _ := newSite(t, func(o *webui.Options) { o.LogoURL, o.SignInURL = tc.logo, tc.signIn })
			body := get(t, mux, "/forgot-password").body
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
	t.Run("product name is escaped", func(t *testing.T) {
		mux, _ := newSite(t, func(o *webui.Options) { o.Product = `<b>Acme</b> & "Co"` })
		body := get(t, mux, "/forgot-password").body
		if strings.Contains(body, "<b>Acme") || !strings.Contains(body, "&lt;b&gt;Acme&lt;/b&gt; &amp; &#34;Co&#34;") {
			t.Errorf("product name not escaped:\n%s", body)
		}
	})
}

func TestTrailingSlashRedirects(t *testing.T) {
	mux, _ := newSite(t, nil)
	r := get(t, mux, "/forgot-password/?lang=zh-CN")
	if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/forgot-password?lang=zh-CN" {
		t.Errorf("status %d, Location %q", r.status, r.header.Get("Location"))
	}
}

// A form that reaches the server (the script had not run) goes back to the
// page; what was typed is not in the URL.
func TestFormPostGoesBack(t *testing.T) {
	mux, _ := newSite(t, nil)
	req := httptest.NewRequest("POST", "/forgot-password?lang=zh-CN", strings.NewReader("target=ann%40example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/forgot-password?lang=zh-CN" {
		t.Errorf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	page := get(t, mux, "/forgot-password").body
	if n := strings.Count(page, `method="post"`); n != 3 {
		t.Errorf("%d forms with method=post, want 3", n)
	}
}
