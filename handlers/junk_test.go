package handlers_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"etpay-dashboard/models"
	"etpay-dashboard/testdb"
)

// dbFilesSize is the database file and its WAL, as they are on disk.
func dbFilesSize(t *testing.T, path string) int64 {
	t.Helper()
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// junkBody is a distinct body of exactly n bytes: half look like a webhook
// with an oversized token, half are not JSON at all.
func junkBody(i, n int) string {
	buf := make([]byte, n/2)
	rand.Read(buf)
	filler := hex.EncodeToString(buf)
	if i%2 == 0 {
		return (`{"payment":"` + filler)[:n-2] + `"}`
	}
	return filler[:n]
}

// Junk cannot fill the disk: 3,000 distinct 64 KiB rejected bodies (with
// FLOOD=1) grow the database files (with the WAL) by under 30 MB. Each is still stored, with
// its first 4 KiB while the hour's budget lasts, and without it after; the
// overview says so.
func TestJunkCannotFillTheDisk(t *testing.T) {
	testdb.SkipOnPostgres(t, "measures the SQLite files' growth")
	t.Parallel()
	h := newHarness(t)
	admin := h.loggedIn("admin@shop.cl", models.RoleAdmin)
	before := dbFilesSize(t, h.cfg.DatabaseURL)

	// The figures under FLOOD=1 (.ci/run); a smaller flood that
	// still overruns the hour's budget otherwise, to keep go test fast.
	posts, size, workers := 1200, 8<<10, 8
	if os.Getenv("FLOOD") != "" {
		posts, size = 3000, 64<<10
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for i := w; i < posts; i += workers {
				req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/etpay", strings.NewReader(junkBody(i, size)))
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for code := range statuses {
		if code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Errorf("junk answered %v", statuses)
		}
	}

	grown := dbFilesSize(t, h.cfg.DatabaseURL) - before
	t.Logf("%d distinct junk bodies of %d bytes grew the database files by %.1f MB", posts, size, float64(grown)/1e6)
	if grown >= 30e6 {
		t.Errorf("database files grew by %d bytes, want under 30 MB", grown)
	}

	var rows []struct {
		BodyLen     int
		BodySize    int
		BodyDropped bool
		BodyHash    string
	}
	openRaw(t, h).Raw("SELECT length(CAST(body AS BLOB)) AS body_len, body_size, body_dropped, body_hash FROM notifications").Scan(&rows)
	if len(rows) != posts {
		t.Fatalf("stored %d rejected rows, want every one of %d", len(rows), posts)
	}
	kept, dropped := 0, 0
	for _, r := range rows {
		if r.BodySize != size || len(r.BodyHash) != 64 {
			t.Fatalf("row keeps size %d and hash %q, want %d and a SHA-256", r.BodySize, r.BodyHash, size)
		}
		switch {
		case r.BodyDropped && r.BodyLen == 0:
			dropped++
		case !r.BodyDropped && r.BodyLen == models.RejectedBodyKeep:
			kept++
		default:
			t.Fatalf("row with %d body bytes, dropped=%v", r.BodyLen, r.BodyDropped)
		}
	}
	if kept*models.RejectedBodyKeep > models.RejectedBodyBudget || dropped == 0 {
		t.Errorf("kept %d bodies of 4 KiB and dropped %d; want at most 4 MiB kept", kept, dropped)
	}
	page := admin.get("/admin/overview?mode=all").body
	if !strings.Contains(page, `id="rejected-without-body"`) {
		t.Errorf("the overview does not say rejected bodies were dropped")
	}
}
