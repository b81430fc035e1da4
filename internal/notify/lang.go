package notify

import (
	"strings"

	"golang.org/x/text/language"
)

// Languages the templates exist in.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN" // Simplified Chinese
)

// Languages lists every language the templates exist in, default first.
func Languages() []string { return []string{LangEnglish, LangChinese} }

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// maxAcceptLanguage bounds the header we parse; real ones are tens of bytes.
const maxAcceptLanguage = 256

// PickLang chooses the language of a message: the x-authing-lang header
// (GenAuth sends "zh-CN", "en-US", "zh-TW", "ja-JP") if we have something
// close to it, else the best match for Accept-Language, else English.
// Traditional Chinese gets Simplified Chinese, the closer of the two.
func PickLang(xAuthingLang, acceptLanguage string) string {
	if tag, err := language.Parse(strings.TrimSpace(xAuthingLang)); err == nil {
		if _, i, conf := langMatcher.Match(tag); conf != language.No {
			return Languages()[i]
		}
	}
	if len(acceptLanguage) > maxAcceptLanguage {
		acceptLanguage = acceptLanguage[:maxAcceptLanguage]
		if c := strings.LastIndexByte(acceptLanguage, ','); c >= 0 {
			acceptLanguage = acceptLanguage[:c]
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return LangEnglish
	}
	if _, i, conf := langMatcher.Match(tags...); conf != language.No {
		return Languages()[i]
	}
	return LangEnglish
}

// normLang maps any string to a language we have templates for.
func normLang(lang string) string {
	if lang == LangChinese {
		return lang
	}
	if lang == LangEnglish || lang == "" {
		return LangEnglish
	}
	return PickLang(lang, "")
}
