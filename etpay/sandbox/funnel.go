package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"etpay-dashboard/clp"
	"etpay-dashboard/etpay"
)

//go:embed templates
var templateFS embed.FS

var (
	pages    = template.Must(template.New("").Funcs(template.FuncMap{"clp": clp.Format}).ParseFS(templateFS, "templates/*.html"))
	styleCSS = template.CSS(mustRead("templates/style.css"))
	// pageCSP allows the one embedded stylesheet by hash and nothing else to
	// run or load. form-action is left open on purpose: the funnel's POST
	// answers with a redirect to the merchant, which form-action would block.
	pageCSP = "default-src 'none'; style-src 'sha256-" + cssHash(string(styleCSS)) + "'; base-uri 'none'; frame-ancestors 'none'"
)

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cssHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// bank is one choice in the funnel's bank list.
type bank struct {
	Code, Name string
	Selected   bool
}

// banks are the codes ETpay documents; a session may preselect any other cl_ code.
var banks = []bank{
	{Code: "cl_estado", Name: "BancoEstado"},
	{Code: "cl_santander", Name: "Banco Santander"},
	{Code: "cl_bch", Name: "Banco de Chile"},
	{Code: "cl_bci", Name: "Bci"},
	{Code: "cl_falabella", Name: "Banco Falabella"},
	{Code: "cl_itau", Name: "Itaú"},
	{Code: "cl_scotiabank", Name: "Scotiabank"},
	{Code: "cl_mach", Name: "MACH"},
	{Code: "cl_tapp_pay", Name: "Tapp"},
}

// pageData feeds every funnel template.
type pageData struct {
	Title    string
	CSS      template.CSS
	Heading  string
	Message  string
	OrderID  string
	Email    string
	Amount   int64
	Status   string
	Metadata []metadataItem
	Banks    []bank
}

// statusText is how the pages name each outcome.
var statusText = map[string]string{
	StatusPending:   "pendiente",
	StatusSuccess:   "pagado",
	StatusRejected:  "rechazado",
	StatusCancelled: "cancelado",
}

// showFunnel handles GET /session/{token}: the page where the payer "pays".
func (s *Server) showFunnel(w http.ResponseWriter, r *http.Request, token string) {
	s.mu.Lock()
	ss, ok := s.sessions[token]
	var data pageData
	if ok {
		data = pageData{OrderID: ss.orderID, Amount: ss.amount, Status: statusText[ss.status]}
		if ss.status == StatusPending {
			data.Email = ss.email
			for _, m := range ss.metadata {
				if m.Show {
					data.Metadata = append(data.Metadata, m)
				}
			}
			data.Banks = bankChoices(ss.bankCode)
		}
	}
	pending := ok && ss.status == StatusPending
	s.mu.Unlock()

	switch {
	case !ok:
		s.renderPage(w, http.StatusNotFound, "message", pageData{
			Title: "Sesión no encontrada", Heading: "Sesión no encontrada",
			Message: "Este enlace de pago no existe o ya expiró.",
		})
	case !pending:
		data.Title, data.Heading = "Pago ya procesado", "Pago ya procesado"
		data.Message = "Esta sesión de pago ya fue procesada; no se puede pagar de nuevo."
		s.renderPage(w, http.StatusOK, "message", data)
	default:
		data.Title = "Pagar orden " + data.OrderID
		s.renderPage(w, http.StatusOK, "funnel", data)
	}
}

// bankChoices lists the banks with code preselected, adding code when it is
// a cl_ bank the list does not know yet (ETpay's list grows).
func bankChoices(code string) []bank {
	out := make([]bank, 0, len(banks)+1)
	found := false
	for _, b := range banks {
		b.Selected = b.Code == code
		found = found || b.Selected
		out = append(out, b)
	}
	if code != "" && !found {
		out = append(out, bank{Code: code, Name: code, Selected: true})
	}
	return out
}

// actionStatus maps the funnel's buttons to payment_status values.
var actionStatus = map[string]string{
	"approve": StatusSuccess,
	"reject":  StatusRejected,
	"cancel":  StatusCancelled,
}

// completePayment handles POST /session/{token}: the payer pressed a button.
// The session is completed under the lock first, so two concurrent presses
// produce one payment and one notification.
func (s *Server) completePayment(w http.ResponseWriter, r *http.Request, token string) {
	status, ok := s.paymentAction(w, r)
	if !ok {
		return
	}
	c, refused := s.completeSession(token, status, r.PostForm.Get("bank"))
	if refused != nil {
		s.renderPage(w, refused.code, "message", refused.data)
		return
	}

	jwt, err := etpay.SignNotification(c.claims, c.signatureToken)
	if err != nil {
		// Only an empty key fails, and the sandbox always generates one.
		s.log.Error("sandbox: sign notification failed", "session", fingerprint(token), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.log.Info("sandbox: payment completed",
		"session", fingerprint(token), "merchant_order_id", c.claims.MerchantOrderID, "payment_status", status)

	if c.webhookURL != "" {
		// Delivered before redirecting, so the merchant usually knows the
		// outcome before the payer's browser lands on its page. The request's
		// cancellation is dropped: a payer closing the tab must not cancel it.
		ctx := context.WithoutCancel(r.Context())
		if !s.deliver(ctx, token, c.webhookURL, jwt) {
			s.retryLater(token, c.webhookURL, jwt)
		}
	}

	if c.redirectBase == "" {
		c.data.Title, c.data.Heading = "Resultado del pago", "Resultado del pago"
		c.data.Message = "El comercio no indicó una página de retorno."
		s.renderPage(w, http.StatusOK, "message", c.data)
		return
	}
	http.Redirect(w, r, appendJWT(c.redirectBase, c.concat, jwt), http.StatusSeeOther)
}

// paymentAction reads the pressed button's payment_status from the form.
// When the form is unreadable or the action unknown it answers 400 itself
// and returns false.
func (s *Server) paymentAction(w http.ResponseWriter, r *http.Request) (status string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, "message", pageData{
			Title: "Solicitud inválida", Heading: "Solicitud inválida", Message: "No se pudo leer el formulario.",
		})
		return "", false
	}
	status, ok = actionStatus[r.PostForm.Get("action")]
	if !ok {
		s.renderPage(w, http.StatusBadRequest, "message", pageData{
			Title: "Solicitud inválida", Heading: "Solicitud inválida", Message: "Acción desconocida.",
		})
		return "", false
	}
	return status, true
}

// completion is what a completed session leaves for the work done after the
// lock is released: signing, delivering and redirecting.
type completion struct {
	claims                     etpay.NotificationClaims
	signatureToken, webhookURL string
	redirectBase, concat       string
	data                       pageData
}

// messagePage is a message page to answer with, and its HTTP status.
type messagePage struct {
	code int
	data pageData
}

// completeSession gives session token its final status (and the bank the
// payer chose, if a cl_ code) under the lock, and copies out what the
// notification and the redirect need. An unknown or already completed
// session is refused with the page to show instead.
func (s *Server) completeSession(token, status, bankCode string) (completion, *messagePage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.sessions[token]
	if !found {
		return completion{}, &messagePage{http.StatusNotFound, pageData{
			Title: "Sesión no encontrada", Heading: "Sesión no encontrada",
			Message: "Este enlace de pago no existe o ya expiró.",
		}}
	}
	if ss.status != StatusPending {
		return completion{}, &messagePage{http.StatusConflict, pageData{
			Title: "Pago ya procesado", Heading: "Pago ya procesado",
			Message: "Esta sesión de pago ya fue procesada; no se envió una nueva notificación.",
			OrderID: ss.orderID, Amount: ss.amount, Status: statusText[ss.status],
		}}
	}
	ss.status = status
	ss.paymentToken = randomAlnum(64)
	if strings.HasPrefix(bankCode, "cl_") {
		ss.bankCode = bankCode
	}
	c := completion{
		claims: etpay.NotificationClaims{
			SessionToken:    ss.token,
			MerchantOrderID: ss.orderID,
			PaymentToken:    ss.paymentToken,
			PaymentStatus:   status,
			UserRUT:         ss.userRUT,
		},
		signatureToken: ss.signatureToken, webhookURL: ss.webhookURL,
		redirectBase: ss.cancellationURL, concat: ss.concat,
		data: pageData{OrderID: ss.orderID, Amount: ss.amount, Status: statusText[status]},
	}
	if status == StatusSuccess {
		c.redirectBase = ss.completedURL
	}
	return c, nil
}

// appendJWT adds jwt=<token> to the merchant's URL as ETpay does: after "?"
// when the URL has no query yet, otherwise after concat (default "&"). A
// fragment stays at the end, where browsers expect it.
func appendJWT(base, concat, jwt string) string {
	base, fragment, hasFragment := strings.Cut(base, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = concat
		if sep == "" {
			sep = "&"
		}
	}
	out := base + sep + "jwt=" + url.QueryEscape(jwt)
	if hasFragment {
		out += "#" + fragment
	}
	return out
}

// renderPage renders a funnel template with the headers every sandbox page needs.
func (s *Server) renderPage(w http.ResponseWriter, status int, name string, data pageData) {
	data.CSS = styleCSS
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("sandbox: render page failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
