package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/emails"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// maxIdempotencyKey is the longest Idempotency-Key taken.
const maxIdempotencyKey = 255

// newLinkFields are the members a new link's body may have.
var newLinkFields = []string{"merchant_order_id", "order_amount", "customer_email", "description", "expires_at", "send_email", "email_lang"}

// apiNewLink is a new link as the API takes it, checked.
type apiNewLink struct {
	in        models.LinkInput
	sendEmail bool
	emailLang string
}

// readNewLink reads and checks a new link's body by the panel's rules
// (models.ValidateLink), plus the API's own fields.
func (a *app) readNewLink(obj jsonObject) (apiNewLink, models.FieldErrors) {
	errs := models.FieldErrors{}
	obj.unknownFields(errs, newLinkFields...)
	var n apiNewLink
	obj.field("merchant_order_id", &n.in.MerchantOrderID, false, errs)
	hasAmount := obj.field("order_amount", &n.in.Amount, false, errs)
	obj.field("customer_email", &n.in.CustomerEmail, false, errs)
	obj.field("description", &n.in.Description, false, errs)
	var expires string
	hasExpiry := obj.field("expires_at", &expires, true, errs)
	obj.field("send_email", &n.sendEmail, false, errs)
	n.emailLang = views.Languages[0]
	if obj.field("email_lang", &n.emailLang, false, errs) && !slices.Contains(views.Languages, n.emailLang) {
		errs["email_lang"] = models.FieldError{Key: "api.invalid_email_lang"}
	}
	if _, typeErr := errs["order_amount"]; !hasAmount && !typeErr {
		errs["order_amount"] = models.FieldError{Key: "invalid.amount_required"}
	}
	for field, fe := range models.ValidateLink(n.in, a.Config.MaxOrderAmount) {
		if _, known := errs[field]; !known { // a wrong type says more
			errs[field] = fe
		}
	}
	if hasExpiry {
		at, err := time.Parse(time.RFC3339, expires)
		switch {
		case err != nil:
			errs["expires_at"] = models.FieldError{Key: "api.invalid_time"}
		case !models.ValidUserTime(at):
			errs["expires_at"] = models.FieldError{Key: "links.expiry_range", Args: []any{strconv.Itoa(models.FirstUserYear), strconv.Itoa(models.LastUserYear)}}
		default:
			n.in.ExpiresAt = &at
		}
	}
	if n.sendEmail && n.in.CustomerEmail == "" {
		errs["send_email"] = models.FieldError{Key: "api.send_email_needs_email"}
	}
	return n, errs
}

// idempotencyKey reads the Idempotency-Key header: empty when not sent.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	raw := c.Request().Header.Peek("Idempotency-Key")
	if raw == nil {
		return "", nil
	}
	key := string(raw)
	visible := func(r rune) bool { return r >= '!' && r <= '~' }
	if key == "" || len(key) > maxIdempotencyKey || strings.IndexFunc(key, func(r rune) bool { return !visible(r) }) >= 0 {
		return "", invalidFields(fiber.StatusUnprocessableEntity, models.FieldErrors{"Idempotency-Key": {Key: "api.invalid_idempotency_key", Args: []any{maxIdempotencyKey}}})
	}
	return key, nil
}

// apiCreateLink is POST /api/v1/links. With an Idempotency-Key, an answer
// already given to the same key is given again (the same body) or, for
// another body, refused: both before anything else is checked.
func (a *app) apiCreateLink(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	req := models.IdempotentRequest{APIKeyID: apiKeyOf(c).ID, Key: key, RequestHash: requestHash(c.Body()), At: a.now()}
	if key != "" {
		answer, err := a.Store.IdempotentAnswerFor(c.UserContext(), req)
		if err != nil {
			return idempotencyProblem(err)
		}
		if answer != nil {
			return replayAnswer(c, answer)
		}
	}
	obj, err := readJSONObject(c)
	if err != nil {
		return err
	}
	n, errs := a.readNewLink(obj)
	if len(errs) > 0 {
		return invalidFields(fiber.StatusUnprocessableEntity, errs)
	}
	n.in.Mode = a.mode
	n.in.CreatedVia = apiKeyOf(c).AuditName()
	link, answer, err := a.storeAPILink(c, n, req)
	var inUse *models.OrderInUseError
	if errors.As(err, &inUse) {
		e := newAPIError(fiber.StatusConflict, "order_in_use", n.in.MerchantOrderID, itoa(inUse.LinkID)) // an id, not grouped like an amount
		e.linkID = inUse.LinkID
		return e
	}
	if err != nil {
		return idempotencyProblem(err)
	}
	if link == nil { // another copy of this request made it meanwhile
		return replayAnswer(c, answer)
	}
	a.Logger.Info("link created", "link_id", link.ID, "api_key_id", apiKeyOf(c).ID)
	a.auditAPI(c, models.AuditLinkCreated, link.MerchantOrderID)
	c.Set(fiber.HeaderLocation, apiLinkPath(link.ID))
	return sendAPIBody(c, answer.Status, answer.Body)
}

// storeAPILink makes the link, with its email when asked, and under an
// Idempotency-Key stores its answer with it. link is nil when the key's
// answer was already stored (answer is then that one).
func (a *app) storeAPILink(c *fiber.Ctx, n apiNewLink, req models.IdempotentRequest) (*models.Link, *models.IdempotentAnswer, error) {
	ctx := c.UserContext()
	var email func(*models.Link) (*models.OutboxMessage, error)
	if n.sendEmail {
		email = func(l *models.Link) (*models.OutboxMessage, error) {
			return emails.Link(a.Config, a.Shop, l, n.emailLang)
		}
	}
	answerOf := func(l *models.Link) (int, []byte, error) {
		body, err := marshalAPI(l.View(a.Config.BaseURL.String(), a.now()))
		return fiber.StatusCreated, body, err
	}
	if req.Key != "" {
		var made *models.Link
		answer, replayed, err := a.Store.CreateLinkOnce(ctx, n.in, email, req, func(l *models.Link) (int, []byte, error) {
			made = l
			return answerOf(l)
		})
		if err != nil || replayed {
			return nil, answer, err
		}
		return made, answer, nil
	}
	var link *models.Link
	var err error
	if email == nil {
		link, err = a.Store.CreateLink(ctx, n.in)
	} else {
		link, _, err = a.Store.CreateLinkWithEmail(ctx, n.in, email)
	}
	if err != nil {
		return nil, nil, err
	}
	status, body, err := answerOf(link)
	return link, &models.IdempotentAnswer{Status: status, Body: body, LinkID: link.ID}, err
}

// idempotencyProblem is the problem of an Idempotency-Key used with another
// body; other errors pass as they are.
func idempotencyProblem(err error) error {
	if errors.Is(err, models.ErrIdempotencyMismatch) {
		return newAPIError(fiber.StatusUnprocessableEntity, "idempotency_mismatch")
	}
	return err
}

// replayAnswer gives a stored answer again, saying it is one.
func replayAnswer(c *fiber.Ctx, answer *models.IdempotentAnswer) error {
	c.Set("Idempotent-Replayed", "true")
	if answer.LinkID != 0 {
		c.Set(fiber.HeaderLocation, apiLinkPath(answer.LinkID))
	}
	return sendAPIBody(c, answer.Status, answer.Body)
}

func apiLinkPath(id uint) string {
	return "/api/v1/links/" + strconv.FormatUint(uint64(id), 10)
}
