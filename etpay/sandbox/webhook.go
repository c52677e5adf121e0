package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// deliver POSTs {"payment": jwt} to the webhook once and records the attempt.
// It reports whether the merchant answered 2xx.
func (s *Server) deliver(ctx context.Context, token, webhookURL, jwt string) bool {
	body, _ := json.Marshal(struct {
		Payment string `json:"payment"`
	}{jwt})
	ok, status := s.post(ctx, webhookURL, body)

	s.mu.Lock()
	if ss, found := s.sessions[token]; found {
		ss.attempts++
		ss.delivered = ss.delivered || ok
	}
	s.mu.Unlock()

	if ok {
		s.log.Info("sandbox: notification delivered", "session", fingerprint(token), "status", status)
	} else {
		s.log.Warn("sandbox: notification not delivered", "session", fingerprint(token), "status", status)
	}
	return ok
}

// post sends one delivery; status is 0 when no answer came.
func (s *Server) post(ctx context.Context, webhookURL string, body []byte) (ok bool, status int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return false, 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.webhook.Do(req)
	if err != nil {
		return false, 0
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; the content is ignored.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode >= 200 && resp.StatusCode <= 299, resp.StatusCode
}

// retryLater redelivers in the background with growing waits until the
// merchant answers 2xx, the schedule runs out, or the Server is closed. Real
// ETpay's retry policy is unknown; this one lets merchants exercise duplicate
// and late deliveries.
func (s *Server) retryLater(token, webhookURL, jwt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, d := range s.retryDelays {
			t := time.NewTimer(d)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if s.deliver(s.ctx, token, webhookURL, jwt) {
				return
			}
		}
		s.log.Warn("sandbox: notification retries exhausted", "session", fingerprint(token))
	}()
}
