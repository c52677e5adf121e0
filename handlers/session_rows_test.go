package handlers

import (
	"html/template"
	"regexp"
	"strings"
	"testing"
	"time"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// oldSessionRow is the template the sessions table's rows were written with
// (views/partials/session_row.html) before sessionRowsHTML wrote them in Go.
const oldSessionRow = `{{range .}}<tr id="session-{{.Row.ID}}" data-id="{{.Row.ID}}" data-version="{{.Row.Version}}" data-status="{{.Row.Status}}" role="row">
  <td class="cell-title" data-field="merchant_order_id" data-label="{{.Cols.order}}" role="cell"><a href="{{.Row.URL}}">{{.Row.MerchantOrderID}}</a> <a class="muted" href="{{.LinkURL}}" aria-label="{{.LinkLabel}}">{{.Cols.link}}</a>{{if .ModeTag}} <span class="tag">{{.Row.Mode}}</span>{{end}}</td>
  <td class="num cell-amount" data-field="amount" data-label="{{.Cols.amount}}" role="cell">{{.Row.Amount}}</td>
  <td class="cell-status" data-field="status" data-label="{{.Cols.status}}" role="cell"><span class="badge badge-{{.Row.Status}}">{{.Row.StatusLabel}}</span></td>
  <td class="mono" data-field="payment_token" data-label="{{.Cols.payment_token}}" role="cell"><span class="clip" title="{{.Row.PaymentToken}}">{{.Row.PaymentToken}}</span></td>
  <td class="nowrap" data-field="created_at" data-label="{{.Cols.created}}" role="cell">{{.Row.CreatedAt}}</td>
  <td class="nowrap" data-field="paid_at" data-label="{{.Cols.paid}}" role="cell">{{.Row.PaidAt}}</td>
  <td data-field="last_notification" data-label="{{.Cols.last_notification}}" role="cell">{{.Row.LastNotification}}</td>
</tr>{{end}}`

// TestSessionRowsAsTheTemplateWroteThem: the rows written in Go are the
// markup html/template made of the same lines, escaped alike, for values
// holding every character HTML gives a meaning to.
func TestSessionRowsAsTheTemplateWroteThem(t *testing.T) {
	t.Parallel()
	paid := time.Date(2026, 3, 4, 15, 4, 5, 0, time.UTC)
	rows := []models.Session{
		{ID: 7, LinkID: 3, MerchantOrderID: `PED-<script>alert("x")</script>&'+`, Amount: 12990, Status: models.StatusPaid,
			Mode: "live", PaymentToken: `tok"'<>&+`, CreatedAt: paid.Add(-time.Hour), UpdatedAt: paid, PaidAt: &paid,
			LastNotificationAt: &paid, LastNotificationNote: "applied"},
		{ID: 8, LinkID: 4, MerchantOrderID: "PED-2002", Amount: 1000, Status: models.StatusPending, Mode: "sandbox",
			CreatedAt: paid, UpdatedAt: paid},
	}
	for _, lang := range []string{"es", "en"} {
		lines := sessionLines(views.NewLocale(lang), rows, true)
		tmpl := template.Must(template.New("row").Parse(oldSessionRow))
		var want strings.Builder
		if err := tmpl.Execute(&want, lines); err != nil {
			t.Fatal(err)
		}
		got := string(sessionRowsHTML(lines))
		if !strings.Contains(got, "&lt;script&gt;") || !strings.Contains(got, `<span class="tag">live</span>`) {
			t.Fatalf("%s: order id not escaped or mode tag missing:\n%s", lang, got)
		}
		if normalRows(got) != normalRows(want.String()) {
			t.Errorf("%s: rows differ from the template's\ngot:  %s\nwant: %s", lang, normalRows(got), normalRows(want.String()))
		}
	}
}

var spaceBetweenTags = regexp.MustCompile(`>\s+<`)

// normalRows is markup as a browser reads it, for comparing: no space
// between tags, and + as html/template's attribute escaper writes it
// (&#43;, which reads the same).
func normalRows(s string) string {
	s = strings.ReplaceAll(s, "&#43;", "+")
	return strings.TrimSpace(spaceBetweenTags.ReplaceAllString(s, "><"))
}
