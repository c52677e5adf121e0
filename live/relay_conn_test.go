package live

import (
	"log/slog"
	"net"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/models"
)

// A database restart or an idle timeout ends the sender's connection while
// nothing is published: the next event goes out on a new one, not lost.
func TestASenderWhoseConnectionDiedIdleLosesNothing(t *testing.T) {
	t.Parallel()
	url, opts := testOptions(t)
	a, b := startRelay(t, url, opts), startRelay(t, url, opts)
	onB, _, _ := b.Broker().Subscribe("y", "", nil)
	a.Broker().PublishSession(models.Session{ID: 1})
	nextEvent(t, onB, time.Second)
	pid := a.senderPID.Load()
	terminate(t, pid)
	a.Broker().PublishSession(models.Session{ID: 2})
	if ev := nextEvent(t, onB, time.Second); ev.Session.ID != 2 {
		t.Fatalf("after A's sending connection died B got %+v, want session 2", ev)
	}
	if a.senderPID.Load() == pid {
		t.Fatal("A sent on the killed connection")
	}
}

// A connection that goes silent without closing (a NAT or a load balancer
// that forgot it) is found by the listener's ping: it listens again and
// the streams resync.
func TestASilentListeningConnectionIsReplaced(t *testing.T) {
	t.Parallel()
	url, opts := testOptions(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr
	a := startRelay(t, url, opts)
	b := startRelay(t, u.String(), opts, func(r *Relay) { r.quiet = 100 * time.Millisecond })
	onB, _, _ := b.Broker().Subscribe("y", "", nil)
	p.silence() // every connection B has now goes quiet, new ones work
	a.Broker().PublishSession(models.Session{ID: 1})
	if ev := nextEvent(t, onB, 10*time.Second); !ev.Resync {
		t.Fatalf("B's stream got %+v before its silent connection was replaced, want a resync", ev)
	}
	a.Broker().PublishSession(models.Session{ID: 2})
	if ev := nextEvent(t, onB, time.Second); ev.Session.ID != 2 {
		t.Fatalf("after listening again B got %+v, want session 2", ev)
	}
}

// proxy forwards TCP connections to a database and can make the ones it
// holds silent: bytes are swallowed both ways, sockets stay open.
type proxy struct {
	addr   string
	mu     sync.Mutex
	conns  []*proxied
	closed bool
}

// proxied is one forwarded connection.
type proxied struct {
	mu     sync.Mutex
	silent bool
}

func (c *proxied) isSilent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.silent
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String()}
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.closed = true
		for _, c := range open {
			c.Close()
		}
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			c := &proxied{}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				client.Close()
				server.Close()
				return
			}
			p.conns = append(p.conns, c)
			open = append(open, client, server)
			p.mu.Unlock()
			go c.pipe(client, server)
			go c.pipe(server, client)
		}
	}()
	return p
}

// pipe copies from to to until either closes, swallowing what it reads
// once the connection is silent.
func (c *proxied) pipe(to, from net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 && !c.isSilent() {
			if _, err := to.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			to.Close()
			return
		}
	}
}

// silence makes every connection held now silent.
func (p *proxy) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.mu.Lock()
		c.silent = true
		c.mu.Unlock()
	}
}

// Instances starting together on an empty database create the sequence
// once: none fails to listen on its first try.
func TestInstancesStartingTogetherCreateTheSequenceOnce(t *testing.T) {
	t.Parallel()
	url, opts := testOptions(t)
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	var waits []func()
	for range 8 { // each starts connecting at once
		_, listening := runRelay(t, url, opts)
		waits = append(waits, listening)
	}
	for _, listening := range waits {
		listening()
	}
	if strings.Contains(logs.String(), "cannot listen") {
		t.Fatalf("an instance could not start listening:\n%s", logs.String())
	}
}
