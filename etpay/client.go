// Package etpay talks to ETpay, the Chilean bank-transfer gateway: it creates
// payment sessions, queries payment status and verifies the signed
// notifications ETpay posts to our webhook. It knows nothing of our database:
// it takes and returns its own types.
package etpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds every call to ETpay when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// maxResponseBody caps what we read from ETpay; real answers are a few
// hundred bytes, so anything near this is a broken or hostile server.
const maxResponseBody = 1 << 20

// maxSessionToken caps the tokens ETpay hands us. Seen tokens are 64
// characters; the cap only rejects garbage before we store it or put it in a URL.
const maxSessionToken = 256

// Config holds the four values ETpay gives a merchant.
type Config struct {
	// APIURL is ETpay's API base, e.g. https://api-sandbox.etpay.com.
	APIURL string
	// PMTURL is the base of ETpay's payment funnel, e.g. https://pmt-sandbox.etpay.com.
	PMTURL string
	// MerchantCode identifies the merchant, e.g. cl_demo_cl.
	MerchantCode string
	// MerchantAPIToken is the merchant's secret; it travels in request bodies only.
	MerchantAPIToken string
	// Timeout bounds each call, reading the answer included; zero means DefaultTimeout.
	Timeout time.Duration
}

// Client calls ETpay's merchant API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// NewClient returns a Client for cfg. Redirects are not followed: ETpay's API
// never redirects, and following one would resend our credentials to wherever
// it points.
func NewClient(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Client{
		cfg: cfg,
		http: &http.Client{
			Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// MetadataItem is one line ETpay shows the payer in its funnel when Show is true.
type MetadataItem struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Show  bool   `json:"show"`
}

// SessionRequest describes the payment a session is created for. Only
// MerchantOrderID and OrderAmount are required; empty fields are not sent.
type SessionRequest struct {
	MerchantOrderID        string
	OrderAmount            int64 // Chilean pesos, no decimals
	CustomerEmail          string
	Metadata               []MetadataItem
	UserBankCode           string
	UserRUT                string
	PaymentCompletedURL    string
	PaymentCancellationURL string
	PaymentWebhookURL      string
	Concat                 string
}

// Session is what ETpay answers for a new session. SignatureToken is the key
// that session's notifications are signed with; store it, never show it.
type Session struct {
	Token          string
	SignatureToken string
}

// initializeBody is the wire form of SessionRequest.
type initializeBody struct {
	MerchantCode           string         `json:"merchant_code"`
	MerchantAPIToken       string         `json:"merchant_api_token"`
	MerchantOrderID        string         `json:"merchant_order_id"`
	OrderAmount            int64          `json:"order_amount"`
	CustomerEmail          string         `json:"customer_email,omitempty"`
	Metadata               []MetadataItem `json:"metadata,omitempty"`
	UserBankCode           string         `json:"user_bank_code,omitempty"`
	UserRUT                string         `json:"user_rut,omitempty"`
	PaymentCompletedURL    string         `json:"payment_completed_url,omitempty"`
	PaymentCancellationURL string         `json:"payment_cancellation_url,omitempty"`
	PaymentWebhookURL      string         `json:"payment_webhook_url,omitempty"`
	Concat                 string         `json:"concat,omitempty"`
}

// InitializeSession creates a payment session at ETpay. The answer's tokens
// are checked before they are returned, so a broken answer never becomes an
// active session on our side.
func (c *Client) InitializeSession(ctx context.Context, r SessionRequest) (Session, error) {
	if r.MerchantOrderID == "" {
		return Session{}, fmt.Errorf("%w: merchant order id is required", ErrInvalidRequest)
	}
	if r.OrderAmount <= 0 {
		return Session{}, fmt.Errorf("%w: order amount must be positive", ErrInvalidRequest)
	}
	body := initializeBody{
		MerchantCode:           c.cfg.MerchantCode,
		MerchantAPIToken:       c.cfg.MerchantAPIToken,
		MerchantOrderID:        r.MerchantOrderID,
		OrderAmount:            r.OrderAmount,
		CustomerEmail:          r.CustomerEmail,
		Metadata:               r.Metadata,
		UserBankCode:           r.UserBankCode,
		UserRUT:                r.UserRUT,
		PaymentCompletedURL:    r.PaymentCompletedURL,
		PaymentCancellationURL: r.PaymentCancellationURL,
		PaymentWebhookURL:      r.PaymentWebhookURL,
		Concat:                 r.Concat,
	}
	raw, _, err := c.post(ctx, "/session/initialize", body)
	if err != nil {
		return Session{}, err
	}
	var resp struct {
		Token          string `json:"token"`
		SignatureToken string `json:"signature_token"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return Session{}, fmt.Errorf("%w: session answer is not a JSON object: %w", ErrMalformedResponse, err)
	}
	// The detail names the field, never its value: signature_token is a secret.
	if err := checkToken(resp.Token); err != nil {
		return Session{}, fmt.Errorf("%w: token %w", ErrMalformedResponse, err)
	}
	if err := checkToken(resp.SignatureToken); err != nil {
		return Session{}, fmt.Errorf("%w: signature_token %w", ErrMalformedResponse, err)
	}
	return Session{Token: resp.Token, SignatureToken: resp.SignatureToken}, nil
}

// checkToken accepts what could plausibly be an ETpay token. The session token
// ends up in a URL path and the signature token is an HMAC key, so both must
// be short printable ASCII without '/'.
func checkToken(t string) error {
	if t == "" {
		return errors.New("is missing")
	}
	if len(t) > maxSessionToken {
		return errors.New("is too long")
	}
	for i := 0; i < len(t); i++ {
		if b := t[i]; b <= ' ' || b >= 0x7f || b == '/' {
			return errors.New("has unexpected characters")
		}
	}
	return nil
}

// FunnelURL is where the payer's browser is sent to pay for a session.
func (c *Client) FunnelURL(sessionToken string) string {
	return strings.TrimRight(c.cfg.PMTURL, "/") + "/session/" + url.PathEscape(sessionToken)
}

// StatusQuery selects payments in CheckPaymentStatus; at least one field must
// be set, and ETpay matches on those that are.
type StatusQuery struct {
	PaymentToken    string
	MerchantOrderID string
	SessionToken    string
}

// PaymentStatus is one entry of ETpay's status answer. Raw keeps the entry as
// ETpay sent it, because fields beyond these are undocumented.
type PaymentStatus struct {
	PaymentToken    string          `json:"payment_token"`
	PaymentStatus   string          `json:"payment_status"`
	SessionToken    string          `json:"session_token"`
	MerchantOrderID string          `json:"merchant_order_id"`
	Raw             json.RawMessage `json:"-"`
}

// StatusSuccess is the payment_status of a paid order; every other value means
// not paid.
const StatusSuccess = "success"

// statusBody is the wire form of StatusQuery.
type statusBody struct {
	MerchantCode     string `json:"merchant_code"`
	MerchantAPIToken string `json:"merchant_api_token"`
	PaymentToken     string `json:"payment_token,omitempty"`
	MerchantOrderID  string `json:"merchant_order_id,omitempty"`
	SessionToken     string `json:"session_token,omitempty"`
}

// CheckPaymentStatus asks ETpay for the payments matching q. An empty result
// means ETpay has no payment attempt to report yet.
func (c *Client) CheckPaymentStatus(ctx context.Context, q StatusQuery) ([]PaymentStatus, error) {
	out, _, err := c.CheckPaymentStatusDated(ctx, q)
	return out, err
}

// CheckPaymentStatusDated is CheckPaymentStatus that also returns the time in
// the Date header of ETpay's answer, error answers included (zero when no
// answer came or it had no Date), so a caller can compare clocks with ETpay.
func (c *Client) CheckPaymentStatusDated(ctx context.Context, q StatusQuery) ([]PaymentStatus, time.Time, error) {
	if q.PaymentToken == "" && q.MerchantOrderID == "" && q.SessionToken == "" {
		return nil, time.Time{}, fmt.Errorf("%w: status query needs a payment token, order id or session token", ErrInvalidRequest)
	}
	raw, date, err := c.post(ctx, "/merchant/check_payment_status", statusBody{
		MerchantCode:     c.cfg.MerchantCode,
		MerchantAPIToken: c.cfg.MerchantAPIToken,
		PaymentToken:     q.PaymentToken,
		MerchantOrderID:  q.MerchantOrderID,
		SessionToken:     q.SessionToken,
	})
	if err != nil {
		return nil, date, err
	}
	// "null" would decode to an empty slice; demand an actual array so a
	// broken answer is not mistaken for "no news".
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
		return nil, date, fmt.Errorf("%w: status answer is not a JSON array", ErrMalformedResponse)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, date, fmt.Errorf("%w: status answer: %w", ErrMalformedResponse, err)
	}
	out := make([]PaymentStatus, 0, len(items))
	for i, item := range items {
		var ps PaymentStatus
		if err := json.Unmarshal(item, &ps); err != nil {
			return nil, date, fmt.Errorf("%w: status entry %d: %w", ErrMalformedResponse, i, err)
		}
		ps.Raw = item
		out = append(out, ps)
	}
	return out, date, nil
}

// post sends body as JSON to path under the API URL and returns the 2xx
// answer's body, and the Date of any answer (zero without one). Errors are
// ErrUnavailable, *APIError or ErrMalformedResponse.
func (c *Client) post(ctx context.Context, path string, body any) ([]byte, time.Time, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("etpay: encode request: %w", err)
	}
	endpoint := strings.TrimRight(c.cfg.APIURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		// The URL comes from configuration; the error names it, not our token.
		return nil, time.Time{}, fmt.Errorf("etpay: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, date, fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, date, c.apiError(resp.StatusCode, raw)
	}
	if len(raw) > maxResponseBody {
		return nil, date, fmt.Errorf("%w: answer exceeds %d bytes", ErrMalformedResponse, maxResponseBody)
	}
	return raw, date, nil
}

// apiError builds the error for a non-2xx answer. ETpay's error format is
// undocumented; a JSON "message" is used when present.
func (c *Client) apiError(status int, raw []byte) *APIError {
	var body struct {
		Message any `json:"message"`
	}
	var msg string
	if json.Unmarshal(raw, &body) == nil {
		if s, ok := body.Message.(string); ok {
			msg = s
		}
	}
	return &APIError{StatusCode: status, Message: sanitizeMessage(msg, c.cfg.MerchantAPIToken)}
}
