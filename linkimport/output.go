package linkimport

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"

	"etpay-dashboard/views"
)

// ResultColumns are the columns of a result file, in order: the four of the
// import (so a result can be corrected and imported again: the others are
// ignored), then what became of the row.
var ResultColumns = []string{ColOrder, ColAmount, ColEmail, ColDescription, "status", "url", "error"}

// Words of a result's status column.
const (
	StatusCreated = "created"
	StatusError   = "error"
)

// Message is a bad row's problems in l's words, column by column, in the
// file's column order.
func Message(l views.Locale, r *Row) string {
	msgs := views.FieldMessages(l, r.Problems)
	var parts []string
	for _, col := range ResultColumns[:4] {
		if m, ok := msgs[col]; ok {
			parts = append(parts, l.T("field."+col)+": "+m)
		}
	}
	return strings.Join(parts, " ")
}

// Amount is a row's amount as a result writes it: whole pesos in digits
// when it could be read, else as typed.
func Amount(r *Row) string {
	if _, bad := r.Problems[ColAmount]; bad || r.Input.Amount <= 0 {
		return r.Amount
	}
	return strconv.FormatInt(r.Input.Amount, 10)
}

// Cells is a row of the result, in ResultColumns' order, its cells as
// typed: for an .xlsx, whose text cells a spreadsheet never runs as
// formulas. url makes a link's public URL from its code.
func Cells(l views.Locale, r *Row, url func(code string) string) []string {
	status, link, msg := StatusError, "", Message(l, r)
	if r.Created() {
		status, link, msg = StatusCreated, url(r.Code), ""
	}
	return []string{r.MerchantOrderID, Amount(r), r.CustomerEmail, r.Description, status, link, msg}
}

// Record is a row of the result as CSV writes it: Cells, with the file's
// four columns defused (a CSV cell is read as a formula when it looks like one).
func Record(l views.Locale, r *Row, url func(code string) string) []string {
	rec := Cells(l, r, url)
	for i := range 4 {
		rec[i] = defuse(rec[i])
	}
	return rec
}

// WriteCSV writes the result as CSV separated by comma, with a UTF-8 BOM
// when bom is set (Excel then reads the accents right).
func WriteCSV(w io.Writer, l views.Locale, rows []Row, url func(code string) string, comma rune, bom bool) error {
	if bom {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma = comma
	if err := cw.Write(ResultColumns); err != nil {
		return err
	}
	for i := range rows {
		if err := cw.Write(Record(l, &rows[i], url)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuse keeps a spreadsheet from reading a cell as a formula: one starting
// with = + - or @ gets a leading ', as the sessions CSV does.
func defuse(s string) string {
	if s != "" && slices.Contains([]byte("=+-@"), s[0]) {
		return "'" + s
	}
	return s
}
