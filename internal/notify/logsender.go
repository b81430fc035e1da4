package notify

import (
	"context"
	"log/slog"
)

// LogEmailSender "delivers" email by writing it to the log, for development
// when KEYHAVEN_SMTP_URL is unset.
//
// This is the one place a code or a message text may reach the log, and it
// is used only when the operator configured no email delivery at all (the
// server warns about it at start-up). Without it nobody could sign in on a
// development server. The line is at WARN with dev_sender=true so it stands
// out, and the recipient is still masked.
type LogEmailSender struct{ log *slog.Logger }

// NewLogEmailSender returns a development email sender writing to log
// (nil: slog.Default()).
func NewLogEmailSender(log *slog.Logger) *LogEmailSender {
	if log == nil {
		log = slog.Default()
	}
	return &LogEmailSender{log: log}
}

// SendEmail logs e.
func (l *LogEmailSender) SendEmail(ctx context.Context, e Email) error {
	l.log.LogAttrs(ctx, slog.LevelWarn, "email not sent: no SMTP server configured (KEYHAVEN_SMTP_URL); development only",
		slog.Bool("dev_sender", true),
		slog.String("to", MaskEmail(e.To)),
		slog.String("subject", e.Subject),
		slog.String("text", e.Text),
	)
	return nil
}

// LogSMSSender is LogEmailSender for SMS, used when
// KEYHAVEN_SMS_WEBHOOK_URL is unset. The same caveat applies: it logs the
// text, code included, and exists for development only.
type LogSMSSender struct{ log *slog.Logger }

// NewLogSMSSender returns a development SMS sender writing to log (nil:
// slog.Default()).
func NewLogSMSSender(log *slog.Logger) *LogSMSSender {
	if log == nil {
		log = slog.Default()
	}
	return &LogSMSSender{log: log}
}

// SendSMS logs s.
func (l *LogSMSSender) SendSMS(ctx context.Context, s SMS) error {
	l.log.LogAttrs(ctx, slog.LevelWarn, "sms not sent: no SMS webhook configured (KEYHAVEN_SMS_WEBHOOK_URL); development only",
		slog.Bool("dev_sender", true),
		slog.String("to", MaskPhone(s.PhoneCountryCode+s.PhoneNumber)),
		slog.String("channel", s.Channel),
		slog.String("text", s.Text),
	)
	return nil
}
