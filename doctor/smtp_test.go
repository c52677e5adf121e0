package doctor_test

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"etpay-dashboard/doctor"
)

// mailServer is a real SMTP server on loopback offering AUTH PLAIN for one
// user; it counts logins and any attempt to send.
type mailServer struct {
	logins, sends atomic.Int32
}

type mailSession struct{ s *mailServer }

func (x *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (x *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "pagos@shop.cl" || pass != "app-password-123" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.s.logins.Add(1)
		return nil
	}), nil
}
func (x *mailSession) Mail(string, *smtp.MailOptions) error { x.s.sends.Add(1); return nil }
func (x *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *mailSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (x *mailSession) Reset()        {}
func (x *mailSession) Logout() error { return nil }

func startMailServer(t *testing.T) (*mailServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback, no TLS
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s, ln.Addr().String()
}

// The mail check logs in as the worker would and sends nothing.
func TestSMTP(t *testing.T) {
	t.Parallel()
	srv, addr := startMailServer(t)
	user := func(pass string) string {
		return "smtp://" + url.UserPassword("pagos@shop.cl", pass).String() + "@" + addr
	}
	tests := []struct {
		name, smtpURL string
		level         doctor.Level
		key           string
		logins        int32
	}{
		{"accepted", user("app-password-123"), doctor.OK, "system.smtp.ok_auth", 1},
		{"refused", user("wrong-password"), doctor.Fail, "system.smtp.auth_refused", 0},
		{"no user, no AUTH", "smtp://" + addr, doctor.OK, "system.smtp.ok", 0},
		{"nothing listens", "smtp://" + closedAddr(t), doctor.Fail, "system.smtp.unreachable", 0},
		{"STARTTLS required but not offered", "smtp+starttls://" + addr, doctor.Fail, "system.smtp.failed", 0},
		{"not set", "", doctor.Warn, "system.smtp.none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.logins.Load()
			kv := []string{"SMTP_URL", tt.smtpURL}
			if tt.smtpURL != "" {
				kv = append(kv, "MAIL_FROM", "pagos@shop.cl")
			}
			r := only(t, run(t, settings(t, kv...)), "system.check.smtp")
			want(t, r, tt.level, tt.key)
			if got := srv.logins.Load() - before; got != tt.logins {
				t.Errorf("%d logins, want %d", got, tt.logins)
			}
			if text := say(r); strings.Contains(text, "password-123") || strings.Contains(text, "wrong-password") {
				t.Errorf("the advice shows the password: %s", text)
			}
		})
	}
	if n := srv.sends.Load(); n != 0 {
		t.Errorf("the check began to send %d emails, want none", n)
	}
}
