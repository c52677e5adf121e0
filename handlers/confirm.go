package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// confirmation is a page that asks before an action that is hard to take
// back: it says what will happen, and its form POSTs to the action's
// unchanged route with the CSRF token; the way back does nothing. Cancelling
// a link, disabling a user and resetting a password or a second factor ask
// this way, and so should any such action added later (revoking an API key,
// deleting a webhook endpoint): a GET of the action's path shows the page.
type confirmation struct {
	Title  string   // the question: the page's title and heading
	Lines  []string // what will happen, one sentence each
	Action string   // where the form POSTs
	Submit string   // the button that does it
	Back   string   // where "Volver" leads without doing anything
	// Fields are what the action needs typed (a new password); most need none.
	Fields []confirmField
}

// confirmField is one input of a confirmation's form, shown through
// partials/field (its label is the text "field."+Name).
type confirmField struct {
	Name, Type, Hint, Error string
}

// renderConfirm shows a confirmation; status is 200 when asking, 422 when a
// field came back wrong.
func (a *app) renderConfirm(c *fiber.Ctx, status int, cf confirmation) error {
	return a.render(c, status, "admin/confirm", fiber.Map{"Title": cf.Title, "Confirm": cf})
}
