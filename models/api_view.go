package models

import (
	"encoding/json"
	"strings"
	"time"
)

// apiZone is where the API's and the shop webhooks' times are told: a
// Chilean shop reads Chilean hours. models cannot import views (which
// owns the panel's copy), so it loads its own.
var apiZone = func() *time.Location {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		panic(err) // views embeds time/tzdata, and every binary links views
	}
	return loc
}()

// APITime is a time as the API writes it: RFC 3339 with America/Santiago's
// offset of that day.
type APITime time.Time

// MarshalJSON writes t as RFC 3339 in America/Santiago.
func (t APITime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).In(apiZone).Format(time.RFC3339))
}

// UnmarshalJSON reads an RFC 3339 time (any offset).
func (t *APITime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	*t = APITime(parsed)
	return nil
}

// apiTime is t as an APITime; nil when t is nil or zero.
func apiTime(t *time.Time) *APITime {
	if t == nil || t.IsZero() {
		return nil
	}
	v := APITime(*t)
	return &v
}

// LinkView is a link as the API and the shop's webhooks show it. Its field
// names and status words are a public interface (the OpenAPI document
// describes them): add fields, never rename one.
type LinkView struct {
	ID              uint     `json:"id"`
	URL             string   `json:"url"`
	MerchantOrderID string   `json:"merchant_order_id"`
	OrderAmount     int64    `json:"order_amount"`
	Currency        string   `json:"currency"`
	CustomerEmail   string   `json:"customer_email"`
	Description     string   `json:"description"`
	Status          string   `json:"status"` // open, paid, cancelled, expired
	Mode            string   `json:"mode"`   // sandbox or live
	CreatedAt       APITime  `json:"created_at"`
	ExpiresAt       *APITime `json:"expires_at"`
	OpenedAt        *APITime `json:"opened_at"`
	LastOpenedAt    *APITime `json:"last_opened_at"`
	CancelledAt     *APITime `json:"cancelled_at"`
	PaidAt          *APITime `json:"paid_at"`
	// NeedsReview is the reason a person must look at the link (such as a
	// double payment); empty when none.
	NeedsReview string `json:"needs_review"`
}

// SessionView is an ETpay session as the API and the shop's webhooks show
// it. Status is the CSV's word (pending, paid, failed); PaymentStatus is
// ETpay's raw value.
type SessionView struct {
	ID                 uint     `json:"id"`
	LinkID             uint     `json:"link_id"`
	MerchantOrderID    string   `json:"merchant_order_id"`
	OrderAmount        int64    `json:"order_amount"`
	Currency           string   `json:"currency"`
	Status             string   `json:"status"`
	PaymentStatus      string   `json:"payment_status"`
	PaymentToken       string   `json:"payment_token"`
	SessionToken       string   `json:"session_token"`
	Mode               string   `json:"mode"`
	CreatedAt          APITime  `json:"created_at"`
	PaidAt             *APITime `json:"paid_at"`
	FailedAt           *APITime `json:"failed_at"`
	LastNotificationAt *APITime `json:"last_notification_at"`
	// Notifications is the session's notification history, oldest first;
	// only where one session is asked for (nil is left out).
	Notifications []NotificationView `json:"notifications,omitempty"`
}

// NotificationView is one received notification as the API shows it: what
// it did, never its body (which may carry a signature).
type NotificationView struct {
	ID             uint    `json:"id"`
	ReceivedAt     APITime `json:"received_at"`
	LastReceivedAt APITime `json:"last_received_at"`
	Count          int     `json:"count"`
	Source         string  `json:"source"`
	Verdict        string  `json:"verdict"`
	Effect         string  `json:"effect"`
	Reason         string  `json:"reason"`
	PaymentStatus  string  `json:"payment_status"`
}

// CurrencyCLP is the only currency ETpay links take here.
const CurrencyCLP = "CLP"

// View is l as the API shows it at now; baseURL is the server's public
// address (BASE_URL), which the link's url starts with.
func (l *Link) View(baseURL string, now time.Time) LinkView {
	return LinkView{
		ID:              l.ID,
		URL:             strings.TrimRight(baseURL, "/") + "/pay/" + l.Code,
		MerchantOrderID: l.MerchantOrderID,
		OrderAmount:     l.Amount,
		Currency:        CurrencyCLP,
		CustomerEmail:   l.CustomerEmail,
		Description:     l.Description,
		Status:          l.ListStatus(now),
		Mode:            l.Mode,
		CreatedAt:       APITime(l.CreatedAt),
		ExpiresAt:       apiTime(l.ExpiresAt),
		OpenedAt:        apiTime(l.OpenedAt),
		LastOpenedAt:    apiTime(l.LastOpenedAt),
		CancelledAt:     apiTime(l.CancelledAt),
		PaidAt:          apiTime(l.PaidAt),
		NeedsReview:     l.ReviewReason,
	}
}

// View is s as the API shows it, without its notification history.
func (s *Session) View() SessionView {
	return SessionView{
		ID:                 s.ID,
		LinkID:             s.LinkID,
		MerchantOrderID:    s.MerchantOrderID,
		OrderAmount:        s.Amount,
		Currency:           CurrencyCLP,
		Status:             s.Status,
		PaymentStatus:      s.PaymentStatus,
		PaymentToken:       s.PaymentToken,
		SessionToken:       s.SessionToken,
		Mode:               s.Mode,
		CreatedAt:          APITime(s.CreatedAt),
		PaidAt:             apiTime(s.PaidAt),
		FailedAt:           apiTime(s.FailedAt),
		LastNotificationAt: apiTime(s.LastNotificationAt),
	}
}

// View is n as the API shows it.
func (n *Notification) View() NotificationView {
	return NotificationView{
		ID:             n.ID,
		ReceivedAt:     APITime(n.ReceivedAt),
		LastReceivedAt: APITime(n.LastReceivedAt),
		Count:          n.Count,
		Source:         n.Source,
		Verdict:        n.Verdict,
		Effect:         n.Effect,
		Reason:         n.Reason,
		PaymentStatus:  n.PaymentStatus,
	}
}
