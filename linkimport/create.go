package linkimport

import (
	"context"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// Maker makes the links of checked rows.
type Maker struct {
	Store  *models.Store
	Config *config.Config
	// Shop names the shop in the links' emails.
	Shop emails.Shop
	// SendEmail queues each new link's email (rows with a customer email),
	// in EmailLang (es or en), in the links' own transaction.
	SendEmail bool
	EmailLang string
	// CreatedBy is the staff member importing; nil on the command line.
	CreatedBy *uint
}

// Rules are the configuration's rules for new links.
func (m *Maker) Rules() Rules {
	return Rules{Mode: string(m.Config.Mode), MaxAmount: m.Config.MaxOrderAmount}
}

// Make checks rows and makes the good ones' links in one transaction; the
// rows come back with what became of each (LinkID and Code, or InUseBy
// when the order id already had a link).
func (m *Maker) Make(ctx context.Context, rows []models.ImportRow) ([]Row, error) {
	batch := m.batch(Check(rows, m.Rules()))
	if err := m.Store.CreateLinks(ctx, batch, m.email()); err != nil {
		return nil, err
	}
	return Check(models.ImportOutcomes(rows, batch), m.Rules()), nil
}

// Confirm makes the links of a pending import, checking its stored rows
// again, and marks it done with its result in the same transaction
// (models.ErrImportDone if it was confirmed already). The rows come back
// as Make returns them.
func (m *Maker) Confirm(ctx context.Context, imp *models.LinkImport, rows []models.ImportRow, now time.Time) ([]Row, error) {
	batch := m.batch(Check(rows, m.Rules()))
	if err := m.Store.ConfirmLinkImport(ctx, imp, rows, batch, m.email(), now); err != nil {
		return nil, err
	}
	return Check(models.ImportOutcomes(rows, batch), m.Rules()), nil
}

// batch is the links the good rows make.
func (m *Maker) batch(rows []Row) []models.BatchLink {
	var batch []models.BatchLink
	for i := range rows {
		if r := &rows[i]; r.OK() && !r.Created() {
			in := r.Input
			in.CreatedByID = m.CreatedBy
			batch = append(batch, models.BatchLink{Line: r.Line, In: in})
		}
	}
	return batch
}

// email builds a new link's email, or is nil when none is asked for.
func (m *Maker) email() func(*models.Link) (*models.OutboxMessage, error) {
	if !m.SendEmail {
		return nil
	}
	return func(l *models.Link) (*models.OutboxMessage, error) {
		msg, err := emails.Link(m.Config, m.Shop, l, m.EmailLang)
		if err == nil {
			msg.CreatedByID = m.CreatedBy
		}
		return msg, err
	}
}
