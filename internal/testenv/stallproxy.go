package testenv

import (
	"net"
	"sync"
	"testing"
	"time"
)

// StallProxy forwards TCP connections to a target until Stall: then it
// accepts and reads but forwards nothing, as a Redis that stopped answering
// looks to its clients. Resume forwards again; with drop set, what it held
// is lost and the connections that lived through the stall are reset (a
// partition that outlasted them), otherwise what it held goes on late.
type StallProxy struct {
	target string
	Addr   string // where clients connect
	ln     net.Listener

	mu    sync.Mutex
	gate  chan struct{} // not nil while stalled; closed by resume
	drop  bool
	conns map[net.Conn]struct{}
}

func StartStallProxy(t testing.TB, target string) *StallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &StallProxy{target: target, Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		p.Resume()
		_ = ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *StallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

func (p *StallProxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
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
func (p *StallProxy) pass() bool {
	p.mu.Lock()
	g, drop := p.gate, p.drop
	p.mu.Unlock()
	if g == nil {
		return true
	}
	<-g
	return !drop
}

func (p *StallProxy) Stall(drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate, p.drop = make(chan struct{}), drop
	}
}

func (p *StallProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		return
	}
	if p.drop {
		for c := range p.conns {
			_ = c.Close()
		}
	}
	close(p.gate)
	p.gate = nil
}
