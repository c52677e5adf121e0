package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// askCounter stands between the pipelines and the sandbox and counts the
// status queries about each session token.
type askCounter struct {
	mu   sync.Mutex
	asks map[string]int
}

func (c *askCounter) front(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.HasSuffix(r.URL.Path, "/check_payment_status") {
			var q struct {
				SessionToken string `json:"session_token"`
			}
			json.Unmarshal(body, &q)
			c.mu.Lock()
			c.asks[q.SessionToken]++
			c.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestReconcilerOnceAcrossInstances: two instances' reconcilers over the same
// overdue sessions, at once, ask ETpay about each session exactly once.
func TestReconcilerOnceAcrossInstances(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const n = 30
	tokens := make([]string, n)
	for i := range tokens {
		s, _ := w.pendingSession(t, fmt.Sprintf("REC-%d", i))
		tokens[i] = s.SessionToken
	}
	counter := &askCounter{asks: map[string]int{}}
	api := counter.front(t, w.sandbox.URL)
	client := etpay.NewClient(etpay.Config{APIURL: api, PMTURL: api, MerchantCode: "m", MerchantAPIToken: "tok"})
	// An hour on, every session is overdue, and a claim (checked then)
	// keeps it from being overdue again during the test.
	later := time.Now().Add(time.Hour)
	w.p.Config.ReconcileAfter = 30 * time.Minute
	w.p.Now = func() time.Time { return later }
	instances := make([]*Pipeline, 2)
	for i := range instances {
		store, err := models.Open(ctx, w.p.Config.DatabaseURL, models.WithPasswordCost(bcrypt.MinCost))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		p := *w.p
		p.Store, p.ETpay = store, client
		instances[i] = &p
	}
	var wg sync.WaitGroup
	for _, p := range instances {
		wg.Go(func() { p.reconcileOverdue(ctx) })
	}
	wg.Wait()
	total := 0
	for _, tok := range tokens {
		if got := counter.asks[tok]; got != 1 {
			t.Errorf("session %s asked about %d times, want once", tok, got)
		}
		total += counter.asks[tok]
	}
	if total != n {
		t.Errorf("%d status queries for %d sessions", total, n)
	}
}
