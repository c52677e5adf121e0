package views

import (
	"errors"
	"html/template"

	"etpay-dashboard/etpay"
)

// Funcs are the helpers every template may call.
func Funcs() template.FuncMap {
	return template.FuncMap{
		// customerEmail masks the address for viewers:
		// {{customerEmail $.User .CustomerEmail}}. (The payer's RUT only ever
		// appears in raw notifications, which viewers are not shown.)
		"customerEmail": customerEmail,
		// outcome is what a payment_status says happened (etpay.Outcome):
		// {{.L.T (print "outcome." (outcome .PaymentStatus))}}.
		"outcome": etpay.Outcome,
		// dict builds a map from key/value pairs so partials can take named arguments.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict needs key/value pairs")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				key, ok := kv[i].(string)
				if !ok {
					return nil, errors.New("dict keys must be strings")
				}
				m[key] = kv[i+1]
			}
			return m, nil
		},
	}
}
