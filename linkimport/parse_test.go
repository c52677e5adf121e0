package linkimport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"etpay-dashboard/models"
)

// latin1 is text as a Chilean Excel saves "CSV (delimitado por comas)":
// Windows-1252, semicolons, CRLF.
func latin1(t *testing.T, text string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// XLSX builds a one-sheet .xlsx whose cells are rows; an int64 is stored as
// a number formatted as CLP, the way a shop's spreadsheet holds amounts.
func XLSX(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	style, err := f.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := f.SetCellValue("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
			if _, ok := v.(int64); ok {
				f.SetCellStyle("Sheet1", cell, cell, style)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParse(t *testing.T) {
	want := []models.ImportRow{
		{Line: 2, MerchantOrderID: "OC-1", Amount: "12.990", CustomerEmail: "ana@correo.cl", Description: "Suscripción año"},
		{Line: 4, MerchantOrderID: "OC-2", Amount: "$5.000", Description: "Ñandú"},
	}
	tests := []struct {
		name string
		data []byte
		want []models.ImportRow
	}{
		{"UTF-8 with BOM, commas", []byte("\uFEFFmerchant_order_id,order_amount,customer_email,description\n" +
			"OC-1,12.990,ana@correo.cl,Suscripción año\n,,,\nOC-2,$5.000,,Ñandú\n"), want},
		{"Latin-1, semicolons, columns in another order and case", latin1(t, "Description;ORDER_AMOUNT;merchant_order_id;customer_email;notas\n"+
			"Suscripción año;12.990;OC-1;ana@correo.cl;x\n;;;;\nÑandú;$5.000;OC-2;;\n"), want},
		{"Excel's sep= line", []byte("sep=;\nmerchant_order_id;order_amount\nOC-1;12,5\n"),
			[]models.ImportRow{{Line: 3, MerchantOrderID: "OC-1", Amount: "12,5"}}},
		{"a huge cell is cut, still too long", []byte("merchant_order_id,order_amount,description\nOC-1,1," + strings.Repeat("ñ", 5000) + "\n"),
			[]models.ImportRow{{Line: 2, MerchantOrderID: "OC-1", Amount: "1", Description: strings.Repeat("ñ", 300) + "…"}}},
		{"quoted commas", []byte("merchant_order_id,order_amount,description\nOC-1,\"12,990\",\"Mesa, sillas\"\n"),
			[]models.ImportRow{{Line: 2, MerchantOrderID: "OC-1", Amount: "12,990", Description: "Mesa, sillas"}}},
		{"xlsx, amounts as numbers and as text", XLSX(t, [][]any{
			{"merchant_order_id", "order_amount", "customer_email", "description"},
			{"OC-1", int64(12990), "ana@correo.cl", "Suscripción año"},
			{},
			{"OC-2", "$5.000", "", "Ñandú"},
		}), []models.ImportRow{
			{Line: 2, MerchantOrderID: "OC-1", Amount: "12990", CustomerEmail: "ana@correo.cl", Description: "Suscripción año"},
			{Line: 4, MerchantOrderID: "OC-2", Amount: "$5.000", Description: "Ñandú"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("rows\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestParseRefusesFiles(t *testing.T) {
	many := "merchant_order_id,order_amount\n" + strings.Repeat("OC-1,1\n", MaxRows+1)
	tests := []struct {
		name string
		data []byte
		key  string
	}{
		{"empty", []byte(" \n"), "import.file.empty"},
		{"no amount column", []byte("merchant_order_id,monto\nOC-1,100\n"), "import.file.missing_columns"},
		{"a column twice", []byte("merchant_order_id,order_amount,order_amount\nOC-1,1,2\n"), "import.file.column_twice"},
		{"header only", []byte("merchant_order_id,order_amount\n"), "import.file.no_rows"},
		{"too many rows", []byte(many), "import.file.too_many_rows"},
		{"too large", bytes.Repeat([]byte("a"), MaxBytes+1), "import.file.too_large"},
		{"old Excel", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, "rest"...), "import.file.xls"},
		{"UTF-16", []byte{0xFF, 0xFE, 'm', 0}, "import.file.utf16"},
		{"broken zip", append([]byte("PK\x03\x04"), "not really"...), "import.file.unreadable_xlsx"},
		// A quoted cell with text after its closing quote runs to the end of the file.
		{"bad quotes", []byte("merchant_order_id,order_amount\nOC-1,\"1\"2\"x\n"), "import.file.cell_spans_lines"},
		{"a stray quote inside a cell", []byte("merchant_order_id,order_amount,description\nOC-1,100,Pantalla 15\" x\n"), ""},
		// Text after a closing quote, in a column nobody reads: the next
		// rows once vanished into that cell.
		{"rows swallowed by a quote", []byte("merchant_order_id,order_amount,notes\nOC-1,100,\"Polera\" talla M\nOC-2,200,x\nOC-3,300,\"y\"\n"), "import.file.cell_spans_lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.data)
			var fe *FileError
			if tt.key == "" { // LazyQuotes reads it
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
				return
			}
			if !errors.As(err, &fe) || fe.Key != tt.key {
				t.Fatalf("err %v, want %s", err, tt.key)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	rows := []models.ImportRow{
		{Line: 2, MerchantOrderID: "OC-1", Amount: "$12.990", CustomerEmail: "ana@correo.cl"},
		{Line: 3, MerchantOrderID: "OC-2", Amount: "doce mil"},
		{Line: 4, MerchantOrderID: "OC-3", Amount: "100", CustomerEmail: "no-es-correo"},
		{Line: 5, MerchantOrderID: "OC-1", Amount: "500"},
		{Line: 6, MerchantOrderID: "", Amount: "500"},
		{Line: 7, MerchantOrderID: "OC 7", Amount: "500", Description: strings.Repeat("x", 201)},
		{Line: 8, MerchantOrderID: "OC-8", Amount: ""},
		{Line: 9, MerchantOrderID: "OC-9", Amount: "2.000.000.000"},
	}
	want := map[int][]string{
		2: nil,
		3: {"order_amount:invalid.amount_format"},
		4: {"customer_email:invalid.email"},
		5: {"merchant_order_id:import.invalid.duplicate"},
		6: {"merchant_order_id:import.invalid.order_missing"},
		7: {"merchant_order_id:invalid.order_id", "description:invalid.description"},
		8: {"order_amount:invalid.amount_required"},
		9: {"order_amount:invalid.amount_max"},
	}
	got := Check(rows, Rules{Mode: "sandbox", MaxAmount: 100_000_000})
	for _, r := range got {
		var keys []string
		for _, col := range ResultColumns[:4] {
			if p, ok := r.Problems[col]; ok {
				keys = append(keys, col+":"+p.Key)
			}
		}
		if fmt.Sprint(keys) != fmt.Sprint(want[r.Line]) {
			t.Errorf("line %d: %v, want %v", r.Line, keys, want[r.Line])
		}
	}
	if got[0].Input.Amount != 12990 || got[0].Input.Mode != "sandbox" {
		t.Errorf("line 2 reads as %+v", got[0].Input)
	}
	if c := Count(got); c.Good != 1 || c.Bad != 7 {
		t.Errorf("counts %+v", c)
	}
}
