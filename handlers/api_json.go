package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/apidoc"
	"etpay-dashboard/models"
)

// apiBodyLimit is the most an API request body may be: a new link is a few
// hundred bytes.
const apiBodyLimit = 16 << 10

// serveOpenAPI answers the API's OpenAPI document, to anyone.
func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(apidoc.OpenAPI)
}

// sendAPIJSON answers v as JSON with status.
func sendAPIJSON(c *fiber.Ctx, status int, v any) error {
	body, err := marshalAPI(v)
	if err != nil {
		return err
	}
	return sendAPIBody(c, status, body)
}

// marshalAPI writes v as the API's JSON: as encoding/json does, but with
// <, > and & as they are (answers are JSON, never HTML, and nosniff).
func marshalAPI(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func sendAPIBody(c *fiber.Ctx, status int, body []byte) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(body)
}

// jsonObject is a request body read as a JSON object: each member kept raw,
// to be read into its own type, so that each wrong field is named.
type jsonObject map[string]json.RawMessage

// readJSONObject reads the request body as one JSON object. A body of
// another media type answers 415, one that is not a JSON object 400. So is
// a body two readers could see differently: encoding/json keeps the last of
// a member named twice (many readers keep the first, so the shop's own
// checks could see another amount than the link gets) and turns text that
// is not UTF-8 into U+FFFD.
func readJSONObject(c *fiber.Ctx) (jsonObject, error) {
	mediaType, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEApplicationJSON {
		return nil, newAPIError(fiber.StatusUnsupportedMediaType, "unsupported_media_type")
	}
	var obj jsonObject
	body := c.Body()
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() || !utf8.Valid(body) || !uniqueMembers(body) {
		return nil, newAPIError(fiber.StatusBadRequest, "invalid_json")
	}
	return obj, nil
}

// uniqueMembers reports whether the JSON object in body names each member
// once (after unescaping: "a\u0062" is "ab"). Only the top level is
// walked: every member the API reads is a scalar.
func uniqueMembers(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, isName := tok.(string)
		if err != nil || !isName || seen[name] {
			return false
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return true
}

// requestHash is what tells two requests apart for an Idempotency-Key: the
// SHA-256 of the body's JSON written canonically (members sorted, no
// spaces), so the same fields sent again match however they are spaced or
// ordered; a body that is no JSON counts as its bytes.
func requestHash(body []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	canonical := body
	if dec.Decode(&v) == nil && !dec.More() {
		if b, err := json.Marshal(v); err == nil {
			canonical = b
		}
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// field reads member name of obj into dst, noting in errs when it has
// the wrong type. A member left out, or null when nullable, leaves dst as
// it is and reports false.
func (obj jsonObject) field(name string, dst any, nullable bool, errs models.FieldErrors) bool {
	raw, ok := obj[name]
	if !ok || (nullable && string(raw) == "null") {
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		errs[name] = models.FieldError{Key: typeProblem(dst)}
		return false
	}
	return true
}

// typeProblem is the problem of a member whose JSON type is not the one
// dst takes.
func typeProblem(dst any) string {
	switch dst.(type) {
	case *string:
		return "api.invalid_type.string"
	case *bool:
		return "api.invalid_type.boolean"
	}
	return "api.invalid_type.integer"
}

// unknownFields notes every member of obj that is not one of known.
func (obj jsonObject) unknownFields(errs models.FieldErrors, known ...string) {
	for name := range obj {
		isKnown := false
		for _, k := range known {
			isKnown = isKnown || k == name
		}
		if !isKnown {
			errs[name] = models.FieldError{Key: "api.unknown_field"}
		}
	}
}

// apiID reads the :id route parameter; anything but a positive integer is
// a link or session that does not exist.
func apiID(c *fiber.Ctx) (uint, error) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	if err != nil || id == 0 {
		return 0, newAPIError(fiber.StatusNotFound, "not_found")
	}
	return uint(id), nil
}
