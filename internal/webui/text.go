package webui

import (
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/internal/notify"
)

// texts holds every sentence of the page, per language. The page renders
// the static ones; the script gets them all (for the messages it shows
// after a call) in the page's JSON configuration block, so one table is
// the only place a sentence is written. {name} marks a value filled in by
// whoever shows the sentence.
var texts = map[string]map[string]string{
	notify.LangEnglish: {
		"title":          "Reset your password · {product}",
		"startTitle":     "Forgot your password?",
		"startIntro":     "Enter the email address or phone number of your account and we will send you a 6-digit code.",
		"targetLabel":    "Email or phone number",
		"targetHint":     "For a phone number from another country, start with + and the country code.",
		"sendCode":       "Send code",
		"codeTitle":      "Enter the code",
		"codeLabel":      "6-digit code",
		"verifyCode":     "Continue",
		"resend":         "Send a new code",
		"resendIn":       "Send a new code in {s} s",
		"changeTarget":   "Use a different email or phone number",
		"passwordTitle":  "Choose a new password",
		"passwordHint":   "Use at least {n} characters. A few unrelated words make a strong password that is easy to remember.",
		"passwordLabel":  "New password",
		"password2Label": "New password again",
		"setPassword":    "Change password",
		"doneTitle":      "Password changed",
		"doneText":       "Your password has been changed and you have been signed out on every device.",
		"doneNoLink":     "You can now sign in with your new password.",
		"backToSignIn":   "Back to sign in",
		"startAgain":     "Start again",
		"noscript":       "This page needs JavaScript. Turn it on and reload the page.",
		"languages":      "Language",
		"problemTitle":   "This page is not available",
		"problemNoApp":   "The link to this page does not say which application it belongs to. Go back to the sign-in page and choose “Forgot password?” again.",
		"problemUnknown": "The link to this page names an application that does not exist. Go back to the sign-in page and choose “Forgot password?” again.",
		"problemDown":    "The service is not available right now. Please try again in a few minutes.",

		"codeSent":        "If an account exists for {target}, a code is on its way. It is valid for {ttl}.",
		"throttleMinute":  "A code was sent to {target} a moment ago. Enter that code, or ask for a new one when the countdown ends.",
		"throttleHour":    "Too many codes were sent to this address. Try again in an hour.",
		"throttleDay":     "Too many wrong codes were entered for this address today. Try again tomorrow.",
		"smsBudget":       "This service has sent as many text messages as it may for now. Try again later, or use your email address.",
		"rateLimited":     "Too many requests from your network. Try again in a minute.",
		"wrongCode":       "That code is not right. {n} tries left.",
		"wrongCode1":      "That code is not right. 1 try left.",
		"codeDead":        "This code has expired or can no longer be used. Start again to get a new one.",
		"tokenDead":       "This password reset has expired or was already used. Start again to get a new code.",
		"mismatch":        "The two passwords are not the same.",
		"reused":          "The new password must be different from your current one.",
		"policyEmpty":     "Enter a new password.",
		"policyShort":     "The password must have at least {n} characters.",
		"policyLong":      "The password must have at most {n} characters.",
		"policyCommon":    "This is one of the most commonly used passwords. Choose another.",
		"policyWeak":      "This password is too easy to guess. A few unrelated words make a strong one.",
		"policyUserInput": "The password must not be your email address, username or phone number.",
		"badTarget":       "Enter an email address (like name@example.com) or a phone number.",
		"badEmail":        "This email address does not look right. Check it and try again.",
		"badPhone":        "This phone number does not look right. For a number from another country, start with + and the country code.",
		"badCode":         "Enter the 6-digit code from the message.",
		"badApp":          "This page is not set up correctly. Go back to the sign-in page and try again.",
		"serverError":     "Something went wrong on our side. Please try again in a moment.",
		"networkError":    "Could not reach the server. Check your connection and try again.",
	},
	notify.LangChinese: {
		"title":          "重置密码 · {product}",
		"startTitle":     "忘记密码？",
		"startIntro":     "请输入账号绑定的邮箱或手机号，我们会向你发送 6 位数字验证码。",
		"targetLabel":    "邮箱或手机号",
		"targetHint":     "其他国家或地区的手机号，请以 + 和国家代码开头。",
		"sendCode":       "发送验证码",
		"codeTitle":      "输入验证码",
		"codeLabel":      "6 位验证码",
		"verifyCode":     "继续",
		"resend":         "重新发送验证码",
		"resendIn":       "{s} 秒后可重新发送",
		"changeTarget":   "使用其他邮箱或手机号",
		"passwordTitle":  "设置新密码",
		"passwordHint":   "至少 {n} 个字符。几个互不相关的词组合在一起，既安全又好记。",
		"passwordLabel":  "新密码",
		"password2Label": "再次输入新密码",
		"setPassword":    "修改密码",
		"doneTitle":      "密码已修改",
		"doneText":       "你的密码已修改，所有设备上的登录均已退出。",
		"doneNoLink":     "现在可以使用新密码登录了。",
		"backToSignIn":   "返回登录",
		"startAgain":     "重新开始",
		"noscript":       "此页面需要 JavaScript。请启用后刷新页面。",
		"languages":      "语言",
		"problemTitle":   "此页面无法使用",
		"problemNoApp":   "此页面的链接没有指明所属的应用。请返回登录页，重新点击“忘记密码？”。",
		"problemUnknown": "此页面的链接指向一个不存在的应用。请返回登录页，重新点击“忘记密码？”。",
		"problemDown":    "服务暂时不可用，请几分钟后再试。",

		"codeSent":        "如果 {target} 对应的账号存在，验证码已在发送途中，{ttl}内有效。",
		"throttleMinute":  "刚刚已向 {target} 发送过验证码。请输入该验证码，或在倒计时结束后重新发送。",
		"throttleHour":    "发送到该地址的验证码过多，请一小时后再试。",
		"throttleDay":     "该地址今天输错验证码的次数过多，请明天再试。",
		"smsBudget":       "本服务暂时无法再发送短信，请稍后再试，或改用邮箱。",
		"rateLimited":     "你的网络发出的请求过多，请一分钟后再试。",
		"wrongCode":       "验证码不正确，还可以再试 {n} 次。",
		"wrongCode1":      "验证码不正确，还可以再试 1 次。",
		"codeDead":        "验证码已过期或已失效，请重新开始以获取新的验证码。",
		"tokenDead":       "本次密码重置已过期或已完成，请重新开始以获取新的验证码。",
		"mismatch":        "两次输入的密码不一致。",
		"reused":          "新密码不能与当前密码相同。",
		"policyEmpty":     "请输入新密码。",
		"policyShort":     "密码至少需要 {n} 个字符。",
		"policyLong":      "密码最多 {n} 个字符。",
		"policyCommon":    "这是最常用的密码之一，请换一个。",
		"policyWeak":      "这个密码太容易被猜到。几个互不相关的词组合在一起会更安全。",
		"policyUserInput": "密码不能与你的邮箱、用户名或手机号相同。",
		"badTarget":       "请输入邮箱地址（例如 name@example.com）或手机号。",
		"badEmail":        "邮箱地址格式不正确，请检查后重试。",
		"badPhone":        "手机号格式不正确。其他国家或地区的号码，请以 + 和国家代码开头。",
		"badCode":         "请输入收到的 6 位数字验证码。",
		"badApp":          "此页面配置有误。请返回登录页后重试。",
		"serverError":     "服务出现问题，请稍后再试。",
		"networkError":    "无法连接到服务器，请检查网络后重试。",
	},
}

// languageNames are the labels of the language switch, each in its own
// language, in the order shown.
var languageNames = []struct{ Lang, Name string }{
	{notify.LangEnglish, "English"},
	{notify.LangChinese, "简体中文"},
}

// spell says how long d is, in whole minutes when it is a whole number of
// them, else in seconds.
func spell(lang string, d time.Duration) string {
	if d%time.Minute == 0 && d >= time.Minute {
		m := int(d / time.Minute)
		if lang == notify.LangChinese {
			return fmt.Sprintf("%d 分钟", m)
		}
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	s := int((d + time.Second - 1) / time.Second)
	if lang == notify.LangChinese {
		return fmt.Sprintf("%d 秒", s)
	}
	if s == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", s)
}
