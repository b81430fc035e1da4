package notify

import "strings"

// MaskEmail returns addr fit for a log line: the first character of the
// local part, "***", and the domain ("a***@example.com").
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		if addr == "" {
			return ""
		}
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" {
		return "***@" + domain
	}
	// First rune, not byte: a UTF-8 local part must stay valid UTF-8.
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}

// MaskPhone returns a phone number fit for a log line: the last four digits
// and at most the first five, with at least four hidden
// ("+8613800138000" → "+86138****8000"). Short numbers keep two digits.
func MaskPhone(phone string) string {
	var d []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	plus := ""
	if strings.HasPrefix(strings.TrimSpace(phone), "+") {
		plus = "+"
	}
	switch {
	case len(d) >= 8:
		head := min(5, len(d)-8)
		return plus + string(d[:head]) + "****" + string(d[len(d)-4:])
	case len(d) >= 4:
		return plus + "****" + string(d[len(d)-2:])
	case phone == "":
		return ""
	default:
		return "****"
	}
}
