// Package seed fills a database with realistic demo data: payment links, each
// with one ETpay session and its notifications, spread over two years. The
// `seed` command and tests use it. Demo rows are marked as models.DemoPrefix
// describes; their notifications are genuinely signed with their session's
// signature_token, so they replay and verify like real ones.
package seed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"time"

	"etpay-dashboard/etpay"
	"etpay-dashboard/models"
)

// BatchSize is how many links one transaction inserts: big enough that commits
// are few, small enough (well under a second) that a running server's own
// writes never wait long for the lock.
const BatchSize = 20000

// Span is how far back demo data reaches.
const Span = 2 * 365 * 24 * time.Hour

// Options tune a run; the zero value is fine except for Sessions.
type Options struct {
	// Sessions is how many links (each with one session) to make.
	Sessions int
	// Mode is the mode the links and sessions are made in (live or sandbox).
	Mode string
	// Now is the newest time data reaches; zero means time.Now().
	Now time.Time
	// Progress, when set, is called after each committed batch.
	Progress func(done int)
}

// Summary says what a run added.
type Summary struct {
	Links, Notifications int
	Paid, Failed         int
	Pending              int
	// First and Last are the first and last link ids added.
	FirstLink, LastLink uint
}

// Run adds n demo links with their sessions in sandbox mode.
func Run(ctx context.Context, store *models.Store, n int) (Summary, error) {
	return RunWith(ctx, store, Options{Sessions: n, Mode: "sandbox"})
}

// RunWith adds demo data as opt says. Batches are generated, signed and
// their statements written out (models.PrepareDemo) in a goroutine while
// the previous one is inserted: the writer connection, which does the one
// part that cannot run in parallel, does nothing else.
func RunWith(ctx context.Context, store *models.Store, opt Options) (Summary, error) {
	var sum Summary
	if opt.Sessions <= 0 {
		return sum, fmt.Errorf("seed: sessions must be positive, not %d", opt.Sessions)
	}
	if opt.Mode == "" {
		opt.Mode = "sandbox"
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	// Cancelled on return, so the generator stops when a write fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Into a fresh database the indexes are built once at the end.
	indexes, err := store.SuspendDemoIndexes(ctx)
	if err != nil {
		return sum, err
	}
	err = insertAll(ctx, store, newGenerator(opt), &sum)
	if rerr := store.RestoreDemoIndexes(context.WithoutCancel(ctx), indexes); err == nil {
		err = rerr
	}
	if err != nil {
		return sum, err
	}
	// A bulk load leaves the search index in many pieces, each opened by
	// every search: merged, once the batches are in.
	if sum.Links >= BatchSize {
		if err := store.MergeSearchIndex(ctx); err != nil {
			return sum, err
		}
	}
	detail := fmt.Sprintf("links %d-%d, %d sessions, %d notifications, mode %s", sum.FirstLink, sum.LastLink, sum.Links, sum.Notifications, opt.Mode)
	return sum, store.RecordAudit(ctx, nil, "seed", models.AuditDemoSeeded, detail, "")
}

// insertAll writes g's batches as they come, counting them in sum.
func insertAll(ctx context.Context, store *models.Store, g *generator, sum *Summary) error {
	next, err := store.NextDemoIDs(ctx)
	if err != nil {
		return err
	}
	// One batch waits while another is written: the writer is never idle,
	// and the statements of at most three batches are held at once.
	batches := make(chan prepared, 1)
	go g.generate(ctx, next, batches)
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		r, err := store.InsertDemoBatch(ctx, b.batch)
		if err != nil {
			return err
		}
		sum.add(r, b.rows)
		if g.opt.Progress != nil {
			g.opt.Progress(sum.Links)
		}
	}
	return ctx.Err()
}

// prepared is a batch of demo rows and its statements, or why there are none.
type prepared struct {
	rows  []models.DemoLink
	batch *models.DemoBatch
	err   error
}

// add counts batch b, which InsertDemoBatch stored with the ids in r.
func (sum *Summary) add(r models.DemoRange, b []models.DemoLink) {
	if sum.FirstLink == 0 {
		sum.FirstLink = r.Links[0]
	}
	sum.LastLink = r.Links[1]
	for i := range b {
		sum.Notifications += len(b[i].Notifications)
		switch b[i].Session.Status {
		case models.StatusPaid:
			sum.Paid++
		case models.StatusFailed:
			sum.Failed++
		default:
			sum.Pending++
		}
	}
	sum.Links += len(b)
}

// generator makes demo rows; one goroutine owns it.
type generator struct {
	rng   *mrand.Rand
	opt   Options
	run   string // tells this run's order ids from other runs'
	start time.Time
	step  time.Duration
}

// newGenerator makes the generator of one run, seeded afresh so that every
// run's tokens differ.
func newGenerator(opt Options) *generator {
	var seedBytes [32]byte
	_, _ = rand.Read(seedBytes[:]) // never fails on supported platforms
	return &generator{
		rng:   mrand.New(mrand.NewChaCha8(seedBytes)),
		opt:   opt,
		run:   rand.Text()[:6],
		start: opt.Now.Add(-Span).UTC(),
		step:  Span / time.Duration(opt.Sessions),
	}
}

// generate sends the run's batches of BatchSize links, their statements
// written out, to out, then closes it; it stops early once ctx is done,
// when nobody reads any more, or after a batch that failed. Each batch
// expects the ids after the previous one, the first those after next.
func (g *generator) generate(ctx context.Context, next models.DemoIDs, out chan<- prepared) {
	defer close(out)
	for i := 0; i < g.opt.Sessions; i += BatchSize {
		p := prepared{rows: g.batch(i, min(BatchSize, g.opt.Sessions-i))}
		if p.batch, p.err = models.PrepareDemo(p.rows, next); p.err == nil {
			next = p.batch.Next()
		}
		select {
		case out <- p:
		case <-ctx.Done():
			return
		}
		if p.err != nil {
			return
		}
	}
}

var (
	firstNames = []string{"ana", "benjamin", "camila", "diego", "fernanda", "gabriel", "isidora", "joaquin", "josefa", "matias", "sofia", "tomas", "valentina", "vicente", "martina", "agustin"}
	lastNames  = []string{"gonzalez", "munoz", "rojas", "diaz", "perez", "soto", "contreras", "silva", "martinez", "sepulveda", "morales", "rodriguez", "lopez", "fuentes"}
	domains    = []string{"gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "empresa.cl", "correo.cl", "uc.cl"}
	products   = []string{"Pedido web", "Suscripción mensual", "Reserva", "Curso online", "Despacho a domicilio", "Factura", "Abono", "Entradas"}
)

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// token is n random alphanumerics, like ETpay's tokens. A seeded ChaCha8
// stream is plenty for demo data and far cheaper than crypto/rand per byte.
func (g *generator) token(n int) string {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], g.rng.Uint64())
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = alnum[int(w[j])%len(alnum)]
		}
	}
	return string(b)
}

// amount is a CLP price: log-uniform between $1.000 and $2.000.000, ending
// in 990 or 000 as shop prices do.
func (g *generator) amount() int64 {
	v := math.Exp(math.Log(1000) + g.rng.Float64()*(math.Log(2_000_000)-math.Log(1000)))
	a := int64(v/1000) * 1000
	if g.rng.IntN(3) > 0 && a > 1000 {
		a -= 10
	}
	return max(a, 1000)
}

func (g *generator) batch(offset, n int) []models.DemoLink {
	out := make([]models.DemoLink, n)
	for i := range out {
		g.fill(&out[i], offset+i)
	}
	return out
}

// fill makes demo link i with its session, which ends paid, failed or still
// pending. The random draws come in a fixed order, one run's stream.
func (g *generator) fill(d *models.DemoLink, i int) {
	opened := g.openedLink(d, i)
	// 72% paid, 13% failed, 15% still pending (abandoned or in progress).
	roll := g.rng.IntN(100)
	if roll >= 85 {
		if g.rng.IntN(5) == 0 {
			cancelled := opened.Add(24 * time.Hour)
			d.Link.Status, d.Link.CancelledAt, d.Link.UpdatedAt = models.LinkCancelled, &cancelled, cancelled
		}
		return
	}
	g.settle(d, opened, roll < 72)
}

// openedLink makes link i as its customer opened it: an open link and its
// pending session. It returns when the customer opened it.
func (g *generator) openedLink(d *models.DemoLink, i int) (opened time.Time) {
	created := g.start.Add(time.Duration(i)*g.step + time.Duration(g.rng.Int64N(int64(g.step)+1)))
	amount := g.amount()
	order := "DEMO-" + g.run + "-" + strconv.Itoa(i+1)
	first, last := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
	email := first + "." + last + strconv.Itoa(g.rng.IntN(1000)) + "@" + domains[g.rng.IntN(len(domains))]
	if g.rng.IntN(10) == 0 {
		email = "" // some links are sent by hand, without an email
	}
	expires := created.Add(7 * 24 * time.Hour)
	opened = created.Add(time.Duration(1+g.rng.IntN(3600)) * time.Second)
	d.Link = models.Link{
		Code:            g.token(26),
		MerchantOrderID: order,
		Amount:          amount,
		CustomerEmail:   email,
		Description:     models.DemoPrefix + products[g.rng.IntN(len(products))],
		Status:          models.LinkOpen,
		Mode:            g.opt.Mode,
		ExpiresAt:       &expires,
		OpenedAt:        &opened,
		CreatedAt:       created,
		UpdatedAt:       created,
	}
	d.Session = models.Session{
		SessionToken:    g.token(64),
		SignatureToken:  g.token(40),
		Mode:            g.opt.Mode,
		Status:          models.StatusPending,
		MerchantOrderID: order,
		Amount:          amount,
		CreatedAt:       opened,
		UpdatedAt:       opened,
	}
	return opened
}

// settle ends d's session soon after opened, paid or failed, with the
// signed notification ETpay sent (and sometimes its retried copy).
func (g *generator) settle(d *models.DemoLink, opened time.Time, paid bool) {
	s := &d.Session
	at := opened.Add(time.Duration(30+g.rng.IntN(900)) * time.Second)
	s.PaymentToken = g.token(64)
	s.UpdatedAt, s.LastNotificationAt, s.LastNotificationNote = at, &at, models.VerdictVerified
	status, effect := "success", models.EffectPaid
	if paid {
		s.Status, s.PaymentStatus, s.PaidAt = models.StatusPaid, status, &at
		d.Link.Status, d.Link.PaidAt, d.Link.UpdatedAt = models.LinkPaid, &at, at
	} else {
		status, effect = "rejected", models.EffectFailed
		if g.rng.IntN(4) == 0 {
			status = "cancelled"
		}
		s.Status, s.PaymentStatus, s.FailedAt = models.StatusFailed, status, &at
	}
	note := g.notification(s, status, effect, at)
	d.Notifications = append(d.Notifications, note)
	if g.rng.IntN(10) == 0 { // ETpay retried: the second copy changed nothing
		retry := note
		retry.ReceivedAt = at.Add(time.Duration(5+g.rng.IntN(120)) * time.Second)
		retry.LastReceivedAt = retry.ReceivedAt
		retry.Verdict, retry.Effect = models.VerdictDuplicate, models.EffectNone
		d.Notifications = append(d.Notifications, retry)
		s.LastNotificationAt, s.LastNotificationNote = &retry.ReceivedAt, models.VerdictDuplicate
	}
}

// notification is the verified notification ETpay would have sent for s.
func (g *generator) notification(s *models.Session, status, effect string, at time.Time) models.Notification {
	claims := etpay.NotificationClaims{SessionToken: s.SessionToken, MerchantOrderID: s.MerchantOrderID, PaymentToken: s.PaymentToken, PaymentStatus: status}
	jwt, err := etpay.SignNotification(claims, s.SignatureToken)
	if err != nil {
		panic(err) // only an empty key fails, and the key is never empty
	}
	body := `{"payment":"` + jwt + `"}`
	sum := sha256.Sum256([]byte(body))
	claimsJSON, _ := json.Marshal(claims)
	return models.Notification{
		ReceivedAt:      at,
		LastReceivedAt:  at,
		Count:           1,
		RemoteAddr:      "203.0.113." + strconv.Itoa(1+g.rng.IntN(254)),
		Source:          "webhook",
		Body:            body,
		BodyHash:        hex.EncodeToString(sum[:]),
		Verdict:         models.VerdictVerified,
		Effect:          effect,
		SessionToken:    s.SessionToken,
		MerchantOrderID: s.MerchantOrderID,
		PaymentToken:    s.PaymentToken,
		PaymentStatus:   status,
		Claims:          string(claimsJSON),
	}
}
