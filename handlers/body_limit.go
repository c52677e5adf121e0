package handlers

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Request bodies are streamed (fiber.Config.StreamRequestBody): before the
// handlers run, the server reads at most readAhead bytes of a body, and
// nothing is reserved for bytes a client has only declared. limitBody then
// reads the rest, up to the route's limit, into memory that grows only as
// bytes arrive.
const (
	// readAhead is what the server reads of a body before any handler runs
	// (fasthttp's MaxRequestBodySize, which in streaming mode is a read-ahead,
	// not a limit). It is also what is kept of a body declared too large.
	readAhead = 4 << 10
	// formBodyLimit is the most a staff form, the login form, or any route
	// without a limit of its own may send; our largest form is a few hundred
	// bytes.
	formBodyLimit = 16 << 10
)

// localBodyRead marks a request whose body a limitBody has read.
const localBodyRead = "bodyRead"

// limitBody returns middleware that reads the request body before anything
// else looks at it, keeping at most max bytes. A body declared or sent
// larger is answered by tooLarge (nil: a 413 page), which finds the first
// bytes read as the request body; the connection then closes, since the rest
// of the body stays unread. A body in a Content-Encoding is refused (415):
// decompressing it would make a small body large.
//
// The first limitBody on a request's path decides, so register a route's
// own limit (app.Use with its path) before the general one.
func limitBody(max int, tooLarge fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Locals(localBodyRead) != nil {
			return c.Next()
		}
		c.Locals(localBodyRead, true)
		req := c.Request()
		if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
			req.SetBodyRaw(nil)
			c.Context().SetConnectionClose()
			return fiber.ErrUnsupportedMediaType
		}
		body, over, err := readBody(c, max)
		req.SetBodyRaw(body) // also ends the stream: nothing reads past the limit
		if err != nil {
			c.Context().SetConnectionClose()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fiber.ErrRequestTimeout
			}
			return fiber.ErrBadRequest
		}
		if over {
			c.Context().SetConnectionClose()
			if tooLarge == nil {
				return fiber.ErrRequestEntityTooLarge
			}
			return tooLarge(c)
		}
		return c.Next()
	}
}

// readBody reads the body of c's request, at most max bytes, allocating only
// for bytes received. over reports a body declared or found larger than max;
// body is then what was read of it: up to readAhead bytes for a declared
// length (already read ahead, so this never waits for the client), or max+1
// bytes of a chunked body.
func readBody(c *fiber.Ctx, max int) (body []byte, over bool, err error) {
	req := c.Request()
	declared := req.Header.ContentLength() // -1: chunked
	stream := req.BodyStream()
	if stream == nil { // read whole already, as when bodies are not streamed
		body = req.Body()
		if len(body) > max {
			return body[:min(len(body), readAhead)], true, nil
		}
		return body, false, nil
	}
	if declared == 0 {
		return nil, false, nil
	}
	if declared > max {
		body, err = io.ReadAll(io.LimitReader(stream, int64(min(declared, readAhead))))
		return body, true, err
	}
	body, err = io.ReadAll(io.LimitReader(stream, int64(max)+1))
	if err != nil {
		return nil, false, err
	}
	return body, len(body) > max, nil
}
