package handlers_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"etpay-dashboard/clp"
	"etpay-dashboard/models"
)

var validOrder = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzLinkForm feeds the new-link form's parser and validator anything at all.
// Whatever is accepted must be what a merchant meant: a positive whole number
// of pesos within the maximum, an order id ETpay takes, a bare email.
func FuzzLinkForm(f *testing.F) {
	f.Add("OC-700104", "$12.990", "ana@shop.cl", "Polera talla M")
	f.Add("OC 1", "1,5", "ana@", "")
	f.Add("ñ", "1e5", "<a@b.cl>", "line\nbreak")
	f.Add("x", "99999999999999999999", "", "")
	f.Add("-SUM", "0", "a@b.c", "=HYPERLINK()")
	const max = 100_000_000
	f.Fuzz(func(t *testing.T, order, amount, email, description string) {
		n, err := clp.Parse(amount)
		if err == nil {
			if n < 0 {
				t.Fatalf("clp.Parse(%q) = %d, negative", amount, n)
			}
			// Writing the amount back the Chilean way must read the same.
			if back, err := clp.Parse(clp.Format(n)); err != nil || back != n {
				t.Fatalf("clp.Parse(clp.Format(%d)) = %d, %v", n, back, err)
			}
			digits := strings.Map(func(r rune) rune {
				if r == '$' || r == '.' || unicode.IsSpace(r) {
					return -1
				}
				return r
			}, amount)
			if want, _ := strconv.ParseInt(digits, 10, 64); want != n {
				t.Fatalf("clp.Parse(%q) = %d, want %d", amount, n, want)
			}
		}
		in := models.LinkInput{MerchantOrderID: order, Amount: n, CustomerEmail: email, Description: description}
		errs := models.ValidateLink(in, max)
		if len(errs) > 0 {
			return
		}
		if err != nil || n <= 0 || n > max {
			t.Fatalf("accepted amount %q (%d, %v)", amount, n, err)
		}
		if !validOrder.MatchString(order) {
			t.Fatalf("accepted order id %q", order)
		}
		if email != "" && (!strings.Contains(email, "@") || strings.ContainsAny(email, " <>\r\n")) {
			t.Fatalf("accepted email %q", email)
		}
		if utf8.RuneCountInString(description) > models.MaxDescription || strings.ContainsAny(description, "\r\n\x00") {
			t.Fatalf("accepted description %q", description)
		}
	})
}
