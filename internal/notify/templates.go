package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

// DefaultProductName is used when a template is given an empty product name.
const DefaultProductName = "Keyhaven"

// The channels of GenAuth's SendEmailDto and SendSMSDto.
var (
	emailChannels = []string{
		"CHANNEL_LOGIN", "CHANNEL_REGISTER", "CHANNEL_RESET_PASSWORD",
		"CHANNEL_VERIFY_EMAIL_LINK", "CHANNEL_UPDATE_EMAIL", "CHANNEL_BIND_EMAIL",
		"CHANNEL_UNBIND_EMAIL", "CHANNEL_VERIFY_MFA", "CHANNEL_UNLOCK_ACCOUNT",
		"CHANNEL_COMPLETE_EMAIL", "CHANNEL_DELETE_ACCOUNT",
	}
	smsChannels = []string{
		"CHANNEL_LOGIN", "CHANNEL_REGISTER", "CHANNEL_RESET_PASSWORD",
		"CHANNEL_BIND_PHONE", "CHANNEL_UNBIND_PHONE", "CHANNEL_BIND_MFA",
		"CHANNEL_VERIFY_MFA", "CHANNEL_UNBIND_MFA", "CHANNEL_COMPLETE_PHONE",
		"CHANNEL_IDENTITY_VERIFICATION", "CHANNEL_DELETE_ACCOUNT",
	}
	noticeKinds = []string{
		"password_changed", "email_changed", "phone_changed", "account_deleted",
		"email_bound", "phone_bound", "email_unbound", "phone_unbound", "email_verified",
	}
)

// EmailChannels returns the channels of GenAuth's SendEmailDto, each of
// which CodeEmail has a text for.
func EmailChannels() []string { return slices.Clone(emailChannels) }

// SMSChannels returns the channels of GenAuth's SendSMSDto, each of which
// CodeSMSText has a text for.
func SMSChannels() []string { return slices.Clone(smsChannels) }

// NoticeKinds returns the kinds NoticeEmail and NoticeSMSText accept.
func NoticeKinds() []string { return slices.Clone(noticeKinds) }

//go:embed templates/*.tmpl
var templateFiles embed.FS

var (
	// texts holds each language's text/template set (subjects, sentences,
	// plain-text bodies, SMS texts).
	texts = map[string]*template.Template{
		LangEnglish: template.Must(template.ParseFS(templateFiles, "templates/en.tmpl")),
		LangChinese: template.Must(template.ParseFS(templateFiles, "templates/zh-CN.tmpl")),
	}
	// page is the HTML body shared by every language; html/template escapes
	// every string put into it, product names included.
	page = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/email.html.tmpl"))
)

// textData is what the text templates see.
type textData struct {
	Product string
	Code    string
	TTL     string
	Purpose string
	At      string
	Body    string
	Advice  string
}

// pageData is what the HTML template sees.
type pageData struct {
	Lang       string
	Title      string
	Intro      string
	Code       string
	Paragraphs []string
	Signature  string
}

// render executes the named text template of lang. The templates are fixed
// at build time and TestTemplates renders every one, so a failure here is a
// bug in this package, not a runtime condition: it panics.
func render(lang, name string, d textData) string {
	t := texts[lang].Lookup(name)
	if t == nil {
		panic(fmt.Sprintf("notify: no template %q for %s", name, lang))
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		panic(fmt.Sprintf("notify: template %q for %s: %v", name, lang, err))
	}
	return b.String()
}

// renderOr renders name if lang has it, else fallback.
func renderOr(lang, name, fallback string, d textData) string {
	if texts[lang].Lookup(name) == nil {
		name = fallback
	}
	return render(lang, name, d)
}

func renderPage(d pageData) string {
	var b bytes.Buffer
	if err := page.Execute(&b, d); err != nil {
		panic(fmt.Sprintf("notify: html template: %v", err))
	}
	return b.String()
}

func product(name string) string {
	if name = strings.TrimSpace(name); name == "" {
		return DefaultProductName
	}
	return name
}

// CodeEmail returns the subject and bodies of an email carrying a one-time
// code for channel (a SendEmailDto channel; an unknown one gets a generic
// "verification code" text) in lang ("en" or "zh-CN"; others fall back
// through PickLang). The code is in both bodies, never in the subject:
// subjects show on lock screens. To is left empty for the caller.
func CodeEmail(lang, channel, productName, code string, ttl time.Duration) Email {
	lang = normLang(lang)
	d := textData{Product: product(productName), Code: code, TTL: durationText(lang, ttl)}
	d.Purpose = renderOr(lang, "purpose "+channel, "purpose", d)
	return Email{
		Code:    code,
		Subject: renderOr(lang, "subject "+channel, "subject", d),
		Text:    render(lang, "code email", d),
		HTML: renderPage(pageData{
			Lang:  lang,
			Title: renderOr(lang, "subject "+channel, "subject", d),
			Intro: render(lang, "code intro", d),
			Code:  code,
			Paragraphs: []string{
				render(lang, "code expiry", d) + sentenceGap(lang) + render(lang, "code warning", d),
				render(lang, "code ignore", d),
			},
			Signature: render(lang, "signature", d),
		}),
	}
}

// CodeEmails makes code emails for one product name like CodeEmail, but
// renders each language, channel and lifetime once and then only puts the
// code into the rendered text: the templates cost ~35 µs and 120
// allocations on every code request. Safe for concurrent use.
type CodeEmails struct {
	product string
	direct  bool // the product name holds the marker: render every email
	mu      sync.Mutex
	cache   map[codeEmailKey]Email
}

type codeEmailKey struct {
	lang, channel string
	ttl           time.Duration
}

// codeMark stands for the code in a cached email: letters and a dash, which
// neither the text templates nor html/template's escaping change.
const codeMark = "KEYHAVEN-CODE-MARK"

// maxCodeEmails bounds the cache; the keys come from a fixed set (two
// languages, the channels, the configured lifetime), so it is never reached.
const maxCodeEmails = 256

// NewCodeEmails returns a CodeEmails for productName.
func NewCodeEmails(productName string) *CodeEmails {
	return &CodeEmails{product: productName, direct: strings.Contains(productName, codeMark), cache: map[codeEmailKey]Email{}}
}

// Email returns what CodeEmail(lang, channel, productName, code, ttl) does.
func (c *CodeEmails) Email(lang, channel, code string, ttl time.Duration) Email {
	if c.direct || !plainCode(code) {
		return CodeEmail(lang, channel, c.product, code, ttl)
	}
	lang = normLang(lang)
	if !slices.Contains(emailChannels, channel) {
		channel = "" // every unknown channel gets the same generic text
	}
	k := codeEmailKey{lang, channel, ttl}
	c.mu.Lock()
	e, ok := c.cache[k]
	c.mu.Unlock()
	if !ok {
		e = CodeEmail(lang, channel, c.product, codeMark, ttl)
		c.mu.Lock()
		if len(c.cache) < maxCodeEmails {
			c.cache[k] = e
		}
		c.mu.Unlock()
	}
	e.Text = strings.ReplaceAll(e.Text, codeMark, code)
	e.HTML = strings.ReplaceAll(e.HTML, codeMark, code)
	e.Subject = strings.ReplaceAll(e.Subject, codeMark, code)
	e.Code = code
	return e
}

// plainCode reports whether code is ASCII letters and digits, which HTML
// escaping leaves as they are.
func plainCode(code string) bool {
	for _, r := range code {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return code != ""
}

// CodeSMSText returns the text of an SMS carrying a one-time code for
// channel (a SendSMSDto channel; an unknown one gets a generic text) in lang.
func CodeSMSText(lang, channel, productName, code string, ttl time.Duration) string {
	lang = normLang(lang)
	d := textData{Product: product(productName), Code: code, TTL: durationText(lang, ttl)}
	d.Purpose = renderOr(lang, "purpose "+channel, "purpose", d)
	return render(lang, "code sms", d)
}

// NoticeEmail returns the subject and bodies of an email telling the user
// that something happened to their account at at (kind is one of
// NoticeKinds). It carries no code.
func NoticeEmail(lang, kind, productName string, at time.Time) (Email, error) {
	lang = normLang(lang)
	d, err := noticeData(lang, kind, productName, at)
	if err != nil {
		return Email{}, err
	}
	subject := render(lang, "notice subject "+kind, d)
	return Email{
		Subject: subject,
		Text:    render(lang, "notice email", d),
		HTML: renderPage(pageData{
			Lang:       lang,
			Title:      subject,
			Intro:      d.Body,
			Paragraphs: []string{d.Advice},
			Signature:  render(lang, "signature", d),
		}),
	}, nil
}

// NoticeSMSText is NoticeEmail for SMS.
func NoticeSMSText(lang, kind, productName string, at time.Time) (string, error) {
	lang = normLang(lang)
	d, err := noticeData(lang, kind, productName, at)
	if err != nil {
		return "", err
	}
	return render(lang, "notice sms", d), nil
}

func noticeData(lang, kind, productName string, at time.Time) (textData, error) {
	if !slices.Contains(noticeKinds, kind) {
		return textData{}, fmt.Errorf("notify: unknown notice kind %q", kind)
	}
	d := textData{Product: product(productName), At: timeText(lang, at)}
	d.Body = render(lang, "notice body "+kind, d)
	d.Advice = renderOr(lang, "notice advice "+kind, "notice advice", d)
	return d, nil
}

func sentenceGap(lang string) string {
	if lang == LangChinese {
		return "" // Chinese full stops carry their own space
	}
	return " "
}

// durationText spells a code's lifetime: whole hours or minutes when it is
// one, else seconds below five minutes, else whole minutes rounded down
// (never promise more time than there is).
func durationText(lang string, d time.Duration) string {
	n, unit := 0, ""
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		n, unit = int(d/time.Hour), "hour"
	case d >= time.Minute && (d%time.Minute == 0 || d >= 5*time.Minute):
		n, unit = int(d/time.Minute), "minute"
	default:
		n, unit = max(int(d/time.Second), 1), "second"
	}
	if lang == LangChinese {
		return strconv.Itoa(n) + " " + map[string]string{"hour": "小时", "minute": "分钟", "second": "秒"}[unit]
	}
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}

// chinaTime is UTC+8, the one time zone of mainland China, whose users the
// zh-CN texts are written for.
var chinaTime = time.FixedZone("UTC+8", 8*60*60)

// timeText spells the moment of a notice with an explicit zone: we do not
// know the user's zone, and a bare clock time would mislead.
func timeText(lang string, at time.Time) string {
	if lang == LangChinese {
		return at.In(chinaTime).Format("2006年1月2日 15:04（UTC+8）")
	}
	return at.UTC().Format("January 2, 2006 at 15:04 UTC")
}
