package testenv

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a loopback port to a target, and
// misbehaves as a network does when told to:
//   - Stall: it accepts and reads but forwards nothing, as a server that
//     stopped answering looks to its clients; Resume forwards again, and
//     with drop set what it held is lost and the connections that lived
//     through the stall are reset (a partition that outlasted them),
//     otherwise what it held goes on late.
//   - Cut: it refuses new connections and breaks the open ones (the server
//     "goes away"); Restore listens on the same port again.
type Proxy struct {
	t      testing.TB
	target string
	Addr   string // where clients connect

	mu    sync.Mutex
	ln    net.Listener  // nil while cut
	gate  chan struct{} // not nil while stalled; closed by Resume
	drop  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy starts a proxy to target; the test's cleanup stops it.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: target, Addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.Resume()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // cut meanwhile
				p.mu.Unlock()
				_ = c.Close()
				_ = up.Close()
				continue
			}
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
		p.wg.Done()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass waits while the proxy is stalled and reports whether what was read
// may go on.
func (p *Proxy) pass() bool {
	p.mu.Lock()
	g, drop := p.gate, p.drop
	p.mu.Unlock()
	if g == nil {
		return true
	}
	<-g
	return !drop
}

// Stall holds everything read from now on (see Proxy).
func (p *Proxy) Stall(drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate, p.drop = make(chan struct{}), drop
	}
}

// Resume ends a stall (see Proxy).
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		return
	}
	if p.drop {
		p.closeConnsLocked()
	}
	close(p.gate)
	p.gate = nil
}

// Cut refuses new connections and breaks the open ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	p.closeConnsLocked()
}

func (p *Proxy) closeConnsLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Restore listens on the proxy's port again after Cut.
func (p *Proxy) Restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment after the close
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy restore: %v", err)
	}
	p.serve(ln)
}
