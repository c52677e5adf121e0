package handlers

import (
	"cmp"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/models"
)

// The API's lists: the panel's filters (parseListFilter), an exact order
// id, and forward keyset pages behind an opaque cursor.

// API page sizes.
const (
	apiPageSize    = 50
	apiMaxPageSize = 200
)

// apiListParams is a list's query string as the API reads it.
type apiListParams struct {
	filter models.SessionFilter
	after  *models.SessionCursor
	limit  int
	// otherMode: the mode asked for is not the key's, so nothing matches.
	otherMode bool
}

// apiList is one page of a list as the API answers it.
type apiList[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// parseAPIList reads the query string of an API list; statuses are the
// words its status takes. A key sees only the rows of its own mode.
func (a *app) parseAPIList(c *fiber.Ctx, statuses []string, statusErr string) (apiListParams, error) {
	p, errs := parseListFilter(c, statuses, statusErr)
	out := apiListParams{filter: p.filter, limit: apiPageSize}
	if order, ok := queryValue(c, "merchant_order_id"); ok {
		if order == "" || len(order) > 64 {
			errs["merchant_order_id"] = models.FieldError{Key: "invalid.order_id"}
		}
		out.filter.OrderID = order
	}
	if raw, ok := queryValue(c, "limit"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > apiMaxPageSize || strconv.Itoa(n) != raw {
			errs["limit"] = models.FieldError{Key: "api.invalid_limit", Args: []any{apiMaxPageSize}}
		}
		out.limit = n
	}
	if raw, ok := queryValue(c, "cursor"); ok {
		cur, err := decodeAPICursor(raw, out.filter.Sort)
		if err != nil {
			errs["cursor"] = models.FieldError{Key: "api.invalid_cursor"}
		}
		out.after = cur
	}
	if len(errs) > 0 {
		return out, invalidFields(fiber.StatusBadRequest, errs)
	}
	out.otherMode = out.filter.Mode != "" && out.filter.Mode != apiKeyOf(c).Mode
	out.filter.Mode = apiKeyOf(c).Mode
	return out, nil
}

// queryValue is the query parameter name and whether it was sent at all.
func queryValue(c *fiber.Ctx, name string) (string, bool) {
	args := c.Context().QueryArgs()
	return string(args.Peek(name)), args.Has(name)
}

// The cursor is the panel's keyset position, with the sort it belongs to,
// in base64url: opaque to callers, and refused under another sort.
var apiCursorEncoding = base64.RawURLEncoding

func encodeAPICursor(sort string, cur models.SessionCursor) string {
	return apiCursorEncoding.EncodeToString([]byte(cmp.Or(sort, models.SortDate) + ":" + cur.String()))
}

func decodeAPICursor(raw, sort string) (*models.SessionCursor, error) {
	b, err := apiCursorEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(string(b), cmp.Or(sort, models.SortDate)+":")
	if !ok {
		return nil, models.ErrBadCursor
	}
	cur, err := models.ParseSessionCursor(rest)
	if err != nil {
		return nil, err
	}
	return &cur, nil
}

// apiPage trims rows, read with limit+1, to one page and gives the cursor
// of the next one (nil on the last page).
func apiPage[R, T any](p apiListParams, rows []R, at func(*R) models.SessionCursor, view func(*R) T) apiList[T] {
	out := apiList[T]{Data: []T{}}
	if len(rows) > p.limit {
		rows = rows[:p.limit]
		next := encodeAPICursor(p.filter.Sort, at(&rows[len(rows)-1]))
		out.NextCursor = &next
	}
	for i := range rows {
		out.Data = append(out.Data, view(&rows[i]))
	}
	return out
}
