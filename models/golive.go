package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// GoLiveFacts is what the go-live checklist reads from the database: proof
// that real payments went through before the merchant asks ETpay to go live.
type GoLiveFacts struct {
	// VerifiedLiveNotification: ETpay reached our webhook with a verified
	// notification for a live session (a status query would not prove that).
	VerifiedLiveNotification bool
	// LivePayments are the paid live sessions, newest first (at most the
	// limit asked for); LivePaymentCount counts them all.
	LivePayments     []Session
	LivePaymentCount int64
	// AdminsWithoutSecondFactor counts the enabled admins whose logins need
	// no code.
	AdminsWithoutSecondFactor int64
}

// GoLive reads the go-live facts, listing at most limit live payments.
func (s *Store) GoLive(ctx context.Context, limit int) (*GoLiveFacts, error) {
	f := &GoLiveFacts{}
	db := s.read.WithContext(ctx)
	var one int64
	err := db.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM notifications n JOIN sessions s ON s.id = n.session_id "+
		"WHERE n.verdict = ? AND n.source = 'webhook' AND s.mode = 'live' LIMIT 1) AS found", VerdictVerified).Scan(&one).Error
	if err != nil {
		return nil, err
	}
	f.VerifiedLiveNotification = one > 0
	err = db.Model(&User{}).Where("role = ? AND NOT disabled", RoleAdmin).
		Where("id NOT IN (?)", db.Model(&SecondFactor{}).Select("user_id").Where("secret <> ''")).
		Count(&f.AdminsWithoutSecondFactor).Error
	if err != nil {
		return nil, err
	}
	paid := func() *gorm.DB { return db.Model(&Session{}).Where("status = ? AND mode = 'live'", StatusPaid) }
	if err := paid().Count(&f.LivePaymentCount).Error; err != nil {
		return nil, err
	}
	err = paid().Select("id, merchant_order_id, amount, payment_token, paid_at").Order("paid_at DESC, id DESC").Limit(limit).Find(&f.LivePayments).Error
	return f, err
}

// LastLivePaymentAt is when the newest live payment was confirmed, zero if none.
func (f *GoLiveFacts) LastLivePaymentAt() time.Time {
	if len(f.LivePayments) == 0 || f.LivePayments[0].PaidAt == nil {
		return time.Time{}
	}
	return *f.LivePayments[0].PaidAt
}
