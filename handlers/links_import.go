package handlers

import (
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"etpay-dashboard/linkimport"
	"etpay-dashboard/models"
	"etpay-dashboard/views"
)

// importPath is the import's form; an import's own page is under it.
const importPath = "/admin/links/import"

// importBodyLimit is the most an upload may send: the file and the few
// fields around it. It applies to POST importPath by staff (limitImportBody).
const importBodyLimit = linkimport.MaxBytes + 16<<10

// importID is the shape of an import's id (rand.Text), checked before any query.
var importID = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// limitImportBody gives an upload its own limit, but only from a logged-in
// staff member or admin (known from the cookie, before any byte of the
// body is read): a stranger's upload, and every other request under
// importPath (the confirmation, the downloads), keep the general limit.
func (a *app) limitImportBody(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodPost || strings.TrimSuffix(c.Path(), "/") != importPath || !a.mayImport(c) {
		return c.Next()
	}
	return limitBody(importBodyLimit, func(*fiber.Ctx) error {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, views.NewLocale("").T("import.file.too_large", linkimport.MaxBytes>>20))
	})(c)
}

// mayImport reports whether the request's cookie is the login of someone
// who may import links; the routes check it again as for every request.
func (a *app) mayImport(c *fiber.Ctx) bool {
	id := a.cookies.load(c).staffSessionID()
	if id == "" {
		return false
	}
	u, err := a.Store.UserBySession(c.UserContext(), id)
	return err == nil && mayEditLinks(u)
}

func (a *app) showImportForm(c *fiber.Ctx) error {
	return a.renderImportForm(c, fiber.StatusOK, "")
}

func (a *app) renderImportForm(c *fiber.Ctx, status int, problem string) error {
	l := a.locale(c)
	return a.render(c, status, "admin/links_import", fiber.Map{"Title": l.T("import.title"), "Error": problem,
		"MaxRows": linkimport.MaxRows, "MaxMiB": linkimport.MaxBytes >> 20})
}

// uploadImport reads the file, keeps its rows on the server for an hour, and
// sends staff to its preview (Post/Redirect/Get): the confirmation reads
// the rows from there, never from the browser.
func (a *app) uploadImport(c *fiber.Ctx) error {
	l := a.locale(c)
	fh, err := c.FormFile("file")
	if err != nil || fh.Size == 0 {
		return a.renderImportForm(c, fiber.StatusUnprocessableEntity, l.T("import.file.missing"))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, linkimport.MaxBytes+1))
	if err != nil {
		return err
	}
	rows, err := linkimport.Parse(data)
	var fe *linkimport.FileError
	if errors.As(err, &fe) {
		return a.renderImportForm(c, fiber.StatusUnprocessableEntity, l.T(fe.Key, fe.Args...))
	}
	if err != nil {
		return err
	}
	imp := &models.LinkImport{UserID: currentUser(c).ID, FileName: cleanFileName(fh.Filename), Mode: a.mode}
	if err := a.Store.SaveLinkImport(c.UserContext(), imp, rows, time.Now()); err != nil {
		return err
	}
	return c.Redirect(importPath+"/"+imp.ID, fiber.StatusSeeOther)
}

// cleanFileName is the base of an uploaded file's name, one line of at most
// 100 characters, as pages and the audit log show it.
func cleanFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "" || name == "." || name == "/" {
		return "-"
	}
	return name
}

// loadImport is the import named by :id, if it is the user's and unexpired.
func (a *app) loadImport(c *fiber.Ctx) (*models.LinkImport, []models.ImportRow, error) {
	id := c.Params("id")
	if !importID.MatchString(id) {
		return nil, nil, fiber.ErrNotFound
	}
	imp, rows, err := a.Store.LinkImportFor(c.UserContext(), id, currentUser(c).ID, time.Now())
	if err != nil {
		return nil, nil, notFoundOr(err)
	}
	return imp, rows, nil
}

func (a *app) importRules() linkimport.Rules {
	return linkimport.Rules{Mode: a.mode, MaxAmount: a.Config.MaxOrderAmount}
}

// showImport is an import's page: its preview while it waits for
// confirmation, its result once confirmed.
func (a *app) showImport(c *fiber.Ctx) error {
	imp, stored, err := a.loadImport(c)
	if err != nil {
		return err
	}
	rules := a.importRules()
	rows := linkimport.Check(stored, rules)
	done := imp.Status == models.ImportDone
	if !done {
		if err := linkimport.InUse(c.UserContext(), a.Store, rows, rules, time.Now()); err != nil {
			return err
		}
	}
	l := a.locale(c)
	title := l.T("import.preview_title", imp.FileName)
	if done {
		title = l.T("import.result_title", imp.FileName)
	}
	return a.render(c, fiber.StatusOK, "admin/links_import_rows", fiber.Map{"Title": title, "Import": imp, "Done": done,
		"Rows": a.importLines(l, rows), "Counts": linkimport.Count(rows), "Path": importPath + "/" + imp.ID})
}

// importLine is a row as the import's page shows it.
type importLine struct {
	*linkimport.Row
	Message string
	URL     string
}

func (a *app) importLines(l views.Locale, rows []linkimport.Row) []importLine {
	out := make([]importLine, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = importLine{Row: r, Message: linkimport.Message(l, r)}
		if r.Created() {
			out[i].URL = a.payURL(r.Code)
		}
	}
	return out
}

// confirmImport makes the links of a previewed import, its rows checked
// again, in one transaction, and shows its result. Confirming twice makes
// nothing more.
func (a *app) confirmImport(c *fiber.Ctx) error {
	imp, stored, err := a.loadImport(c)
	if err != nil {
		return err
	}
	path := importPath + "/" + imp.ID
	if imp.Status == models.ImportDone {
		return c.Redirect(path, fiber.StatusSeeOther)
	}
	user := currentUser(c)
	maker := &linkimport.Maker{Store: a.Store, Config: a.Config, Shop: a.Shop, CreatedBy: &user.ID,
		SendEmail: c.FormValue("send_email") != "", EmailLang: c.FormValue("email_lang")}
	rows, err := maker.Confirm(c.UserContext(), imp, stored, time.Now())
	if errors.Is(err, models.ErrImportDone) {
		return c.Redirect(path, fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	detail := linkimport.AuditOf(imp.FileName, rows, maker.SendEmail)
	a.Logger.Info("links imported", "import", imp.ID, "user_id", user.ID, "created", detail.Created, "refused", detail.Refused)
	a.audit(c, models.AuditLinksImported, detail.String())
	return redirectDone(c, path, "done.import")
}
