package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// hsts keeps browsers on HTTPS for a year once they have seen it.
const hsts = "max-age=31536000"

// guardAnswers wraps the server under the app, so that what follows holds
// for every answer, also the ones Fiber and fasthttp give before any
// middleware runs (an unknown method, a malformed request, a read timeout):
//   - with an https BASE_URL it carries HSTS. BASE_URL decides, not the
//     request: a TLS proxy in front forwards plain HTTP;
//   - a request whose body no middleware read ends its connection, since the
//     unread bytes would be taken for the next request.
//
// (fasthttp's own answer to a connection over Concurrency is written before
// any handler and carries neither.)
func guardAnswers(s *fasthttp.Server, secure bool) {
	handle, handleError := s.Handler, s.ErrorHandler
	s.Handler = func(ctx *fasthttp.RequestCtx) {
		handle(ctx)
		if ctx.Request.BodyStream() != nil {
			ctx.SetConnectionClose()
		}
		if secure {
			ctx.Response.Header.Set(fiber.HeaderStrictTransportSecurity, hsts)
		}
	}
	s.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		handleError(ctx, err)
		if secure {
			ctx.Response.Header.Set(fiber.HeaderStrictTransportSecurity, hsts)
		}
	}
}
