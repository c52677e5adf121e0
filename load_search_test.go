package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"etpay-dashboard/clp"
	"etpay-dashboard/models"
)

// searchKind is one way people search the sessions list, as q for sample i.
type searchKind struct {
	name string
	q    func(s searchSample, i int) string
}

// searchSample is a seeded session with its link's email.
type searchSample struct {
	models.Session
	email string
}

// descriptionWords are words of the seeded descriptions (seed's products),
// as a person types them: lower case, accents and all. Each is in about
// one description in eight, 25,000 of 200,000: the broadest search here.
var descriptionWords = []string{"pedido", "suscripción", "reserva", "curso", "despacho", "factura", "abono", "entradas"}

// searchKinds are the searches the load script times, each over the
// sessions list with its count and paid total, at 8 staff.
var searchKinds = []searchKind{
	// The order id without its last two digits, in lower case: ~110 orders.
	{"search: order id prefix (ped-20…)", func(s searchSample, _ int) string {
		return strings.ToLower(s.MerchantOrderID[:len(s.MerchantOrderID)-2])
	}},
	// The last five characters of the order id: a handful of orders.
	{"search: order id substring (…2002)", func(s searchSample, _ int) string {
		return s.MerchantOrderID[len(s.MerchantOrderID)-5:]
	}},
	// The customer's name part of the email: ~100 sessions.
	{"search: email part (name)", func(s searchSample, _ int) string {
		local, _, _ := strings.Cut(s.email, "@")
		return local[:len(local)-1]
	}},
	// The domain, as in gmail.com: one email in seven, ~25,000 sessions.
	{"search: email part (domain, ~25,000 rows)", func(s searchSample, _ int) string {
		_, domain, _ := strings.Cut(s.email, "@")
		return domain
	}},
	// The amount as written on the page: $12.990, ~1,000 sessions.
	{"search: amount as written ($12.990)", func(s searchSample, _ int) string { return clp.Format(s.Amount) }},
	{"search: description word (~25,000 rows)", func(_ searchSample, i int) string {
		return descriptionWords[i%len(descriptionWords)]
	}},
	{"search: exact payment_token", func(s searchSample, _ int) string { return s.PaymentToken }},
}

// searches times each search kind over paid demo sessions with an email.
func (r *loadRun) searches(store *models.Store, clients []*http.Client, paid []models.Session) {
	ctx := context.Background()
	var samples []searchSample
	for _, s := range paid {
		if len(samples) == 200 {
			break
		}
		link, err := store.LinkByID(ctx, s.LinkID)
		if err != nil {
			r.t.Fatal(err)
		}
		if link.CustomerEmail != "" {
			samples = append(samples, searchSample{Session: s, email: link.CustomerEmail})
		}
	}
	hz := r.healthz()
	for k, kind := range searchKinds {
		// Counting each kind's matches once shows how broad it is.
		f := models.SessionFilter{Q: kind.q(samples[0], 0)}
		begin := time.Now()
		totals, err := store.CountSessions(ctx, f)
		if err != nil {
			r.t.Fatal(err)
		}
		matches := strconv.FormatInt(totals.Count, 10)
		if totals.More {
			matches = "more than " + matches
		}
		r.t.Logf("%s: q=%q matches %s sessions (counted alone in %v)", kind.name, f.Q, matches, time.Since(begin).Round(time.Millisecond))
		stopPerf := r.perf("search" + strconv.Itoa(k))
		st := r.staff(kind.name, clients, func(i int) string {
			return "/admin/sessions?q=" + url.QueryEscape(kind.q(samples[i%len(samples)], i))
		})
		stopPerf()
		r.latencyFigure(kind.name, st, hz)
	}
}
