package models_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"etpay-dashboard/clp"
	"etpay-dashboard/models"
	"etpay-dashboard/seed"
)

// benchStore is a database with n seeded demo sessions.
func benchStore(b *testing.B, n int) *models.Store {
	b.Helper()
	ctx := context.Background()
	s, err := models.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := seed.Run(ctx, s, n); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRecordNotification records verified notifications from parallel
// callers, as the webhook does under a burst: the group commit's case.
func BenchmarkRecordNotification(b *testing.B) {
	s := benchStore(b, 2000)
	ctx := context.Background()
	sessions, err := s.DemoSessions(ctx, models.StatusPending, 1000)
	if err != nil || len(sessions) == 0 {
		b.Fatalf("%d sessions, %v", len(sessions), err)
	}
	var i atomic.Int64
	b.SetParallelism(16) // 16 x GOMAXPROCS concurrent callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := i.Add(1)
			ss := sessions[int(k)%len(sessions)]
			_, err := s.RecordNotification(ctx, models.NotificationInput{
				ReceivedAt: time.Now(), Body: []byte("bench " + strconv.FormatInt(k, 10)), Verified: true,
				SessionToken: ss.SessionToken, MerchantOrderID: ss.MerchantOrderID,
				PaymentToken: "PT" + strconv.FormatInt(k, 10), PaymentStatus: "success", Paid: true,
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSessionList(b *testing.B) {
	s := benchStore(b, 20000)
	ctx := context.Background()
	paid, _ := s.DemoSessions(ctx, models.StatusPaid, 100)
	for _, bc := range []struct {
		name   string
		filter func(i int) models.SessionFilter
	}{
		{"first page", func(int) models.SessionFilter { return models.SessionFilter{} }},
		{"search payment_token", func(i int) models.SessionFilter { return models.SessionFilter{Q: paid[i%len(paid)].PaymentToken} }},
		{"search order id", func(i int) models.SessionFilter { return models.SessionFilter{Q: paid[i%len(paid)].MerchantOrderID} }},
		{"status paid by amount", func(int) models.SessionFilter {
			return models.SessionFilter{Status: models.StatusPaid, Sort: models.SortAmount}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				rows, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: bc.filter(i), Limit: 51})
				if err != nil || len(rows) == 0 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
		})
	}
}

// BenchmarkExport streams every session, as the CSV export does.
func BenchmarkExport(b *testing.B) {
	s := benchStore(b, 20000)
	ctx := context.Background()
	for b.Loop() {
		n := 0
		err := s.EachSession(ctx, models.SessionFilter{Sort: models.SortDateAsc}, func(*models.SessionExport) error { n++; return nil })
		if err != nil || n != 20000 {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.ReportMetric(20000, "rows/op")
}

// BenchmarkSearch runs what a list page does for each kind of search the
// load script times: count (a lookup) and first page, of sessions and of
// links. Profile it with -cpuprofile; the load script has the figures at
// 200,000 sessions.
func BenchmarkSearch(b *testing.B) {
	s := benchStore(b, 20000)
	ctx := context.Background()
	paid, err := s.ListSessions(ctx, models.SessionPage{SessionFilter: models.SessionFilter{Status: models.StatusPaid}, Limit: 1})
	if err != nil || len(paid) == 0 {
		b.Fatalf("paid: %v", err)
	}
	link, err := s.LinkByID(ctx, paid[0].LinkID)
	if err != nil {
		b.Fatal(err)
	}
	local, domain, _ := strings.Cut(link.CustomerEmail, "@")
	order := paid[0].MerchantOrderID
	for _, bc := range []struct{ name, q string }{
		{"order id prefix", strings.ToLower(order[:len(order)-1])},
		{"order id substring", order[len(order)-4:]},
		{"email name", local},
		{"email domain", domain},
		{"amount", clp.Format(paid[0].Amount)},
		{"description word", "pedido"},
		{"payment_token", paid[0].PaymentToken},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := models.SessionFilter{Q: bc.q}
			lf := models.LinkFilter{SessionFilter: f, Now: time.Now()}
			for b.Loop() {
				t, err := s.CountSessions(ctx, f)
				if err == nil {
					_, err = s.ListSessions(ctx, models.SessionPage{SessionFilter: f, Limit: 51, Found: &t.Found})
				}
				n, err2 := s.CountLinks(ctx, lf)
				if err2 == nil {
					_, err2 = s.ListLinks(ctx, models.LinkPage{LinkFilter: lf, Limit: 51, Found: &n})
				}
				if err != nil || err2 != nil {
					b.Fatal(err, err2)
				}
			}
		})
	}
}
