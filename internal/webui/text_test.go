package webui

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

// Every sentence exists in every language, with the same placeholders.
func TestTextsMatch(t *testing.T) {
	ph := regexp.MustCompile(`\{\w+\}`)
	en := texts["en"]
	for _, l := range languageNames {
		tr, ok := texts[l.Lang]
		if !ok {
			t.Fatalf("no texts for %s", l.Lang)
		}
		for k, v := range en {
			w, ok := tr[k]
			if !ok || w == "" {
				t.Errorf("%s: %q missing", l.Lang, k)
				continue
			}
			a, b := ph.FindAllString(v, -1), ph.FindAllString(w, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: %q has placeholders %v, English has %v", l.Lang, k, b, a)
			}
		}
		if len(tr) != len(en) {
			t.Errorf("%s has %d sentences, English %d", l.Lang, len(tr), len(en))
		}
	}
}

func TestSpell(t *testing.T) {
	for _, tc := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 5 * time.Minute, "5 minutes"},
		{"en", time.Minute, "1 minute"},
		{"en", 90 * time.Second, "90 seconds"},
		{"zh-CN", 5 * time.Minute, "5 分钟"},
		{"zh-CN", 30 * time.Second, "30 秒"},
	} {
		if got := spell(tc.lang, tc.d); got != tc.want {
			t.Errorf("spell(%s, %v) = %q, want %q", tc.lang, tc.d, got, tc.want)
		}
	}
}
