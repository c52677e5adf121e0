package sandbox

import (
	"net/http"
)

// statusRequest is the body of POST /merchant/check_payment_status.
type statusRequest struct {
	MerchantCode     string `json:"merchant_code"`
	MerchantAPIToken string `json:"merchant_api_token"`
	PaymentToken     string `json:"payment_token"`
	MerchantOrderID  string `json:"merchant_order_id"`
	SessionToken     string `json:"session_token"`
}

// statusEntry is one element of the status answer.
type statusEntry struct {
	PaymentToken    string `json:"payment_token"`
	PaymentStatus   string `json:"payment_status"`
	SessionToken    string `json:"session_token"`
	MerchantOrderID string `json:"merchant_order_id"`
}

// checkPaymentStatus handles POST /merchant/check_payment_status. Every given
// selector must match; sessions without a payment attempt are not listed, so
// an empty array means "no news".
func (s *Server) checkPaymentStatus(w http.ResponseWriter, r *http.Request) {
	var req statusRequest
	if status, msg := decodeJSON(w, r, &req); status != 0 {
		writeJSON(w, status, message(msg))
		return
	}
	if !s.checkCredentials(req.MerchantCode, req.MerchantAPIToken) {
		writeJSON(w, http.StatusUnauthorized, message("invalid merchant credentials"))
		return
	}
	if req.PaymentToken == "" && req.MerchantOrderID == "" && req.SessionToken == "" {
		writeJSON(w, http.StatusBadRequest, message("payment_token, merchant_order_id or session_token is required"))
		return
	}

	out := []statusEntry{}
	s.mu.Lock()
	for _, tok := range s.order {
		ss := s.sessions[tok]
		if ss.status == StatusPending ||
			(req.PaymentToken != "" && req.PaymentToken != ss.paymentToken) ||
			(req.MerchantOrderID != "" && req.MerchantOrderID != ss.orderID) ||
			(req.SessionToken != "" && req.SessionToken != ss.token) {
			continue
		}
		out = append(out, statusEntry{
			PaymentToken:    ss.paymentToken,
			PaymentStatus:   ss.status,
			SessionToken:    ss.token,
			MerchantOrderID: ss.orderID,
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
