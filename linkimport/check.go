package linkimport

import (
	"context"
	"time"

	"etpay-dashboard/clp"
	"etpay-dashboard/models"
)

// Rules are what a row is checked against: the mode its link is made in and
// the largest amount allowed (MAX_ORDER_AMOUNT).
type Rules struct {
	Mode      string
	MaxAmount int64
}

// Row is an import row with what its check found: the link it makes, or
// its problems by column. Once imported, LinkID (and Code) or InUseBy say
// what became of it.
type Row struct {
	models.ImportRow
	Input    models.LinkInput
	Problems models.FieldErrors
}

// OK reports whether the row makes a link.
func (r *Row) OK() bool { return len(r.Problems) == 0 }

// Created reports whether the row's link was made.
func (r *Row) Created() bool { return r.LinkID != 0 }

// Check checks rows by the new-link form's rules, and against each other: an
// order id repeated in the file is refused after its first row. It needs no
// database; see InUse for the order ids that already have a link.
func Check(rows []models.ImportRow, rules Rules) []Row {
	out := make([]Row, len(rows))
	first := map[string]int{} // order id -> line of its first row
	for i, ir := range rows {
		r := Row{ImportRow: ir}
		r.Input, r.Problems = validate(ir, rules)
		if line, seen := first[ir.MerchantOrderID]; seen && ir.MerchantOrderID != "" {
			if _, bad := r.Problems["merchant_order_id"]; !bad {
				r.Problems["merchant_order_id"] = models.FieldError{Key: "import.invalid.duplicate", Args: []any{line}}
			}
		} else if ir.MerchantOrderID != "" {
			first[ir.MerchantOrderID] = ir.Line
		}
		switch {
		case r.Created(): // made: whatever the rules say now
			r.Problems = models.FieldErrors{}
		case ir.InUseBy != 0 && r.OK():
			r.Problems["merchant_order_id"] = models.FieldError{Key: "invalid.order_in_use"}
		}
		out[i] = r
	}
	return out
}

// validate is one row by the new-link form's rules.
func validate(ir models.ImportRow, rules Rules) (models.LinkInput, models.FieldErrors) {
	in := models.LinkInput{MerchantOrderID: ir.MerchantOrderID, CustomerEmail: ir.CustomerEmail,
		Description: ir.Description, Mode: rules.Mode}
	amount, amountErr := clp.Parse(ir.Amount)
	in.Amount = amount
	errs := models.ValidateLink(in, rules.MaxAmount)
	if amountErr != nil {
		errs["order_amount"] = *models.AmountProblem(amountErr, rules.MaxAmount)
	}
	if ir.MerchantOrderID == "" {
		errs["merchant_order_id"] = models.FieldError{Key: "import.invalid.order_missing"}
	}
	return in, errs
}

// InUse marks the good rows whose order id already has an open or paid link
// in the rules' mode, as the preview shows them (the confirmation checks
// again, inside its transaction).
func InUse(ctx context.Context, store *models.Store, rows []Row, rules Rules, now time.Time) error {
	var ids []string
	for i := range rows {
		if rows[i].OK() {
			ids = append(ids, rows[i].MerchantOrderID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	inUse, err := store.OrdersInUse(ctx, rules.Mode, ids, now)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		if id, ok := inUse[r.MerchantOrderID]; ok && r.OK() {
			r.InUseBy = id
			r.Problems["merchant_order_id"] = models.FieldError{Key: "invalid.order_in_use"}
		}
	}
	return nil
}

// Counts are how many rows are good and bad (or, after the import, made and refused).
type Counts struct{ Good, Bad int }

// Count counts rows: good ones make (or made) a link.
func Count(rows []Row) Counts {
	var c Counts
	for i := range rows {
		if rows[i].OK() || rows[i].Created() {
			c.Good++
		} else {
			c.Bad++
		}
	}
	return c
}
