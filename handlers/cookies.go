package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/sessions"
)

// cookieName is the staff session cookie.
const cookieName = "etpay_dashboard"

// sessionTTL is how long a login lasts, in the cookie and on the server.
const sessionTTL = 12 * 60 * 60 // seconds

// cookieStore bridges gorilla/sessions, which speaks net/http, to Fiber. This
// is the only place that does.
type cookieStore struct {
	store *sessions.CookieStore
}

func newCookieStore(secret string, secure bool) *cookieStore {
	// Separate keys for signing and encrypting, both derived from the one secret.
	hashKey := sha256.Sum256([]byte("etpay-dashboard cookie signing\x00" + secret))
	blockKey := sha256.Sum256([]byte("etpay-dashboard cookie encryption\x00" + secret))
	store := sessions.NewCookieStore(hashKey[:], blockKey[:])
	store.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   sessionTTL,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	store.MaxAge(sessionTTL)
	return &cookieStore{store: store}
}

// cookieSession is one request's session values.
type cookieSession struct {
	s     *sessions.Session
	dirty bool
}

func (cs *cookieStore) load(c *fiber.Ctx) *cookieSession {
	r := &http.Request{Header: http.Header{}}
	if v := c.Get(fiber.HeaderCookie); v != "" {
		r.Header.Set("Cookie", v)
	}
	// A cookie that fails to decode (old key, tampering) just starts a new session.
	s, _ := cs.store.New(r, cookieName)
	return &cookieSession{s: s}
}

func (cs *cookieStore) save(c *fiber.Ctx, sess *cookieSession) error {
	if !sess.dirty {
		return nil
	}
	w := headerWriter{h: http.Header{}}
	if err := cs.store.Save(&http.Request{}, w, sess.s); err != nil {
		return err
	}
	for _, v := range w.h.Values("Set-Cookie") {
		c.Append(fiber.HeaderSetCookie, v)
	}
	return nil
}

// headerWriter collects the headers gorilla writes; nothing else is used.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w headerWriter) WriteHeader(int)             {}

func (s *cookieSession) get(key string) string {
	v, _ := s.s.Values[key].(string)
	return v
}

func (s *cookieSession) set(key, value string) {
	s.s.Values[key] = value
	s.dirty = true
}

// flash keeps a one-shot message (a catalogue key) for the next page the
// layout renders, which says what the last action did; a newer one replaces it.
func (s *cookieSession) flash(key string) { s.set("flash", key) }

// takeFlash returns the message kept for this page and forgets it.
func (s *cookieSession) takeFlash() string {
	key := s.get("flash")
	if key != "" {
		delete(s.s.Values, "flash")
		s.dirty = true
	}
	return key
}

func (s *cookieSession) csrfToken() string      { return s.get("csrf") }
func (s *cookieSession) staffSessionID() string { return s.get("sid") }
func (s *cookieSession) newCSRFToken()          { s.set("csrf", rand.Text()) }

// clear drops every value, as at logout, and starts a fresh CSRF token.
func (s *cookieSession) clear() {
	for k := range s.s.Values {
		delete(s.s.Values, k)
	}
	s.newCSRFToken()
}

// startLogin replaces the session's values with a new login (no fixation).
func (s *cookieSession) startLogin(staffSessionID string) {
	s.clear()
	s.set("sid", staffSessionID)
}
