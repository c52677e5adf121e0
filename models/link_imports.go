package models

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Statuses of a link import.
const (
	ImportPending = "pending" // previewed, waiting for confirmation
	ImportDone    = "done"    // confirmed: its rows carry what became of them
)

// How long a link import is kept: a preview waits an hour for its
// confirmation; a confirmed import's result can be downloaded for a day.
const (
	ImportPendingFor = time.Hour
	ImportResultFor  = 24 * time.Hour
)

// ErrImportDone is returned when an import is confirmed a second time.
var ErrImportDone = errors.New("link import already confirmed")

// LinkImport is a spreadsheet of links uploaded by a staff member, kept
// between its preview and its confirmation (so nothing the browser sends back
// is trusted but the choice to go ahead), then with its result.
type LinkImport struct {
	// ID is random and unguessable; only its uploader may use it.
	ID       string `gorm:"primaryKey"`
	UserID   uint   `gorm:"not null;index"`
	FileName string `gorm:"not null;default:''"`
	Mode     string `gorm:"not null"`
	// Rows is the file's rows as typed ([]ImportRow as JSON).
	Rows        string    `gorm:"not null"`
	Status      string    `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null;index"`
	ConfirmedAt *time.Time
}

// ImportRow is one row of an uploaded spreadsheet, as typed, and once the
// import is confirmed, what became of it.
type ImportRow struct {
	// Line is the row's line in the file (the header is line 1).
	Line            int    `json:"line"`
	MerchantOrderID string `json:"merchant_order_id"`
	Amount          string `json:"order_amount"`
	CustomerEmail   string `json:"customer_email"`
	Description     string `json:"description"`
	// LinkID and Code are the link made from the row.
	LinkID uint   `json:"link_id,omitempty"`
	Code   string `json:"code,omitempty"`
	// InUseBy is the link that already held the row's order id at confirmation.
	InUseBy uint `json:"in_use_by,omitempty"`
}

// SaveLinkImport stores a new import of rows for its uploader, pending for
// ImportPendingFor, under a fresh random id; expired imports go at the same time.
func (s *Store) SaveLinkImport(ctx context.Context, imp *LinkImport, rows []ImportRow, now time.Time) error {
	data, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	imp.ID = rand.Text()
	imp.Rows = string(data)
	imp.Status = ImportPending
	imp.CreatedAt = now.UTC()
	imp.ExpiresAt = now.Add(ImportPendingFor).UTC()
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("expires_at <= ?", now.UTC()).Delete(&LinkImport{}).Error; err != nil {
			return err
		}
		return tx.Create(imp).Error
	})
}

// LinkImportFor returns an unexpired import and its rows, if userID uploaded
// it; anyone else's, or an expired one, is ErrNotFound.
func (s *Store) LinkImportFor(ctx context.Context, id string, userID uint, now time.Time) (*LinkImport, []ImportRow, error) {
	var imp LinkImport
	err := s.read.WithContext(ctx).Where("id = ? AND user_id = ? AND expires_at > ?", id, userID, now.UTC()).Take(&imp).Error
	if err != nil {
		return nil, nil, notFound(err)
	}
	var rows []ImportRow
	if err := json.Unmarshal([]byte(imp.Rows), &rows); err != nil {
		return nil, nil, fmt.Errorf("read link import %s: %w", id, err)
	}
	return &imp, rows, nil
}

// BatchLink is one link of a batch: what to make and, once made, the link,
// or the link that already held its order id.
type BatchLink struct {
	Line  int // the import row it comes from
	In    LinkInput
	Link  *Link
	InUse uint
}

// CreateLinks makes a batch of links in one transaction, each exactly as
// CreateLink would (the same insert, the same order-in-use rule), queueing
// the email of each link with a customer email when email is not nil. A
// link whose order id is in use is skipped, with InUse set; any other
// error stores nothing.
func (s *Store) CreateLinks(ctx context.Context, batch []BatchLink, email func(*Link) (*OutboxMessage, error)) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.createLinks(tx, batch, email)
	})
}

// ConfirmLinkImport makes the links of a pending import (CreateLinks) and,
// in the same transaction, marks it done with each row's outcome, so that
// it is confirmed once: a second confirmation is ErrImportDone.
func (s *Store) ConfirmLinkImport(ctx context.Context, imp *LinkImport, rows []ImportRow, batch []BatchLink,
	email func(*Link) (*OutboxMessage, error), now time.Time) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&LinkImport{}).Where("id = ? AND user_id = ? AND status = ?", imp.ID, imp.UserID, ImportPending).
			Updates(map[string]any{"status": ImportDone, "confirmed_at": now.UTC(), "expires_at": now.Add(ImportResultFor).UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrImportDone
		}
		if err := s.createLinks(tx, batch, email); err != nil {
			return err
		}
		data, err := json.Marshal(ImportOutcomes(rows, batch))
		if err != nil {
			return err
		}
		imp.Status, imp.Rows = ImportDone, string(data)
		return tx.Model(&LinkImport{}).Where("id = ?", imp.ID).Update("rows", imp.Rows).Error
	})
}

// ImportOutcomes is rows with what became of each, as the batch made from
// them says.
func ImportOutcomes(rows []ImportRow, batch []BatchLink) []ImportRow {
	byLine := make(map[int]*BatchLink, len(batch))
	for i := range batch {
		byLine[batch[i].Line] = &batch[i]
	}
	out := make([]ImportRow, len(rows))
	for i, r := range rows {
		if b := byLine[r.Line]; b != nil {
			r.InUseBy = b.InUse
			if b.Link != nil {
				r.LinkID, r.Code = b.Link.ID, b.Link.Code
			}
		}
		out[i] = r
	}
	return out
}

// createLinks is CreateLinks inside the transaction tx, the shop's
// link.created events queued with the links.
func (s *Store) createLinks(tx *gorm.DB, batch []BatchLink, email func(*Link) (*OutboxMessage, error)) error {
	t := txStore{tx: tx, orderIDsLocked: true}
	links := make([]*Link, len(batch))
	for i, b := range batch {
		l, err := newLink(b.In)
		if err != nil {
			return err
		}
		links[i] = l
	}
	// The whole batch's order ids at once, in one order: two imports
	// sharing some never wait in a circle.
	if err := lockOrderIDs(tx, links...); err != nil {
		return err
	}
	made := make([]*Link, 0, len(batch))
	for i, l := range links {
		b := &batch[i]
		// CreateLink's own insert, so its order-in-use rule is the only one.
		var inUse *OrderInUseError
		if err := t.createLink(l); errors.As(err, &inUse) {
			b.InUse = inUse.LinkID
			continue
		} else if err != nil {
			return err
		}
		b.Link = l
		made = append(made, l)
		if email == nil || l.CustomerEmail == "" {
			continue
		}
		msg, err := email(l)
		if err != nil {
			return err
		}
		msg.LinkID = &l.ID
		if err := t.createQueued(msg); err != nil {
			return err
		}
	}
	return s.queueLinksCreated(tx, made...)
}

// OrdersInUse maps those of ids that already have an open (unexpired) or paid
// link in mode to that link, the way CreateLink would refuse them.
func (s *Store) OrdersInUse(ctx context.Context, mode string, ids []string, now time.Time) (map[string]uint, error) {
	out := map[string]uint{}
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		var rows []struct {
			ID              uint
			MerchantOrderID string
		}
		err := s.read.WithContext(ctx).Model(&Link{}).Select("id", "merchant_order_id").
			// Through the NOCASE index of order ids; as written below.
			Where("merchant_order_id COLLATE NOCASE IN ? AND mode = ? AND status IN ?", part, mode, []string{LinkOpen, LinkPaid}).
			Where("status = ? OR expires_at IS NULL OR expires_at > ?", LinkPaid, now.UTC()).
			Order("id").Find(&rows).Error
		if err != nil {
			return nil, err
		}
		want := make(map[string]bool, len(part))
		for _, id := range part {
			want[id] = true
		}
		for _, r := range rows {
			if want[r.MerchantOrderID] {
				out[r.MerchantOrderID] = r.ID // the newest wins, as in createLink
			}
		}
	}
	return out, nil
}
