package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// signatureTokenLength is longer than the 32 characters a merchant should
// expect at least, so merchants do not hard-code a length.
const signatureTokenLength = 40

// maxMetadata bounds the metadata list; ETpay recommends 3–4 entries.
const maxMetadata = 20

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// integerPattern is a positive JSON integer: no sign, fraction or exponent.
var integerPattern = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)

// metadataItem mirrors etpay.MetadataItem; a separate type keeps the
// sandbox's validation independent of the client's encoding.
type metadataItem struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Show  bool   `json:"show"`
}

// initializeRequest is the body of POST /session/initialize. Amount and
// metadata stay raw so their JSON types can be checked exactly.
type initializeRequest struct {
	MerchantCode           string          `json:"merchant_code"`
	MerchantAPIToken       string          `json:"merchant_api_token"`
	MerchantOrderID        string          `json:"merchant_order_id"`
	OrderAmount            json.RawMessage `json:"order_amount"`
	CustomerEmail          string          `json:"customer_email"`
	Metadata               json.RawMessage `json:"metadata"`
	UserBankCode           string          `json:"user_bank_code"`
	UserRUT                string          `json:"user_rut"`
	PaymentCompletedURL    string          `json:"payment_completed_url"`
	PaymentCancellationURL string          `json:"payment_cancellation_url"`
	PaymentWebhookURL      string          `json:"payment_webhook_url"`
	Concat                 string          `json:"concat"`
}

// initializeSession handles POST /session/initialize. The body is parsed as
// JSON whatever its Content-Type, because ETpay's own SDK sends none.
func (s *Server) initializeSession(w http.ResponseWriter, r *http.Request) {
	var req initializeRequest
	if status, msg := decodeJSON(w, r, &req); status != 0 {
		writeJSON(w, status, message(msg))
		return
	}
	if !s.checkCredentials(req.MerchantCode, req.MerchantAPIToken) {
		s.log.Info("sandbox: initialize refused", "reason", "credentials")
		writeJSON(w, http.StatusUnauthorized, message("invalid merchant credentials"))
		return
	}
	ss, msg := newSession(req)
	if msg != "" {
		s.log.Info("sandbox: initialize refused", "reason", msg)
		writeJSON(w, http.StatusBadRequest, message(msg))
		return
	}
	s.addSession(ss)
	s.log.Info("sandbox: session created",
		"session", fingerprint(ss.token), "merchant_order_id", ss.orderID, "amount", ss.amount)
	writeJSON(w, http.StatusOK, struct {
		Token          string `json:"token"`
		SignatureToken string `json:"signature_token"`
	}{ss.token, ss.signatureToken})
}

// decodeJSON reads a capped JSON object from r into v. A non-zero status and a
// message describe why it could not.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, "request body too large"
		}
		return http.StatusBadRequest, "could not read request body"
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return http.StatusBadRequest, "request body must be a JSON object"
	}
	if err := json.Unmarshal(body, v); err != nil {
		return http.StatusBadRequest, "invalid JSON body"
	}
	return 0, ""
}

// newSession validates req and builds the session it describes, or returns
// the message for a 400 answer.
func newSession(req initializeRequest) (*session, string) {
	if req.MerchantOrderID == "" {
		return nil, "merchant_order_id is required"
	}
	if !orderIDPattern.MatchString(req.MerchantOrderID) {
		return nil, "merchant_order_id must be 1 to 64 letters, digits, '-' or '_'"
	}
	amount, msg := parseAmount(req.OrderAmount)
	if msg != "" {
		return nil, msg
	}
	if req.CustomerEmail != "" && !strings.Contains(req.CustomerEmail, "@") {
		return nil, "customer_email is not an email address"
	}
	if req.UserBankCode != "" && !strings.HasPrefix(req.UserBankCode, "cl_") {
		return nil, "user_bank_code must start with cl_"
	}
	for _, f := range []struct{ name, value string }{
		{"payment_completed_url", req.PaymentCompletedURL},
		{"payment_cancellation_url", req.PaymentCancellationURL},
		{"payment_webhook_url", req.PaymentWebhookURL},
	} {
		if f.value != "" && !absoluteHTTPURL(f.value) {
			return nil, f.name + " must be an absolute http(s) URL"
		}
	}
	metadata, msg := parseMetadata(req.Metadata)
	if msg != "" {
		return nil, msg
	}
	return &session{
		token:           randomAlnum(64),
		signatureToken:  randomAlnum(signatureTokenLength),
		orderID:         req.MerchantOrderID,
		amount:          amount,
		email:           req.CustomerEmail,
		metadata:        metadata,
		bankCode:        req.UserBankCode,
		userRUT:         req.UserRUT,
		completedURL:    req.PaymentCompletedURL,
		cancellationURL: req.PaymentCancellationURL,
		webhookURL:      req.PaymentWebhookURL,
		concat:          req.Concat,
		status:          StatusPending,
	}, ""
}

// parseAmount accepts only a positive JSON integer: ETpay's amounts are whole
// pesos, and a merchant sending 1.5 or "1500" has a bug worth surfacing.
func parseAmount(raw json.RawMessage) (int64, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, "order_amount is required"
	}
	if !integerPattern.Match(raw) {
		return 0, "order_amount must be a positive integer"
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n <= 0 {
		return 0, "order_amount must be a positive integer"
	}
	return n, ""
}

// parseMetadata accepts an absent metadata field or an array of
// {name, value, show} objects.
func parseMetadata(raw json.RawMessage) ([]metadataItem, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	const bad = "metadata must be an array of {name, value, show}"
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, bad
	}
	if len(items) > maxMetadata {
		return nil, "metadata has too many entries"
	}
	out := make([]metadataItem, 0, len(items))
	for _, item := range items {
		var fields map[string]json.RawMessage
		if json.Unmarshal(item, &fields) != nil {
			return nil, bad
		}
		var m metadataItem
		if json.Unmarshal(fields["name"], &m.Name) != nil || m.Name == "" ||
			json.Unmarshal(fields["value"], &m.Value) != nil ||
			json.Unmarshal(fields["show"], &m.Show) != nil {
			return nil, bad
		}
		out = append(out, m)
	}
	return out, ""
}

// absoluteHTTPURL reports whether u is an absolute http or https URL with a host.
func absoluteHTTPURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	return (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
