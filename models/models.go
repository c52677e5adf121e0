// Package models holds etpay-dashboard's records and the Store, the one place
// where queries live. It knows nothing of HTTP or of ETpay's wire format.
package models

import (
	"errors"
	"time"
)

// Sentinel errors returned by the Store.
var (
	ErrNotFound   = errors.New("not found")
	ErrOrderInUse = errors.New("order id already has an open or paid link")
	ErrLinkClosed = errors.New("link is not open")
	ErrEmailTaken = errors.New("email already belongs to a user")
)

// OrderInUseError is ErrOrderInUse naming the link that already holds the
// order id, so that staff can be sent to it.
type OrderInUseError struct {
	LinkID uint
}

func (e *OrderInUseError) Error() string { return ErrOrderInUse.Error() }

// Is makes errors.Is(err, ErrOrderInUse) hold.
func (e *OrderInUseError) Is(target error) bool { return target == ErrOrderInUse }

// Roles a staff user can have.
const (
	RoleAdmin  = "admin"
	RoleStaff  = "staff"
	RoleViewer = "viewer"
)

// Link statuses.
const (
	LinkOpen      = "open"
	LinkPaid      = "paid"
	LinkCancelled = "cancelled"
	// LinkExpired is never stored: it is an open link whose expires_at has
	// passed, as the lists and the overview show it.
	LinkExpired = "expired"
)

// Session statuses, also the words of the CSV export.
const (
	StatusPending = "pending"
	StatusPaid    = "paid"
	StatusFailed  = "failed"
)

// Notification verdicts.
const (
	VerdictVerified  = "verified"
	VerdictDuplicate = "duplicate"
	VerdictRejected  = "rejected"
)

// Effects a notification had on its session.
const (
	EffectPaid     = "paid"
	EffectFailed   = "failed"
	EffectNone     = "none"
	EffectConflict = "conflict"
)

// Reasons stored for notifications that the Store itself rejects or flags.
const (
	ReasonOrderMismatch = "order_mismatch"
)

// Why a link needs a person (Link.ReviewReason): each means a refund to check.
const (
	ReviewDoublePayment   = "double_payment"
	ReviewPaidAfterCancel = "paid_after_cancel"
	ReviewPaidAfterExpiry = "paid_after_expiry"
	// ReviewUnreadable: a payment was applied to a link part of whose
	// stored data could not be read; a person checks it.
	ReviewUnreadable = "unreadable_data"
)

// User is a staff member who can log in to the panel.
type User struct {
	ID           uint   `gorm:"primaryKey"`
	Email        string `gorm:"uniqueIndex;not null"`
	PasswordHash string `gorm:"not null"`
	Role         string `gorm:"not null"`
	Disabled     bool   `gorm:"not null;default:false"`
	Lang         string `gorm:"not null;default:''"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// StaffSession is the server-side record behind a login cookie; deleting it
// logs the browser out even though the cookie is still signed.
type StaffSession struct {
	ID     string `gorm:"primaryKey"`
	UserID uint   `gorm:"index;not null"`
	// AwaitingCode marks a login whose password was right but whose second
	// factor is still to come: it is no login yet (UserBySession ignores it).
	AwaitingCode bool `gorm:"not null;default:false"`
	CreatedAt    time.Time
	ExpiresAt    time.Time `gorm:"index"`
}

// Setting is a value the application keeps for itself, such as a generated secret.
type Setting struct {
	Key   string `gorm:"primaryKey"`
	Value string `gorm:"not null"`
}

// Link is a payment link for one order, the thing emailed to a customer.
type Link struct {
	ID              uint   `gorm:"primaryKey"`
	Code            string `gorm:"uniqueIndex;not null"`
	MerchantOrderID string `gorm:"not null"`            // indexed NOCASE: idx_links_order_nocase
	Amount          int64  `gorm:"not null"`            // indexed: idx_links_amount
	CustomerEmail   string `gorm:"not null;default:''"` // searched through idx_links_customer_email_nocase and links_fts
	Description     string `gorm:"not null;default:''"`
	Status          string `gorm:"index:idx_links_status_mode,priority:1;not null"`
	Mode            string `gorm:"index:idx_links_status_mode,priority:2;not null"`
	CreatedByID     *uint
	CreatedBy       *User
	// CreatedVia names who made the link when no staff member did: the API
	// key's AuditName; empty for the command line and demo data.
	CreatedVia string `gorm:"not null;default:''"`
	// ReviewReason is set when a payment needs a person, such as a double payment.
	ReviewReason string `gorm:"not null;default:''"`
	// ExpiresAt, when set, is when the link stops starting sessions.
	ExpiresAt     *time.Time
	OpenedAt      *time.Time // first time the customer opened it
	LastOpenedAt  *time.Time // latest time the customer opened it
	CancelledAt   *time.Time
	CancelledByID *uint
	CreatedAt     time.Time `gorm:"index"`
	UpdatedAt     time.Time
	PaidAt        *time.Time

	// RemindersOff: staff turned this link's reminder emails off.
	RemindersOff bool `gorm:"not null;default:false"`
}

// Session is one ETpay session started for a link.
type Session struct {
	ID              uint   `gorm:"primaryKey"`
	LinkID          uint   `gorm:"index;not null"`
	Link            *Link  `gorm:"constraint:OnDelete:RESTRICT"`
	SessionToken    string `gorm:"uniqueIndex;not null"`
	SignatureToken  string `gorm:"not null"`
	Mode            string `gorm:"not null"`
	Status          string `gorm:"not null"` // indexed with created_at, amount and paid_at (see migrate)
	MerchantOrderID string `gorm:"index;not null"`
	Amount          int64  `gorm:"not null"`
	PaymentStatus   string `gorm:"not null;default:''"`
	PaymentToken    string `gorm:"not null;default:''"` // indexed where set: idx_sessions_payment_token_set
	// Conflict is set when ETpay said something after the session was paid that disagrees.
	Conflict             bool `gorm:"not null;default:false"`
	LastNotificationAt   *time.Time
	LastNotificationNote string `gorm:"not null;default:''"`
	// CheckedAt is when ETpay was last asked about this session (reconciliation).
	CheckedAt *time.Time
	CreatedAt time.Time // indexed with id and status (see ensureSessionIndexes)
	UpdatedAt time.Time
	PaidAt    *time.Time
	FailedAt  *time.Time
}

// Notification is one notification as received, whatever became of it.
type Notification struct {
	ID             uint  `gorm:"primaryKey"`
	SessionID      *uint `gorm:"index"`
	ReceivedAt     time.Time
	LastReceivedAt time.Time
	Count          int    `gorm:"not null;default:1"`
	RemoteAddr     string `gorm:"not null;default:''"`
	Source         string `gorm:"not null;default:'webhook'"`
	// Body is the body as received; of a rejected one only the first
	// RejectedBodyKeep bytes, and none past the hourly budget (BodyDropped).
	Body string `gorm:"not null"`
	// BodySize is the size of the whole body as received, in bytes.
	BodySize    int  `gorm:"not null;default:0"`
	BodyDropped bool `gorm:"not null;default:false"`
	// BodyHash is the SHA-256 of the whole body as received.
	BodyHash        string `gorm:"not null"` // indexed for rejected rows only (see migrate)
	Verdict         string `gorm:"not null"` // indexed with last_received_at (see migrate)
	Reason          string `gorm:"not null;default:''"`
	Effect          string `gorm:"not null;default:''"`
	SessionToken    string `gorm:"not null;default:''"`
	MerchantOrderID string `gorm:"not null;default:''"`
	PaymentToken    string `gorm:"not null;default:''"`
	PaymentStatus   string `gorm:"not null;default:''"`
	Claims          string `gorm:"not null;default:''"`
}

// AuditEntry records one staff action: who, what, when and from where.
type AuditEntry struct {
	ID        uint      `gorm:"primaryKey"`
	At        time.Time `gorm:"index"`
	UserID    *uint     `gorm:"index"`
	UserEmail string    `gorm:"not null;default:''"`
	Action    string    `gorm:"index;not null"`
	Detail    string    `gorm:"not null;default:''"`
	IP        string    `gorm:"not null;default:''"`
}

// Audit actions.
const (
	AuditLogin        = "login"
	AuditLoginFailed  = "login_failed"
	AuditLogout       = "logout"
	AuditLinkCreated  = "link_created"
	AuditLinkCanceled = "link_cancelled"
	AuditExport       = "export"
	AuditUserAdded    = "user_added"
	AuditUserChanged  = "user_changed"
	AuditPassword     = "password_changed"
	AuditReplay       = "notification_replayed"
	AuditCheck        = "status_checked"
	// AuditExpiryRepaired: a link's stored expiry could not be read and was
	// cleared at start (see clearUnreadableExpiries).
	AuditExpiryRepaired = "expiry_repaired"
	AuditUnlock         = "login_unlocked"
	// AuditLinksImported: links made from a spreadsheet (detail: file, counts).
	AuditLinksImported = "links_imported"
	// AuditReminders: a link's reminders turned off or on (detail: order id: off|on).
	AuditReminders = "link_reminders"
)
