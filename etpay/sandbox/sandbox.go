// Package sandbox is ETpay's side of the wire, simulated: the session API, the
// payment funnel pages and signed notifications to the merchant's webhook. It
// keeps its own in-memory state and never touches the merchant's database, so
// the dashboard can be developed, demonstrated and tested without ETpay.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Session statuses, as reported by Sessions. The last three are also the
// payment_status values the sandbox signs.
const (
	StatusPending   = "pending"
	StatusSuccess   = "success"
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
)

// maxSessions bounds the simulator's memory; the oldest sessions are forgotten first.
const maxSessions = 10000

// maxRequestBody caps API and form bodies.
const maxRequestBody = 64 << 10

// Options configures a sandbox Server.
type Options struct {
	// MerchantCode and MerchantAPIToken are the credentials the API accepts.
	// Requests with empty credentials are always refused.
	MerchantCode     string
	MerchantAPIToken string
	// Logger receives the sandbox's logs; nil discards them.
	Logger *slog.Logger
	// WebhookClient delivers notifications; nil means a client with a 10 s timeout.
	WebhookClient *http.Client
}

// SessionInfo is a snapshot of one simulated session, for tests and debugging.
type SessionInfo struct {
	Token            string
	MerchantOrderID  string
	OrderAmount      int64
	Status           string // StatusPending, StatusSuccess, StatusRejected or StatusCancelled
	PaymentToken     string // empty while pending
	WebhookURL       string
	WebhookAttempts  int  // notification deliveries tried so far
	WebhookDelivered bool // a delivery got a 2xx answer
}

// session is the sandbox's record of one payment session.
type session struct {
	token           string
	signatureToken  string
	orderID         string
	amount          int64
	email           string
	metadata        []metadataItem
	bankCode        string
	userRUT         string
	completedURL    string
	cancellationURL string
	webhookURL      string
	concat          string

	status       string
	paymentToken string
	attempts     int
	delivered    bool
}

// Server simulates ETpay. It is an http.Handler; see Handler to mount it
// under a path prefix.
type Server struct {
	opts    Options
	log     *slog.Logger
	webhook *http.Client
	// retryDelays are the waits before each background redelivery.
	retryDelays []time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	order    []string // session tokens, oldest first
}

// New returns a sandbox Server. Call Close when done with it.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := opts.WebhookClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:        opts,
		log:         log.With("component", "etpay-sandbox"),
		webhook:     client,
		retryDelays: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second},
		ctx:         ctx,
		cancel:      cancel,
		sessions:    make(map[string]*session),
	}
}

// Close stops background webhook retries and waits for them to end. The
// Server still answers requests afterwards, but schedules no more retries.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Handler returns the sandbox mounted under prefix (e.g. "/sandbox"), so that
// prefix+"/session/initialize" is the session API and so on. The funnel form
// posts to its own URL, so it works under any prefix.
func (s *Server) Handler(prefix string) http.Handler {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return s
	}
	return http.StripPrefix(prefix, s)
}

// ServeHTTP serves the sandbox with its routes at the root.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/session/initialize":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		s.initializeSession(w, r)
	case path == "/merchant/check_payment_status":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		s.checkPaymentStatus(w, r)
	case strings.HasPrefix(path, "/session/") && validToken(strings.TrimPrefix(path, "/session/")):
		token := strings.TrimPrefix(path, "/session/")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.showFunnel(w, r, token)
		case http.MethodPost:
			s.completePayment(w, r, token)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			writeJSON(w, http.StatusMethodNotAllowed, message("method not allowed"))
		}
	default:
		writeJSON(w, http.StatusNotFound, message("not found"))
	}
}

// Sessions returns a snapshot of every session, oldest first.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SessionInfo, 0, len(s.order))
	for _, tok := range s.order {
		out = append(out, s.sessions[tok].info())
	}
	return out
}

// info snapshots a session; the caller holds s.mu.
func (ss *session) info() SessionInfo {
	return SessionInfo{
		Token:            ss.token,
		MerchantOrderID:  ss.orderID,
		OrderAmount:      ss.amount,
		Status:           ss.status,
		PaymentToken:     ss.paymentToken,
		WebhookURL:       ss.webhookURL,
		WebhookAttempts:  ss.attempts,
		WebhookDelivered: ss.delivered,
	}
}

// addSession stores a new session, forgetting the oldest beyond maxSessions.
func (s *Server) addSession(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[ss.token] = ss
	s.order = append(s.order, ss.token)
	for len(s.order) > maxSessions {
		delete(s.sessions, s.order[0])
		s.order = s.order[1:]
	}
}

// checkCredentials compares in constant time so the sandbox does not teach a
// timing attack that real ETpay would not; empty credentials never match.
func (s *Server) checkCredentials(code, token string) bool {
	if code == "" || token == "" || s.opts.MerchantCode == "" || s.opts.MerchantAPIToken == "" {
		return false
	}
	okCode := subtle.ConstantTimeCompare([]byte(code), []byte(s.opts.MerchantCode))
	okToken := subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.MerchantAPIToken))
	return okCode&okToken == 1
}

// allowMethod answers 405 unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeJSON(w, http.StatusMethodNotAllowed, message("method not allowed"))
	return false
}

// apiMessage is the error body ETpay's API is believed to use.
type apiMessage struct {
	Message string `json:"message"`
}

func message(m string) apiMessage { return apiMessage{Message: m} }

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n random alphanumerics, like the tokens ETpay issues.
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms.
		for _, b := range buf {
			// Rejection sampling keeps the 62 symbols equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphanumerics[b%62])
			}
		}
	}
	return string(out)
}

// validToken accepts what could be a session token in a URL path: one
// segment, of bounded length. Unknown ones get the funnel's 404 page.
func validToken(t string) bool {
	return t != "" && len(t) <= 256 && !strings.Contains(t, "/")
}

// fingerprint identifies a token in logs without revealing it.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}
