package handlers

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// A spreadsheet goes out as it is zipped: finishing one allocates far less
// than the file's size. (excelize's Write gathers the whole file in a
// buffer first, which made a 200,000-row export add 130 MB to the server.)
func TestSheetWriterStreamsTheFile(t *testing.T) {
	w, err := newSheetWriter([]string{"Orden", "Monto", "payment_token", "session_token", "Creada"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	random := rand.New(rand.NewPCG(1, 2))
	for i := range 40_000 {
		// Random tokens, as payment tokens are: they do not compress.
		token := fmt.Sprintf("%016x%016x%016x", random.Uint64(), random.Uint64(), random.Uint64())
		session := fmt.Sprintf("%016x%016x%016x", random.Uint64(), random.Uint64(), random.Uint64())
		if err := w.add([]any{"PED-" + token[:8], w.amount(int64(i)), token, session, w.when(&now)}); err != nil {
			t.Fatal(err)
		}
	}
	// A file, not a buffer: the sink itself must not allocate.
	path := filepath.Join(t.TempDir(), "export.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	bw := bufio.NewWriter(out)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := w.finish(bw); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	info, err := out.Stat()
	if err != nil {
		t.Fatal(err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if raceEnabled {
		t.Log("allocations not checked: the race detector empties sync.Pool, so the zip's compressors are made anew")
	} else if allocated > uint64(info.Size())/2 {
		t.Errorf("finishing a %d KB file allocated %d KB: it was gathered in memory, not streamed", info.Size()/1024, allocated/1024)
	}
	t.Logf("finishing a %d KB file allocated %d KB", info.Size()/1024, allocated/1024)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("not a spreadsheet: %v", err)
	}
	defer f.Close()
	if last, err := f.GetCellValue(xlsxSheet, "C40001"); err != nil || len(last) != 48 {
		t.Fatalf("last row's token %q (%v), want the 40,000th row", last, err)
	}
}
