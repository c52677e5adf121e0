// Package handlers is etpay-dashboard's HTTP surface: the staff panel, the
// customer's pages and ETpay's webhook, all on one Fiber app.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/template/html/v2"
	"golang.org/x/sync/singleflight"

	"etpay-dashboard/config"
	"etpay-dashboard/etpay"
	"etpay-dashboard/live"
	"etpay-dashboard/logins"
	"etpay-dashboard/models"
	"etpay-dashboard/payments"
	"etpay-dashboard/ratelimit"
	"etpay-dashboard/shop"
	"etpay-dashboard/static"
	"etpay-dashboard/views"
)

// Deps is everything the handlers need; main builds it, and tests build it the same way.
type Deps struct {
	Config        *config.Config
	Store         *models.Store
	ETpay         *etpay.Client
	Logger        *slog.Logger
	SessionSecret string
	// Sandbox, when set, is ETpay's simulator, served under /sandbox.
	Sandbox http.Handler
	// Payments records notifications (webhook, replays, status checks);
	// nil: New makes one from the rest.
	Payments *payments.Pipeline
	// Events carries session changes to live tables; main closes it before
	// shutting down so open streams end promptly. Nil: New makes one.
	Events *live.Broker
	// Clock is the time second-factor codes are checked against; nil:
	// time.Now. Tests set it so they need not wait for a time step.
	Clock func() time.Time
	// Shop is the shop's name and reply-to address, shared with the
	// payments pipeline and the outbox worker; nil: New loads one.
	Shop *shop.Shop
}

// app carries the dependencies that every handler method uses.
type app struct {
	Deps
	events   *live.Broker
	payments *payments.Pipeline
	cookies  *cookieStore
	throttle logins.Limiter
	apiLimit *ratelimit.Limiter // requests per API key (API_RATE_LIMIT)
	starting singleflight.Group // one ETpay session start per link at a time
	mode     string
	started  time.Time
	// dummyHash is compared against for unknown users, so timing does not tell.
	dummyHash func() string
}

// maxConnections bounds the connections served at once; further ones are
// refused with 503 until some close.
const maxConnections = 10_000

// SandboxPrefix is where the built-in ETpay simulator is served in sandbox mode.
const SandboxPrefix = "/sandbox"

// New builds the whole application with every route.
func New(d Deps) *fiber.App {
	a := newApp(d)
	f := fiber.New(a.serverConfig())
	guardAnswers(f.Server(), d.Config.Secure())
	f.Use(a.recoverPanics, a.logRequests, securityHeaders)
	a.routes(f)
	return f
}

// newApp fills in the dependencies a test may leave out.
func newApp(d Deps) *app {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Events == nil {
		d.Events = live.New()
	}
	if d.Shop == nil {
		d.Shop = shop.New(d.Config, d.Store)
		if err := d.Shop.Load(context.Background()); err != nil {
			d.Logger.Error("shop settings not read", "err", err)
		}
	}
	if d.Payments == nil {
		d.Payments = &payments.Pipeline{Config: d.Config, Store: d.Store, ETpay: d.ETpay, Events: d.Events, Logger: d.Logger, Shop: d.Shop}
	}
	return &app{
		Deps:     d,
		events:   d.Events,
		payments: d.Payments,
		cookies:  newCookieStore(d.SessionSecret, d.Config.Secure()),
		throttle: logins.For(d.Store, d.Logger),
		apiLimit: newAPILimiter(d.Config.APIRateLimit),
		mode:     string(d.Config.Mode),
		started:  time.Now(),
		dummyHash: sync.OnceValue(func() string {
			h, _ := d.Store.HashPassword("not a real password, only for timing")
			return h
		}),
	}
}

// serverConfig is how the server reads requests: bounded in size, time and
// connections, so that a hostile client stays cheap.
func (a *app) serverConfig() fiber.Config {
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFuncMap(views.Funcs())
	return fiber.Config{
		Views:                 engine,
		ErrorHandler:          a.handleError,
		Immutable:             true,
		DisableStartupMessage: true,
		// Bodies are streamed: the server reads ahead readAhead bytes of
		// one, never reserves memory for what a client only declares, and
		// each route's limitBody reads the rest up to that route's limit.
		StreamRequestBody: true,
		BodyLimit:         readAhead,
		// Pre-parsing a multipart form would read its whole declared length
		// before any limit applies.
		DisablePreParseMultipartForm: true,
		// At most this many connections at once, from everyone together
		// (never per address: ETpay calls from a few, and behind a proxy
		// every client is one). An open request costs about 15 KB
		// (flood_test.go), so the cap bounds memory too.
		Concurrency: maxConnections,
		// Headers and body must arrive within ReadTimeout of a request's
		// first byte, so a slow sender cannot hold a connection for long.
		ReadTimeout: 10 * time.Second,
		// Long enough for the CSV export and a live-table stream (which ends
		// itself after streamLifetime); a fixed deadline covers a whole response.
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  60 * time.Second,
	}
}

// routes is the route table: every route of the application, in one place.
func (a *app) routes(f *fiber.App) {
	// Every body is read, up to its route's limit, before anything else
	// looks at it. The first limit matching a path decides: specific ones
	// go first, and the general one covers every other route (404s too).
	f.Use("/webhooks/etpay", limitBody(etpay.MaxNotificationBody, a.refuseOversizedNotification))
	f.Use(importPath, a.limitImportBody) // staff's uploads only
	f.Use("/api", limitBody(apiBodyLimit, nil))
	f.Use(limitBody(formBodyLimit, nil))

	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	f.Get("/readyz", a.ready)
	f.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 3600}))
	f.Get("/favicon.ico", serveFavicon) // browsers ask for it wherever the page says nothing
	if a.Sandbox != nil {
		f.All(SandboxPrefix+"/*", adaptor.HTTPHandler(a.Sandbox))
	}

	// ETpay's side: no session, CSRF or login; verification is the defence.
	f.Post("/webhooks/etpay", a.receiveNotification)

	// The shop's systems (api_*.go): a bearer key, no session or CSRF; every
	// answer JSON, every error a problem (RFC 9457). The document is public.
	f.Get("/api/v1/openapi.json", serveOpenAPI)
	api := f.Group("/api/v1", noStore, a.requireAPIKey)
	api.Post("/links", apiWrite, a.apiCreateLink)
	api.Get("/links", a.apiListLinks)
	api.Get("/links/:id", a.apiGetLink)
	api.Post("/links/:id/cancel", apiWrite, a.apiCancelLink)
	api.Get("/sessions", a.apiListSessions)
	api.Get("/sessions/:id", a.apiGetSession)

	// The customer's side.
	f.Get("/pay/:code", a.openLink)
	f.Get("/pay/:code/success", a.showPaymentResult(true))
	f.Get("/pay/:code/error", a.showPaymentResult(false))

	// Staff.
	f.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/admin/sessions", fiber.StatusSeeOther) })
	f.Get("/login", a.withSession, a.showLogin)
	f.Post("/login", a.withSession, a.checkCSRF, a.login)
	f.Get("/login/2fa", a.withSession, a.showLoginCode)
	f.Post("/login/2fa", a.withSession, a.checkCSRF, a.checkLoginCode)
	f.Post("/logout", a.withSession, a.checkCSRF, a.logout)

	// Every /admin route has a session, a login, CSRF checks and a role check.
	admin := f.Group("/admin", a.withSession, a.requireLogin, noStore, a.checkCSRF)
	admin.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/admin/sessions", fiber.StatusSeeOther) })
	admin.Get("/overview", canView, a.showOverview)

	admin.Get("/sessions", canView, a.listSessions)
	admin.Get("/sessions.csv", canView, a.exportSessions)
	admin.Get("/sessions.xlsx", canView, a.exportSessionsXLSX)
	admin.Get("/events", canView, a.streamEvents)
	admin.Get("/sessions/:id", canView, a.showSession)
	admin.Post("/sessions/:id/check", canEdit, a.checkWithETpay)
	admin.Post("/notifications/:id/replay", canEdit, a.replayNotification)

	admin.Get("/links", canView, a.listLinks)
	admin.Get("/links.xlsx", canView, a.exportLinksXLSX)
	admin.Get("/links/new", canEdit, a.showLinkForm)
	admin.Post("/links/new", canEdit, a.saveLink)
	admin.Get("/links/import", canEdit, a.showImportForm) // before /links/:id, which would take "import"
	admin.Post("/links/import", canEdit, a.uploadImport)
	admin.Get("/links/import/:id", canEdit, a.showImport)
	admin.Post("/links/import/:id", canEdit, a.confirmImport)
	admin.Get("/links/import/:id/result.xlsx", canEdit, a.exportImportXLSX)
	admin.Get("/links/import/:id/result.csv", canEdit, a.exportImportCSV)
	admin.Get("/links/:id", canView, a.showLink)
	admin.Get("/links/:id/qr.png", canView, a.showLinkQR)
	admin.Get("/links/:id/cancel", canEdit, a.confirmCancelLink)
	admin.Post("/links/:id/cancel", canEdit, a.cancelLink)
	admin.Post("/links/:id/expiry", canEdit, a.setLinkExpiry)
	admin.Get("/links/:id/email/preview", canEdit, a.previewLinkEmail)
	admin.Post("/links/:id/email", canEdit, a.sendLinkEmail)
	admin.Post("/links/:id/reminders", canEdit, a.setLinkReminders)

	admin.Get("/outbox", canView, a.showOutbox)
	admin.Get("/outbox/:id/html", canView, a.showOutboxHTML)

	admin.Get("/account", canView, a.showAccount)
	admin.Post("/account", canView, a.changeOwnPassword)
	admin.Post("/account/lang", canView, a.changeLang)
	admin.Post("/account/alerts", canView, a.saveMailAlerts)
	admin.Get("/account/2fa", canView, a.showSecondFactor)
	admin.Post("/account/2fa", canView, a.saveSecondFactor)

	admin.Get("/users", canAdmin, a.listUsers)
	admin.Get("/users/new", canAdmin, a.showNewUser)
	admin.Post("/users/new", canAdmin, a.saveUser)
	admin.Get("/users/:id", canAdmin, a.showUser)
	admin.Post("/users/:id/role", canAdmin, a.changeRole)
	admin.Get("/users/:id/disable", canAdmin, a.confirmDisableUser)
	admin.Post("/users/:id/disable", canAdmin, a.disableUser)
	admin.Post("/users/:id/enable", canAdmin, a.enableUser)
	admin.Get("/users/:id/password", canAdmin, a.showResetPassword)
	admin.Post("/users/:id/password", canAdmin, a.resetPassword)
	admin.Post("/users/:id/unlock", canAdmin, a.unlockLogin)
	admin.Post("/users/require-2fa", canAdmin, a.setSecondFactorRequired)
	admin.Get("/users/:id/2fa/reset", canAdmin, a.confirmResetSecondFactor)
	admin.Post("/users/:id/2fa/reset", canAdmin, a.resetSecondFactor)
	admin.Get("/audit", canAdmin, a.showAudit)
	admin.Get("/golive", canAdmin, a.showGoLive)
	admin.Get("/golive.csv", canAdmin, a.exportGoLive)
	admin.Get("/system", canAdmin, a.showSystem)
	admin.Get("/shop", canAdmin, a.showShop)
	admin.Post("/shop", canAdmin, a.saveShop)
	admin.Post("/shop/later", canAdmin, a.shopLater)
	// The shop's webhooks (README, "Webhooks").
	admin.Get("/webhooks", canAdmin, a.listWebhooks)
	admin.Post("/webhooks", canAdmin, a.addWebhook)
	admin.Get("/webhooks/:id", canAdmin, a.showWebhook)
	admin.Post("/webhooks/:id/test", canAdmin, a.sendTestWebhook)
	admin.Post("/webhooks/:id/rotate", canAdmin, a.rotateWebhookSecret)
	admin.Post("/webhooks/:id/enable", canAdmin, a.setWebhookEnabled(true))
	admin.Post("/webhooks/:id/disable", canAdmin, a.setWebhookEnabled(false))
	admin.Get("/webhooks/:id/delete", canAdmin, a.confirmDeleteWebhook)
	admin.Post("/webhooks/:id/delete", canAdmin, a.deleteWebhook)
	admin.Post("/webhooks/:id/deliveries/:delivery/resend", canAdmin, a.resendWebhook)

	// API keys (api_keys.go): the key is shown once, on the answer that makes it.
	admin.Get("/api-keys", canAdmin, a.listAPIKeys)
	admin.Post("/api-keys", canAdmin, a.saveAPIKey)
	admin.Get("/api-keys/:id/revoke", canAdmin, a.confirmRevokeAPIKey)
	admin.Post("/api-keys/:id/revoke", canAdmin, a.revokeAPIKey)
	// Unmatched paths fall through to Fiber's 404 or 405, rendered by handleError.
}

// serveFavicon answers /favicon.ico with the SVG icon the layout links to.
func serveFavicon(c *fiber.Ctx) error {
	icon, err := static.FS.ReadFile("favicon.svg")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(icon)
}

func (a *app) ready(c *fiber.Ctx) error {
	if err := a.Store.Ping(c.UserContext()); err != nil {
		a.Logger.Error("readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ready")
}
