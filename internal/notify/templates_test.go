package notify_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
)

var sixDigits = regexp.MustCompile(`\d{6}`)

func TestCodeEmailEveryChannelAndLanguage(t *testing.T) {
	const code = "493817"
	for _, lang := range notify.Languages() {
		seenSubjects := map[string]string{}
		for _, ch := range notify.EmailChannels() {
			t.Run(lang+"/"+ch, func(t *testing.T) {
				e := notify.CodeEmail(lang, ch, "Acme", code, 5*time.Minute)
				if e.Subject == "" || e.Text == "" || e.HTML == "" {
					t.Fatalf("empty part: %+v", e)
				}
				if strings.Contains(e.Subject, code) || sixDigits.MatchString(e.Subject) {
					t.Errorf("subject %q contains the code", e.Subject)
				}
				if !strings.Contains(e.Subject, "Acme") {
					t.Errorf("subject %q lacks the product name", e.Subject)
				}
				if strings.Count(e.Text, code) != 1 || !strings.Contains(e.Text, "\n    "+code+"\n") {
					t.Errorf("text body should show the code once on its own line:\n%s", e.Text)
				}
				if !strings.Contains(e.HTML, ">"+code+"</p>") {
					t.Errorf("html body lacks the code:\n%s", e.HTML)
				}
				if !strings.Contains(e.HTML, `lang="`+lang+`"`) {
					t.Errorf("html lacks lang=%q", lang)
				}
				if strings.Contains(e.Text, "{{") || strings.Contains(e.HTML, "{{") || strings.Contains(e.Text, "<no value>") {
					t.Errorf("unrendered template text:\n%s", e.Text)
				}
				wantTTL := map[string]string{"en": "5 minutes", "zh-CN": "5 分钟"}[lang]
				if !strings.Contains(e.Text, wantTTL) || !strings.Contains(e.HTML, wantTTL) {
					t.Errorf("bodies lack the lifetime %q", wantTTL)
				}
				if prev, dup := seenSubjects[e.Text]; dup {
					t.Errorf("same text as %s", prev)
				}
				seenSubjects[e.Text] = ch
			})
		}
	}
}

func TestCodeEmailExactEnglishSentence(t *testing.T) {
	e := notify.CodeEmail("en", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute)
	for _, want := range []string{
		"Your code to reset your password is:",
		"It expires in 5 minutes.",
		"If you did not ask for it, ignore this message",
	} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if e.Subject != "Reset your Keyhaven password" {
		t.Errorf("subject = %q", e.Subject)
	}
	zh := notify.CodeEmail("zh-CN", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute)
	if !strings.Contains(zh.Text, "您正在重置密码，验证码为：") || !strings.Contains(zh.Text, "5 分钟内有效") {
		t.Errorf("zh text:\n%s", zh.Text)
	}
}

func TestCodeSMSTextEveryChannelAndLanguage(t *testing.T) {
	const code = "702394"
	for _, lang := range notify.Languages() {
		seen := map[string]string{}
		for _, ch := range notify.SMSChannels() {
			s := notify.CodeSMSText(lang, ch, "Acme", code, 10*time.Minute)
			if strings.Count(s, code) != 1 || !strings.Contains(s, "Acme") || strings.Contains(s, "\n") {
				t.Errorf("%s/%s: %q", lang, ch, s)
			}
			if prev, dup := seen[s]; dup {
				t.Errorf("%s/%s: same text as %s", lang, ch, prev)
			}
			seen[s] = ch
		}
	}
	got := notify.CodeSMSText("en", "CHANNEL_RESET_PASSWORD", "Keyhaven", "123456", 5*time.Minute)
	want := "Keyhaven: Your code to reset your password is 123456. It expires in 5 minutes. Never share it. If you did not ask for it, ignore this message."
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = notify.CodeSMSText("zh-CN", "CHANNEL_LOGIN", "Keyhaven", "123456", 5*time.Minute)
	want = "【Keyhaven】您正在登录 Keyhaven，验证码为 123456，5 分钟内有效。请勿泄露给他人。如非本人操作，请忽略本短信。"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestCodeUnknownChannelAndLanguageFallBack(t *testing.T) {
	e := notify.CodeEmail("fr-FR", "CHANNEL_SOMETHING_NEW", "", "111222", time.Minute)
	if e.Subject != "Your Keyhaven verification code" || !strings.Contains(e.Text, "111222") {
		t.Errorf("fallback: %+v", e)
	}
	if s := notify.CodeSMSText("zh-TW", "CHANNEL_SOMETHING_NEW", "X", "111222", time.Minute); !strings.Contains(s, "您正在进行身份验证") {
		t.Errorf("zh-TW fallback: %q", s)
	}
}

func TestTemplatesEscapeHTML(t *testing.T) {
	e := notify.CodeEmail("en", "CHANNEL_LOGIN", `<script>alert(1)</script> & Co`, "123456", time.Minute)
	if strings.Contains(e.HTML, "<script>") {
		t.Fatalf("product name not escaped:\n%s", e.HTML)
	}
	if !strings.Contains(e.HTML, html.EscapeString("<script>")) && !strings.Contains(e.HTML, "&lt;script&gt;") {
		t.Errorf("escaped product name missing:\n%s", e.HTML)
	}
	if !strings.Contains(e.Text, "<script>alert(1)</script> & Co") {
		t.Errorf("text body should keep the name as is:\n%s", e.Text)
	}
}

func TestNoticeEveryKindAndLanguage(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC)
	wantAt := map[string]string{"en": "March 4, 2025 at 05:06 UTC", "zh-CN": "2025年3月4日 13:06（UTC+8）"}
	for _, lang := range notify.Languages() {
		for _, kind := range notify.NoticeKinds() {
			e, err := notify.NoticeEmail(lang, kind, "Acme", at)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if e.Subject == "" || !strings.Contains(e.Text, wantAt[lang]) || !strings.Contains(html.UnescapeString(e.HTML), wantAt[lang]) {
				t.Errorf("%s/%s: %+v", lang, kind, e)
			}
			if sixDigits.MatchString(e.Text) {
				t.Errorf("%s/%s: a notice has a code-like number:\n%s", lang, kind, e.Text)
			}
			s, err := notify.NoticeSMSText(lang, kind, "Acme", at)
			if err != nil || !strings.Contains(s, wantAt[lang]) || !strings.Contains(s, "Acme") {
				t.Errorf("%s/%s sms: %q, %v", lang, kind, s, err)
			}
		}
	}
	e, _ := notify.NoticeEmail("en", "password_changed", "Keyhaven", at)
	want := "Your Keyhaven password was changed on March 4, 2025 at 05:06 UTC.\n\nIf this wasn't you, reset your password now and contact support."
	if !strings.Contains(e.Text, want) {
		t.Errorf("text:\n%s\nwant it to contain:\n%s", e.Text, want)
	}
	if _, err := notify.NoticeEmail("en", "password_stolen", "X", at); err == nil {
		t.Error("unknown kind: no error")
	}
	if _, err := notify.NoticeSMSText("en", "", "X", at); err == nil {
		t.Error("empty kind: no error")
	}
}

func TestPickLang(t *testing.T) {
	for _, c := range []struct{ x, accept, want string }{
		{"", "", "en"},
		{"zh-CN", "", "zh-CN"},
		{"en-US", "zh-CN,zh;q=0.9", "en"},
		{"zh-TW", "en", "zh-CN"},
		{"ja-JP", "", "en"},
		{"ja-JP", "ja,zh;q=0.5", "zh-CN"},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"", "en-GB,en;q=0.9", "en"},
		{"", "fr-FR, de;q=0.5", "en"},
		{"", "zh-Hant-HK", "zh-CN"},
		{"", "zh-SG", "zh-CN"},
		{"", "*", "en"},
		{"", "de;q=1, zh;q=0.1", "zh-CN"},
		{"garbage!!", "zh", "zh-CN"},
		{"", ";;;==,", "en"},
		{"", strings.Repeat("xx-YY;q=0.1,", 100) + "zh", "en"},
	} {
		if got := notify.PickLang(c.x, c.accept); got != c.want {
			t.Errorf("PickLang(%q, %q) = %q, want %q", c.x, c.accept, got, c.want)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com",
		"Ünal@example.de":   "Ü***@example.de",
		"@example.com":      "***@example.com",
		"no-at-sign":        "***",
		"":                  "",
		"a.b@c@example.org": "a***@example.org",
	} {
		if got := notify.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"+8613800138000":    "+86138****8000",
		"+86 138 0013 8000": "+86138****8000",
		"+14155552671":      "+141****2671",
		"13800138000":       "138****8000",
		"12345":             "****45",
		"12":                "****",
		"":                  "",
	} {
		if got := notify.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeEmailsMatchCodeEmail(t *testing.T) {
	langs := append(notify.Languages(), "fr-FR", "")
	channels := append(notify.EmailChannels(), "CHANNEL_SOMETHING_NEW")
	for _, product := range []string{"Acme", `<b>"Acme" & Co</b>`, "", "KEYHAVEN-CODE-MARK Inc"} {
		c := notify.NewCodeEmails(product)
		for _, lang := range langs {
			for _, ch := range channels {
				// The first call fills the cache, the others read it; a
				// code the escaper would change is rendered directly.
				for _, code := range []string{"493817", "120034", "AbC123", "12<34"} {
					for _, ttl := range []time.Duration{5 * time.Minute, 90 * time.Second} {
						got := c.Email(lang, ch, code, ttl)
						want := notify.CodeEmail(lang, ch, product, code, ttl)
						if got != want {
							t.Fatalf("%q %s %s %q %v:\n got %+v\nwant %+v", product, lang, ch, code, ttl, got, want)
						}
					}
				}
			}
		}
	}
}
