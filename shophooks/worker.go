package shophooks

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// Defaults of the worker's timing; tests shorten them.
const (
	// DefaultTimeout bounds one attempt, from dialling to the answer read.
	DefaultTimeout = 10 * time.Second
	// DefaultPoll is how often due deliveries are looked for: well within
	// the 5 s in which a new event is first attempted.
	DefaultPoll = time.Second
	// DefaultExpiryEvery is how often links whose expiry passed are looked for.
	DefaultExpiryEvery = 10 * time.Second
	// DefaultMaxInFlight bounds the attempts under way at once, one per endpoint.
	DefaultMaxInFlight = 8
	// leaseMargin is added to the timeout for a claim's lease: past it,
	// the sender is presumed dead and the delivery is tried again.
	leaseMargin = 50 * time.Second
	// maxErrorText bounds the error kept for an attempt without an answer.
	maxErrorText = 300
)

// Worker sends the shop's webhooks; see Run. It is apart from the outbox
// worker, so no endpoint, however slow, delays customers' emails.
type Worker struct {
	Config *config.Config
	Store  *models.Store
	Logger *slog.Logger
	// Shop names the shop in the admins' email when an endpoint is
	// disabled; nil: MERCHANT_NAME (or BASE_URL's host).
	Shop emails.Shop

	// What tests change; zero values are production's.
	Now         func() time.Time                // the clock of attempts and back-off
	Backoff     func(int) (time.Duration, bool) // the wait after failed attempt n
	Poll        time.Duration
	ExpiryEvery time.Duration
	Timeout     time.Duration
	MaxInFlight int

	guard  Guard
	client *http.Client
	mu     sync.Mutex
	busy   map[uint]bool // endpoints an attempt is under way to
	wake   chan struct{}
	wg     sync.WaitGroup
}

func (w *Worker) setDefaults() {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Backoff == nil {
		w.Backoff = Backoff
	}
	w.Poll = cmpOr(w.Poll, DefaultPoll)
	w.ExpiryEvery = cmpOr(w.ExpiryEvery, DefaultExpiryEvery)
	w.Timeout = cmpOr(w.Timeout, DefaultTimeout)
	if w.MaxInFlight <= 0 {
		w.MaxInFlight = DefaultMaxInFlight
	}
	if w.Shop == nil {
		w.Shop = emails.FixedName(w.Config.MerchantName)
	}
	w.guard = GuardFor(w.Config)
	w.client = w.guard.Client(w.Timeout)
	w.busy = map[uint]bool{}
	w.wake = make(chan struct{}, 1)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Run sends due webhooks until ctx ends, each endpoint's one at a time and
// up to MaxInFlight endpoints at once, and queues link.expired as expiries
// pass. On the way out it waits for the attempts under way (each bounded
// by Timeout) and records them.
func (w *Worker) Run(ctx context.Context) {
	w.setDefaults()
	defer w.wg.Wait()
	ticker := time.NewTicker(w.Poll)
	defer ticker.Stop()
	var lastExpiry time.Time
	for {
		if time.Since(lastExpiry) >= w.ExpiryEvery {
			lastExpiry = time.Now()
			if n, err := w.Store.QueueLinkExpiries(ctx, w.Now()); err != nil {
				w.Logger.Error("webhooks: queueing link.expired failed", "err", err)
			} else if n > 0 {
				w.Logger.Info("webhooks: link.expired queued", "events", n)
			}
		}
		w.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-w.wake: // an attempt ended: its endpoint may have more
		}
	}
}

// dispatch claims what is due for endpoints with no attempt under way and
// starts each attempt in its own goroutine.
func (w *Worker) dispatch(ctx context.Context) {
	w.mu.Lock()
	free := w.MaxInFlight - len(w.busy)
	busy := make([]uint, 0, len(w.busy))
	for id := range w.busy {
		busy = append(busy, id)
	}
	w.mu.Unlock()
	if free <= 0 || ctx.Err() != nil {
		return
	}
	now := w.Now()
	due, err := w.Store.ClaimWebhookDeliveries(ctx, now, now.Add(w.Timeout+leaseMargin), busy, free)
	if err != nil {
		w.Logger.Error("webhooks: claiming deliveries failed", "err", err)
		return
	}
	for _, d := range due {
		w.mu.Lock()
		w.busy[d.EndpointID] = true
		w.mu.Unlock()
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.deliver(ctx, d)
			w.mu.Lock()
			delete(w.busy, d.EndpointID)
			w.mu.Unlock()
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}()
	}
}

// deliver makes one attempt and records it, with the next attempt's time.
func (w *Worker) deliver(ctx context.Context, d models.DueWebhook) {
	r, wait := w.send(ctx, d)
	log := w.Logger.With("delivery_id", d.DeliveryID, "endpoint_id", d.EndpointID, "webhook_id", d.MsgID, "type", d.Type, "attempt", d.Attempt)
	if !r.Delivered && !r.Gone {
		if backoff, again := w.Backoff(d.Attempt); again {
			r.Next = r.At.Add(max(backoff, wait))
		}
	}
	// Recorded even if shutdown began mid-attempt: the log must say what
	// the endpoint answered.
	off, err := w.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), r, w.alert)
	switch {
	case err != nil:
		log.Error("webhooks: recording an attempt failed; the delivery will be tried again", "err", err)
	case r.Delivered:
		log.Info("webhook delivered", "status", r.StatusCode, "duration_ms", r.Duration.Milliseconds())
	case r.Next.IsZero():
		log.Warn("webhook not delivered: giving up", "status", r.StatusCode, "err", r.Error)
	default:
		log.Warn("webhook not delivered: will retry", "status", r.StatusCode, "err", r.Error, "next_attempt", r.Next)
	}
	if off != nil {
		log.Warn("webhooks: endpoint disabled", "reason", off.DisabledReason)
	}
}

// send POSTs d to its endpoint, signed, and says what came of it, and how
// long the endpoint asked us to wait (Retry-After).
func (w *Worker) send(ctx context.Context, d models.DueWebhook) (models.WebhookResult, time.Duration) {
	r := models.WebhookResult{DeliveryID: d.DeliveryID, EndpointID: d.EndpointID, At: w.Now()}
	body := []byte(d.Body)
	req, err := w.request(ctx, d, r.At.Unix(), body)
	if err != nil {
		r.Error = errorText(err)
		return r, 0
	}
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		r.Duration, r.Error = time.Since(start), errorText(err)
		return r, 0
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, models.WebhookAnswerKeep))
	r.Duration, r.StatusCode = time.Since(start), resp.StatusCode
	r.Answer = strings.ToValidUTF8(string(answer), "?")
	r.Delivered = resp.StatusCode >= 200 && resp.StatusCode <= 299
	r.Gone = resp.StatusCode == http.StatusGone
	if err != nil && !r.Delivered {
		r.Error = errorText(err)
	}
	return r, retryAfter(resp)
}

// request is d as an HTTP request, signed at timestamp.
func (w *Worker) request(ctx context.Context, d models.DueWebhook, timestamp int64, body []byte) (*http.Request, error) {
	if err := w.guard.CheckURL(d.URL); err != nil {
		return nil, err
	}
	sig, err := SignatureHeader(d.Secrets, d.MsgID, timestamp, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "etpay-dashboard-webhooks/1")
	// Spelled exactly as the specification names them (Set would write
	// Webhook-Id): header names are case-insensitive, but some receivers
	// are not.
	req.Header["webhook-id"] = []string{d.MsgID}
	req.Header["webhook-timestamp"] = []string{strconv.FormatInt(timestamp, 10)}
	req.Header["webhook-signature"] = []string{sig}
	return req, nil
}

// alert builds the admins' emails when an endpoint is disabled.
func (w *Worker) alert(e *models.WebhookEndpoint, admins []models.User) ([]*models.OutboxMessage, error) {
	return emails.WebhookDisabled(w.Config, w.Shop, e, admins)
}

func errorText(err error) string {
	s := err.Error()
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}
