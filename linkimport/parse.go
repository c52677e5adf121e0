// Package linkimport makes payment links in bulk from a spreadsheet (.csv or
// .xlsx) with the columns merchant_order_id, order_amount, customer_email and
// description: it reads the file, checks each row by the new-link form's
// rules, makes the good rows' links in one transaction and writes the result
// back as a spreadsheet. The panel and the command line share it; it knows
// nothing of HTTP.
package linkimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"etpay-dashboard/models"
)

// Limits of one file: what a person imports at once, and what keeps an
// import quick (1,000 rows take well under a second).
const (
	MaxRows  = 5000
	MaxBytes = 2 << 20
)

// The columns, by their header names; the first two are required.
const (
	ColOrder       = "merchant_order_id"
	ColAmount      = "order_amount"
	ColEmail       = "customer_email"
	ColDescription = "description"
)

// FileError is why a whole file cannot be imported: a catalogue key and its
// arguments, so the panel and the command line say it in their language.
type FileError struct {
	Key  string
	Args []any
}

// Error is the catalogue key: callers say it with T(Key, Args...).
func (e *FileError) Error() string { return e.Key }

func fileError(key string, args ...any) *FileError { return &FileError{Key: key, Args: args} }

// zipMagic starts every .xlsx file (a zip archive), oleMagic every old .xls.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Parse reads the rows of a .csv or .xlsx file (told apart by content, not
// name). Empty rows are skipped; a *FileError says why the file as a whole
// cannot be read.
func Parse(data []byte) ([]models.ImportRow, error) {
	switch {
	case len(data) > MaxBytes:
		return nil, fileError("import.file.too_large", MaxBytes>>20)
	case len(bytes.TrimSpace(data)) == 0:
		return nil, fileError("import.file.empty")
	case bytes.HasPrefix(data, zipMagic):
		return parseXLSX(data)
	case bytes.HasPrefix(data, oleMagic):
		return nil, fileError("import.file.xls")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return nil, fileError("import.file.utf16")
	}
	return parseCSV(data)
}

// decodeText is a CSV's text as UTF-8: UTF-8 with or without its BOM, or
// else Windows-1252, which is how a Chilean Excel saves "CSV" (Latin-1 is
// its subset).
func decodeText(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if utf8.Valid(data) {
		return string(data)
	}
	text, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil { // Windows-1252 decodes every byte; kept for safety
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return string(text)
}

// separator guesses a CSV's separator from its first line: a Chilean Excel
// writes semicolons (the comma is its decimal mark), most other programs commas.
func separator(text string) rune {
	line, _, _ := strings.Cut(text, "\n")
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ';' || r == ',' || r == '\t'):
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

func parseCSV(data []byte) ([]models.ImportRow, error) {
	text := decodeText(data)
	comma := separator(text)
	// Excel's own hint, a first line "sep=;", names the separator.
	if first, rest, _ := strings.Cut(text, "\n"); len(strings.TrimSpace(first)) == 5 && strings.HasPrefix(first, "sep=") {
		comma, text = rune(first[4]), "\n"+rest // the header stays line 2
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var t table
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileError("import.file.unreadable_csv")
		}
		line, _ := r.FieldPos(0)
		// LazyQuotes reads a stray quote in a cell (15" x) as text, but a
		// quoted cell with text after its closing quote ("Polera" talla M)
		// would swallow the next lines into that cell, silently when the
		// column is one we ignore. No cell we read spans lines: refuse it.
		if slices.ContainsFunc(rec, func(cell string) bool { return strings.ContainsAny(cell, "\r\n") }) {
			return nil, fileError("import.file.cell_spans_lines", line)
		}
		if err := t.add(line, rec); err != nil {
			return nil, err
		}
	}
	return t.finish()
}

// table turns a file's records into rows: the first non-empty record is the
// header, which says which column holds what.
type table struct {
	cols map[string]int // column name -> index; nil until the header
	rows []models.ImportRow
}

func (t *table) add(line int, rec []string) error {
	if blank(rec) {
		return nil
	}
	if t.cols == nil {
		return t.header(rec)
	}
	if len(t.rows) == MaxRows {
		return fileError("import.file.too_many_rows", MaxRows)
	}
	cell := func(name string) string {
		i, ok := t.cols[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return cut(strings.TrimSpace(rec[i]))
	}
	row := models.ImportRow{Line: line, MerchantOrderID: cell(ColOrder), Amount: cell(ColAmount),
		CustomerEmail: cell(ColEmail), Description: cell(ColDescription)}
	if row.MerchantOrderID == "" && row.Amount == "" && row.CustomerEmail == "" && row.Description == "" {
		return nil // a row with text only in columns we do not read
	}
	t.rows = append(t.rows, row)
	return nil
}

// header reads the column names, in any order and any case; other columns
// (a result file's status, url and error) are ignored.
func (t *table) header(rec []string) error {
	t.cols = map[string]int{}
	for i, name := range rec {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\uFEFF")))
		switch name {
		case ColOrder, ColAmount, ColEmail, ColDescription:
			if _, twice := t.cols[name]; twice {
				return fileError("import.file.column_twice", name)
			}
			t.cols[name] = i
		}
	}
	var missing []string
	for _, name := range []string{ColOrder, ColAmount} {
		if _, ok := t.cols[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fileError("import.file.missing_columns", strings.Join(missing, ", "))
	}
	return nil
}

func (t *table) finish() ([]models.ImportRow, error) {
	if len(t.rows) == 0 {
		return nil, fileError("import.file.no_rows")
	}
	return t.rows, nil
}

// maxCell is the most kept of a cell: longer than any valid value (an
// email's 254), so a cut cell is still refused as too long, but a page
// showing it stays small.
const maxCell = 300

func cut(v string) string {
	if len(v) <= maxCell {
		return v
	}
	if r := []rune(v); len(r) > maxCell {
		return string(r[:maxCell]) + "…"
	}
	return v
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
