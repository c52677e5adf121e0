package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"etpay-dashboard/config"
	"etpay-dashboard/models"
	"etpay-dashboard/tlsserve"
)

// front is what faces the network: the app's listener, speaking TLS when
// this server serves HTTPS itself, and the small plain-HTTP servers beside
// it, stopped with it.
type front struct {
	// ln is the app's listener.
	ln net.Listener
	// api is where our own ETpay client reaches the built-in sandbox: ln,
	// or a plain listener on loopback when ln speaks TLS (our client could
	// not check our certificate against 127.0.0.1).
	api net.Listener
	// redirect answers plain HTTP (ACME challenges, a redirect to https);
	// nil when there is none.
	redirect *sideServer
	logger   *slog.Logger
}

// sideServer is a plain net/http server that runs beside the app.
type sideServer struct {
	srv *http.Server
	ln  net.Listener
}

// redirectConnections bounds the redirector's connections at once: it
// answers a few bytes to each, and a flood of them must stay cheap.
const redirectConnections = 1000

// openFront opens the app's listener and, when this server serves HTTPS,
// prepares its certificates and the redirector. A redirector that cannot
// bind is logged, not fatal: HTTPS still works, and an ACME CA can still
// validate a domain on the HTTPS port (tls-alpn-01). On PostgreSQL the
// ACME cache is store's (shared by the instances), else a directory.
func openFront(cfg *config.Config, logger *slog.Logger, store *models.Store) (*front, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	f := &front{ln: ln, api: ln, logger: logger}
	if !cfg.ServesHTTPS() {
		return f, nil
	}
	opts := tlsserve.Options{
		Domains: cfg.ACMEDomains, Email: cfg.ACMEEmail, DirectoryURL: cfg.ACMEDirectoryURL,
		CARoots: cfg.ACMECARoots, CacheDir: cfg.ACMECacheDir(),
		CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile, Logger: logger,
	}
	if store.OnPostgres() {
		opts.Cache = tlsserve.DBCache{Store: store}
	}
	certs, err := tlsserve.New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	f.ln = tls.NewListener(ln, certs.TLSConfig())
	f.api = f.ln
	if cfg.Mode == config.ModeSandbox {
		if f.api, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if cfg.HTTPRedirectAddr == "" {
		return f, nil
	}
	rln, err := net.Listen("tcp", cfg.HTTPRedirectAddr)
	if err != nil {
		logger.Error("http redirector not started: plain http is not answered (https works)", "addr", cfg.HTTPRedirectAddr, "err", err)
		return f, nil
	}
	handler := certs.HTTPHandler(tlsserve.Redirect(redirectHosts(cfg), httpsPort(cfg, ln.Addr())))
	f.redirect = newSideServer(netutil.LimitListener(rln, redirectConnections), handler, logger)
	return f, nil
}

// redirectHosts are the hosts plain HTTP may be sent to, the first being
// where any other goes: the ACME domains, or BASE_URL's host.
func redirectHosts(cfg *config.Config) []string {
	if len(cfg.ACMEDomains) > 0 {
		return cfg.ACMEDomains
	}
	return []string{cfg.BaseURL.Hostname()}
}

// httpsPort is the public HTTPS port: BASE_URL's when it is https (a port
// forward may stand in between), else the one the app listens on.
func httpsPort(cfg *config.Config, addr net.Addr) string {
	if cfg.BaseURL.Scheme == "https" {
		return cfg.BaseURL.Port()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

func newSideServer(ln net.Listener, h http.Handler, logger *slog.Logger) *sideServer {
	return &sideServer{ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
}

// start serves the side servers in g until ctx ends, then stops them; g
// waits for both. sandbox, when set, is served on f.api if that is not the
// app's own listener.
func (f *front) start(ctx context.Context, g *errgroup.Group, sandbox http.Handler) {
	servers := []*sideServer{f.redirect}
	if sandbox != nil && f.api != f.ln {
		servers = append(servers, newSideServer(f.api, sandbox, f.logger))
	}
	for _, s := range servers {
		if s == nil {
			continue
		}
		g.Go(func() error {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.srv.Shutdown(stopCtx); err != nil {
				s.srv.Close()
			}
			// Shutdown closes only a listener Serve has begun with.
			s.ln.Close()
			return nil
		})
	}
}

// announce logs where the server listens and tells env's hooks.
func (f *front) announce(cfg *config.Config, env environment) {
	https := "off" // plain http here: TLS, if any, is a proxy's
	switch {
	case len(cfg.ACMEDomains) > 0:
		https = "acme"
		f.logger.Info("https certificates from ACME, asked for on the first connection to each domain",
			"domains", cfg.ACMEDomains, "directory", cfg.ACMEDirectoryURL, "cache", acmeCacheName(cfg))
	case cfg.TLSCertFile != "":
		https = "files"
	}
	f.logger.Info("listening", "addr", f.ln.Addr().String(), "https", https, "base_url", cfg.BaseURL.String(), "mode", cfg.Mode)
	if f.redirect != nil {
		f.logger.Info("redirecting http to https", "addr", f.redirect.ln.Addr().String())
	}
	if env.redirectReady != nil && f.redirect != nil {
		env.redirectReady(f.redirect.ln.Addr().String())
	}
	if env.ready != nil {
		env.ready(f.ln.Addr().String())
	}
}

// acmeCacheName says where ACME certificates are kept, for the log.
func acmeCacheName(cfg *config.Config) string {
	if cfg.OnPostgres() {
		return "database (acme_certs)"
	}
	return cfg.ACMECacheDir()
}
