// Package webui serves the hosted forgot-password page: one HTML page, a
// stylesheet and a script, all embedded in the binary. The page is a client
// of the public /api/v3 endpoints like any other (send-email or send-sms,
// verify-reset-password-request, reset-password); it keeps no state and
// sees no secret the browser does not already have.
package webui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/store"
)

// Path is where the page is served.
const Path = "/forgot-password"

// assetPath is where the stylesheet and the script are served.
const assetPath = Path + "/assets/"

// ContentSecurityPolicy is sent with the page: only our own script and
// stylesheet run, the only calls go back to this server, and nobody may
// frame the page.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed page.html
var pageHTML string

//go:embed assets
var assetFiles embed.FS

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// contentTypes are the types of the embedded assets, by extension: fixed
// here rather than read from the system's MIME tables, which vary.
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

// AppFinder looks applications up; store.Apps is one.
type AppFinder interface {
	// GetApp returns store.ErrNotFound for an unknown id.
	GetApp(ctx context.Context, id string) (store.App, error)
}

// Options configure the page.
type Options struct {
	Product string // shown in the header and the title; default "Keyhaven"
	// LogoURL is shown above the form. It must be https or a path on this
	// server; anything else is dropped (with a warning) and the page shows
	// the product's initial instead.
	LogoURL string
	// SignInURL is linked from the last step. It must be http(s) or a path;
	// anything else is dropped (with a warning) and the link left out.
	SignInURL string
	// DefaultAppID names the application when the link has no app_id; it
	// may return "" (then the link must have one).
	DefaultAppID func(ctx context.Context) string
	Apps         AppFinder
	// PasswordMinLength is shown as a hint; the server's policy decides.
	PasswordMinLength int
	CodeTTL           time.Duration // how long a code lives, for the "valid for" sentence
	ResendAfter       time.Duration // least time between two codes: the resend countdown
	Log               *slog.Logger
}

// Site is the hosted page. Register it on a mux.
type Site struct {
	o      Options
	assets map[string]asset // by file name
}

type asset struct {
	body    []byte
	version string // short content hash, for cache-busting URLs and the ETag
	ctype   string
}

// New checks o and loads the embedded assets.
func New(o Options) *Site {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(o.Product) == "" {
		o.Product = "Keyhaven"
	}
	if o.LogoURL != "" && !safeURL(o.LogoURL, false) {
		o.Log.Warn("KEYHAVEN_LOGO_URL must be an https URL or a path on this server: the hosted page shows no logo")
		o.LogoURL = ""
	}
	if o.SignInURL != "" && !safeURL(o.SignInURL, true) {
		o.Log.Warn("KEYHAVEN_SIGN_IN_URL must be an http(s) URL or a path: the hosted page shows no sign-in link")
		o.SignInURL = ""
	}
	if o.PasswordMinLength <= 0 {
		o.PasswordMinLength = 8
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = 5 * time.Minute
	}
	if o.ResendAfter < 0 {
		o.ResendAfter = 0
	}
	s := &Site{o: o, assets: map[string]asset{}}
	err := fs.WalkDir(assetFiles, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.assets[path.Base(p)] = asset{body: b, version: hex.EncodeToString(sum[:6]), ctype: contentTypes[path.Ext(p)]}
		return nil
	})
	if err != nil {
		panic("webui: embedded assets: " + err.Error()) // cannot happen: they are compiled in
	}
	return s
}

// safeURL reports whether u may be linked from the page: an absolute https
// URL (or http when allowHTTP), or a path on this server.
func safeURL(u string, allowHTTP bool) bool {
	p, err := url.Parse(u)
	if err != nil || strings.ContainsAny(u, " \t\r\n\\") {
		return false
	}
	switch {
	case p.Scheme == "https" || (allowHTTP && p.Scheme == "http"):
		return p.Host != ""
	case p.Scheme == "" && p.Host == "":
		return strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")
	}
	return false
}

// Register adds the page and its assets to mux.
func (s *Site) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, s.servePage)
	back := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u := Path
			if r.URL.RawQuery != "" {
				u += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, u, code)
		}
	}
	mux.HandleFunc("GET "+Path+"/{$}", back(http.StatusMovedPermanently))
	// The forms are POST so that nothing typed ever lands in a URL; they
	// only reach the server when the script did not run (yet): back to
	// the page, with nothing read.
	mux.HandleFunc("POST "+Path, back(http.StatusSeeOther))
	mux.HandleFunc("GET "+assetPath+"{name}", s.serveAsset)
}

// pageData is what page.html renders.
type pageData struct {
	Lang      string
	T         map[string]string
	Title     string
	Product   string
	Initial   string
	Logo      string
	SignInURL string
	Problem   string // set: an error page instead of the form
	CSS, JS   string
	Languages []langLink
	Config    pageConfig
}

type langLink struct {
	Lang, Name, Href string
	Current          bool
}

// pageConfig is the script's configuration, in a JSON block on the page.
type pageConfig struct {
	AppID       string            `json:"appId"`
	Lang        string            `json:"lang"`
	ResendAfter int               `json:"resendAfter"` // seconds
	TTL         string            `json:"ttl"`         // "5 minutes"
	Text        map[string]string `json:"text"`
}

// servePage serves GET /forgot-password?app_id=...&lang=...: the form, or a
// page saying why it cannot be used (no or unknown app).
func (s *Site) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := notify.PickLang(q.Get("lang"), r.Header.Get("Accept-Language"))
	t := texts[lang]
	d := pageData{
		Lang: lang, T: t, Product: s.o.Product, Initial: initial(s.o.Product), Logo: s.o.LogoURL,
		SignInURL: s.o.SignInURL,
		Title:     strings.ReplaceAll(t["title"], "{product}", s.o.Product),
		CSS:       s.assetURL("forgot.css"), JS: s.assetURL("forgot.js"),
	}
	appID := q.Get("app_id")
	for _, l := range languageNames {
		v := url.Values{"lang": {l.Lang}}
		if appID != "" {
			v.Set("app_id", appID)
		}
		d.Languages = append(d.Languages, langLink{Lang: l.Lang, Name: l.Name, Href: "?" + v.Encode(), Current: l.Lang == lang})
	}
	if appID == "" && s.o.DefaultAppID != nil {
		appID = s.o.DefaultAppID(r.Context())
	}
	status := http.StatusOK
	switch {
	case appID == "":
		status, d.Problem = http.StatusBadRequest, t["problemNoApp"]
	case len(appID) > 128 || !utf8.ValidString(appID):
		status, d.Problem = http.StatusNotFound, t["problemUnknown"]
	default:
		_, err := s.o.Apps.GetApp(r.Context(), appID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			status, d.Problem = http.StatusNotFound, t["problemUnknown"]
		case err != nil:
			s.o.Log.ErrorContext(r.Context(), "hosted page: look up app", "route", Path, "err", err)
			status, d.Problem = http.StatusServiceUnavailable, t["problemDown"]
		}
	}
	if d.Problem == "" {
		d.Config = pageConfig{AppID: appID, Lang: lang, ResendAfter: int((s.o.ResendAfter + time.Second - 1) / time.Second),
			TTL: spell(lang, s.o.CodeTTL), Text: t}
		d.T = withHint(t, s.o.PasswordMinLength)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		s.o.Log.ErrorContext(r.Context(), "hosted page: render", "route", Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Language")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// withHint is t with the password hint's minimum length filled in.
func withHint(t map[string]string, n int) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	out["passwordHint"] = strings.ReplaceAll(t["passwordHint"], "{n}", strconv.Itoa(n))
	return out
}

// initial is the product's first letter, shown when there is no logo.
func initial(product string) string {
	for _, r := range product {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "K"
}

// assetURL is the asset's address relative to the page, with its content
// hash, so a new build's assets are never mixed with an old cached page's.
func (s *Site) assetURL(name string) string {
	return strings.TrimPrefix(assetPath, "/") + name + "?v=" + s.assets[name].version
}

// serveAsset serves GET /forgot-password/assets/{name}. Requests carrying
// the current content hash may be cached for good; others revalidate.
func (s *Site) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.PathValue("name")]
	h := w.Header()
	securityHeaders(h)
	if !ok {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("not found\n"))
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", `"`+a.version+`"`)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// securityHeaders are sent with everything the site serves.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
