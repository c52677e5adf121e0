package models_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

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
