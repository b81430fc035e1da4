package notify

import (
	"testing"
	"time"
)

func TestDurationText(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		en, zh string
	}{
		{5 * time.Minute, "5 minutes", "5 分钟"},
		{time.Minute, "1 minute", "1 分钟"},
		{time.Hour, "1 hour", "1 小时"},
		{2 * time.Hour, "2 hours", "2 小时"},
		{90 * time.Minute, "90 minutes", "90 分钟"},
		{90 * time.Second, "90 seconds", "90 秒"},
		{30 * time.Second, "30 seconds", "30 秒"},
		{10*time.Minute + 30*time.Second, "10 minutes", "10 分钟"},
		{time.Millisecond, "1 second", "1 秒"},
	} {
		if got := durationText(LangEnglish, c.d); got != c.en {
			t.Errorf("en %v = %q, want %q", c.d, got, c.en)
		}
		if got := durationText(LangChinese, c.d); got != c.zh {
			t.Errorf("zh %v = %q, want %q", c.d, got, c.zh)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for n, base := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second, 9: 5 * time.Minute, 50: 5 * time.Minute} {
		for range 100 {
			if d := DefaultBackoff(n); d < base/2 || d > base {
				t.Fatalf("DefaultBackoff(%d) = %v, want in [%v, %v]", n, d, base/2, base)
			}
		}
	}
}
