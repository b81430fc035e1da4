// Package messages renders the account flows' messages with package
// notify's templates into outbox rows (implements account.Messages).
package messages

import (
	"time"

	"github.com/keyhaven/keyhaven/internal/ident"
	"github.com/keyhaven/keyhaven/internal/notify"
	"github.com/keyhaven/keyhaven/internal/store"
)

// noticeTTL: a notice is worth delivering late; a code is not.
const noticeTTL = 24 * time.Hour

// Renderer renders messages for one product name.
type Renderer struct {
	Product string
	Region  string
	Now     func() time.Time
	codes   *notify.CodeEmails
}

// New returns a Renderer for product that renders each kind of code email
// once.
func New(product, region string, now func() time.Time) Renderer {
	return Renderer{Product: product, Region: region, Now: now, codes: notify.NewCodeEmails(product)}
}

// CodeEmail implements account.Messages.
func (r Renderer) CodeEmail(lang, channel, to, code string, ttl time.Duration) (*store.OutboxMessage, error) {
	var e notify.Email
	if r.codes != nil {
		e = r.codes.Email(lang, channel, code, ttl)
	} else {
		e = notify.CodeEmail(lang, channel, r.Product, code, ttl)
	}
	e.To = to
	m, err := notify.EmailMessage(e, r.Now(), ttl)
	return &m, err
}

// CodeSMS implements account.Messages.
func (r Renderer) CodeSMS(lang, channel string, to ident.Phone, code string, ttl time.Duration) (*store.OutboxMessage, error) {
	m, err := notify.SMSMessage(notify.SMS{PhoneNumber: to.National, PhoneCountryCode: to.CountryCode, Channel: channel,
		Code: code, Text: notify.CodeSMSText(lang, channel, r.Product, code, ttl)}, r.Now(), ttl)
	return &m, err
}

// Notice implements account.Messages: email if the account has one, else SMS.
func (r Renderer) Notice(lang, kind string, u store.User) (*store.OutboxMessage, error) {
	return r.NoticeTo(lang, kind, u.Email, u.Phone)
}

// NoticeTo sends a notice to an explicit address or number (e.g. the old
// address after a change).
func (r Renderer) NoticeTo(lang, kind, email, phone string) (*store.OutboxMessage, error) {
	now := r.Now()
	switch {
	case email != "":
		e, err := notify.NoticeEmail(lang, kind, r.Product, now)
		if err != nil {
			return nil, err
		}
		e.To = email
		m, err := notify.EmailMessage(e, now, noticeTTL)
		return &m, err
	case phone != "":
		p, err := ident.ParsePhone(phone, "", r.Region)
		if err != nil {
			return nil, err
		}
		text, err := notify.NoticeSMSText(lang, kind, r.Product, now)
		if err != nil {
			return nil, err
		}
		m, err := notify.SMSMessage(notify.SMS{PhoneNumber: p.National, PhoneCountryCode: p.CountryCode, Text: text}, now, noticeTTL)
		return &m, err
	}
	return nil, nil
}
