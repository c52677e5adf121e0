package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// apiPrefix is where the API lives; every error under it is answered as a
// problem (RFC 9457), never as an HTML page.
const apiPrefix = "/api/"

// problemTypePrefix starts every problem's type: the part after it names
// the kind of problem, for programs, and never changes.
const problemTypePrefix = "urn:etpay-dashboard:problem:"

// problem is an RFC 9457 problem details object, as the API answers errors.
type problem struct {
	Type     string                  `json:"type"`
	Title    string                  `json:"title"`
	Status   int                     `json:"status"`
	Detail   string                  `json:"detail"`
	Instance string                  `json:"instance,omitempty"`
	Errors   map[string]fieldProblem `json:"errors,omitempty"`
	// LinkID names the link already holding an order id (order_in_use).
	LinkID uint `json:"link_id,omitempty"`
}

// fieldProblem is what is wrong with one field: a code for programs (the
// catalogue key) and the sentence for people.
type fieldProblem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// apiError is an error a handler returns to be answered as a problem. Its
// name picks the type and the texts (problemTexts; the detail is formatted
// with args).
type apiError struct {
	status int
	name   string
	args   []any
	fields models.FieldErrors
	linkID uint
	header map[string]string
}

func (e *apiError) Error() string { return "api: " + e.name }

// newAPIError is a problem of status and name.
func newAPIError(status int, name string, args ...any) *apiError {
	return &apiError{status: status, name: name, args: args}
}

// with adds a header to the answer.
func (e *apiError) with(header, value string) *apiError {
	if e.header == nil {
		e.header = map[string]string{}
	}
	e.header[header] = value
	return e
}

// invalidFields is the problem of a request whose fields are wrong: 422 for
// a body, 400 for a query string.
func invalidFields(status int, errs models.FieldErrors) *apiError {
	name := "validation"
	if status == fiber.StatusBadRequest {
		name = "invalid_query"
	}
	return &apiError{status: status, name: name, fields: errs}
}

// fiberProblems names the problems of Fiber's own errors (an unknown path,
// a body too large or too slow, ...).
var fiberProblems = map[int]string{
	fiber.StatusBadRequest:            "bad_request",
	fiber.StatusNotFound:              "not_found",
	fiber.StatusMethodNotAllowed:      "method_not_allowed",
	fiber.StatusRequestTimeout:        "timeout",
	fiber.StatusRequestEntityTooLarge: "too_large",
	fiber.StatusUnsupportedMediaType:  "unsupported_media_type",
}

// asAPIError turns any error of an API request into its problem; ok is
// false for a server fault (500).
func asAPIError(err error) (e *apiError, ok bool) {
	var fe *fiber.Error
	switch {
	case errors.As(err, &e):
		return e, true
	case errors.Is(err, models.ErrBusy):
		return newAPIError(fiber.StatusServiceUnavailable, "busy").with(fiber.HeaderRetryAfter, "1"), true
	case errors.As(err, &fe) && fiberProblems[fe.Code] != "":
		return newAPIError(fe.Code, fiberProblems[fe.Code]), true
	}
	return newAPIError(fiber.StatusInternalServerError, "internal"), false
}

// apiLocale is the language of problem texts: Spanish, or English when the
// caller's Accept-Language prefers it.
func apiLocale(c *fiber.Ctx) views.Locale {
	return views.NewLocale(c.AcceptsLanguages("es", "en"))
}

// handleAPIError answers an error of an API request as a problem; server
// faults are logged and say nothing of their cause.
func (a *app) handleAPIError(c *fiber.Ctx, err error) error {
	e, ok := asAPIError(err)
	if !ok || e.status >= 500 {
		a.Logger.Error("api request failed", "method", c.Method(), "path", maskPath(c.Path()), "err", err)
	}
	return sendProblem(c, e)
}

// sendProblem writes e as application/problem+json in the caller's language.
func sendProblem(c *fiber.Ctx, e *apiError) error {
	l := apiLocale(c)
	texts := problemTexts[e.name]
	p := problem{
		Type:     problemTypePrefix + e.name,
		Title:    l.T(texts.title),
		Status:   e.status,
		Detail:   l.T(texts.detail, e.args...),
		Instance: c.Path(),
		LinkID:   e.linkID,
	}
	if len(e.fields) > 0 {
		msgs := fieldMessages(l, e.fields)
		p.Errors = make(map[string]fieldProblem, len(e.fields))
		for field, fe := range e.fields {
			p.Errors[field] = fieldProblem{Code: fe.Key, Detail: msgs[field]}
		}
	}
	body, err := marshalAPI(p)
	if err != nil {
		return err
	}
	for k, v := range e.header {
		c.Set(k, v)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(e.status).Send(body)
}

// isAPIPath reports whether path belongs to the API.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, apiPrefix) || path == strings.TrimSuffix(apiPrefix, "/")
}

// problemTexts are the catalogue keys of each problem's title and detail,
// by name.
var problemTexts = map[string]struct{ title, detail string }{
	"missing_key":            {"api.problem.missing_key", "api.problem.missing_key.detail"},
	"invalid_key":            {"api.problem.invalid_key", "api.problem.invalid_key.detail"},
	"revoked_key":            {"api.problem.revoked_key", "api.problem.revoked_key.detail"},
	"key_mode":               {"api.problem.key_mode", "api.problem.key_mode.detail"},
	"insufficient_scope":     {"api.problem.insufficient_scope", "api.problem.insufficient_scope.detail"},
	"rate_limited":           {"api.problem.rate_limited", "api.problem.rate_limited.detail"},
	"not_found":              {"api.problem.not_found", "api.problem.not_found.detail"},
	"method_not_allowed":     {"api.problem.method_not_allowed", "api.problem.method_not_allowed.detail"},
	"bad_request":            {"api.problem.bad_request", "api.problem.bad_request.detail"},
	"timeout":                {"api.problem.timeout", "api.problem.timeout.detail"},
	"too_large":              {"api.problem.too_large", "api.problem.too_large.detail"},
	"unsupported_media_type": {"api.problem.unsupported_media_type", "api.problem.unsupported_media_type.detail"},
	"invalid_json":           {"api.problem.invalid_json", "api.problem.invalid_json.detail"},
	"validation":             {"api.problem.validation", "api.problem.validation.detail"},
	"invalid_query":          {"api.problem.invalid_query", "api.problem.invalid_query.detail"},
	"idempotency_mismatch":   {"api.problem.idempotency_mismatch", "api.problem.idempotency_mismatch.detail"},
	"order_in_use":           {"api.problem.order_in_use", "api.problem.order_in_use.detail"},
	"link_paid":              {"api.problem.link_paid", "api.problem.link_paid.detail"},
	"busy":                   {"api.problem.busy", "api.problem.busy.detail"},
	"internal":               {"api.problem.internal", "api.problem.internal.detail"},
}
