package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := parseHTTPURL("BASE_URL", raw)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return nil, errors.New("BASE_URL must not have a query or fragment")
	}
	if u.User != nil {
		return nil, errors.New("BASE_URL must not carry a user name or password: it goes into every link")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// isEmail accepts a bare address such as admin@shop.cl.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func parseHTTPURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", name, raw)
	}
	return u, nil
}

func parseCIDRs(raw string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
				part += "/32"
			} else {
				part += "/128"
			}
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR", part)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// SMTP URL schemes: smtp uses STARTTLS when offered, smtp+starttls requires
// it, smtps is TLS from the first byte.
const (
	SchemeSMTP         = "smtp"
	SchemeSMTPStartTLS = "smtp+starttls"
	SchemeSMTPS        = "smtps"
)

// loadMail validates the mail settings into c. Messages never repeat
// SMTP_URL: it may carry a password.
func (c *Config) loadMail(smtpURL, from, merchant, giveUp string) []error {
	var errs []error
	c.MailPoll, c.MailRetry = DefaultMailPoll, DefaultMailRetry
	if smtpURL != "" {
		u, err := parseSMTPURL(smtpURL)
		if err != nil {
			errs = append(errs, err)
		}
		c.SMTPURL = u
		if from == "" {
			errs = append(errs, errors.New("MAIL_FROM is required when SMTP_URL is set, e.g. MAIL_FROM=pagos@shop.cl"))
		}
	}
	if from != "" {
		if a, err := mail.ParseAddress(from); err != nil || !strings.Contains(a.Address, "@") {
			errs = append(errs, fmt.Errorf("MAIL_FROM %q is not an email address such as pagos@shop.cl or \"Tienda <pagos@shop.cl>\"", from))
		}
	}
	c.MailFrom = from
	c.MerchantName = merchant
	c.MerchantNameGiven = merchant != ""
	if c.MerchantName == "" && c.BaseURL != nil {
		c.MerchantName = c.BaseURL.Hostname()
	}
	if utf8.RuneCountInString(c.MerchantName) > 100 || strings.ContainsFunc(c.MerchantName, unicode.IsControl) {
		errs = append(errs, errors.New("MERCHANT_NAME must be one line of at most 100 characters"))
	}
	var err error
	if c.MailGiveUpAfter, err = time.ParseDuration(giveUp); err != nil || c.MailGiveUpAfter <= 0 {
		errs = append(errs, fmt.Errorf("MAIL_GIVE_UP_AFTER %q is not a positive duration such as 48h", giveUp))
	}
	return errs
}

// parseSMTPURL checks an SMTP_URL without ever quoting it back.
func parseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL such as smtp://host:25 (special characters in the password must be percent-encoded)")
	}
	switch u.Scheme {
	case SchemeSMTP, SchemeSMTPStartTLS, SchemeSMTPS:
	default:
		return nil, errors.New("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
	}
	if u.Hostname() == "" {
		return nil, errors.New("SMTP_URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("SMTP_URL has an invalid port")
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("SMTP_URL must have no path, query or fragment")
	}
	if u.User != nil && u.User.Username() == "" {
		return nil, errors.New("SMTP_URL has a password but no user name")
	}
	return u, nil
}

// parseBool reads a true/false setting (also 1/0); its default when not given.
func parseBool(src *source, name string) bool {
	v, err := strconv.ParseBool(src.orDefault(name))
	if err != nil {
		src.fail(fmt.Errorf("%s %q is not true or false", name, src.orDefault(name)))
	}
	return v
}
