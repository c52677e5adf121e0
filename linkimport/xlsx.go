package linkimport

import (
	"bytes"

	"github.com/xuri/excelize/v2"

	"etpay-dashboard/models"
)

// unzipLimit bounds what an .xlsx may expand to: a real sheet of MaxRows
// rows is about a megabyte, so a file that unpacks to more is refused
// before it costs memory (a zip bomb).
const unzipLimit = 32 << 20

// parseXLSX reads the first sheet of an .xlsx. Cells are read as stored, not
// as their number format shows them, so 12990 formatted as "$12,990" reads 12990.
func parseXLSX(data []byte) ([]models.ImportRow, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: unzipLimit, UnzipXMLSizeLimit: unzipLimit})
	if err != nil {
		return nil, fileError("import.file.unreadable_xlsx")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fileError("import.file.no_rows")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fileError("import.file.unreadable_xlsx")
	}
	defer rows.Close()
	var t table
	for line := 1; rows.Next(); line++ {
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fileError("import.file.unreadable_xlsx")
		}
		if err := t.add(line, rec); err != nil {
			return nil, err
		}
	}
	if rows.Error() != nil {
		return nil, fileError("import.file.unreadable_xlsx")
	}
	return t.finish()
}
