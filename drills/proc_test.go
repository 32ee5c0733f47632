package drills

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuffer keeps a process's output for the failure report.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one process started by a drill. It is killed when the test ends.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *logBuffer
	done   chan struct{}
	waitMu sync.Mutex
	err    error
}

// startProc starts path with args and exactly env (nothing is inherited but
// PATH and HOME), recording stdout and stderr. firstLine, when not nil,
// receives the first line of standard output.
func startProc(t *testing.T, name, path string, args, env []string, firstLine chan<- string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p := &proc{name: name, cmd: cmd, out: &logBuffer{}, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		p.out.Write([]byte(line))
		if firstLine != nil {
			firstLine <- strings.TrimSpace(line)
		}
		_, _ = io.Copy(p.out, r)
	}()
	go func() {
		err := cmd.Wait()
		p.waitMu.Lock()
		p.err = err
		p.waitMu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s (pid %d) output, last 6 KB ----\n%s", name, cmd.Process.Pid, tail(p.out.String(), 6<<10))
		}
	})
	return p
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

func (p *proc) exitErr() error {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	return p.err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// eventually polls cond every interval until it holds or limit passes; the
// limit is a bound against hanging, never a performance assertion.
func eventually(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; last state: %s", limit, what, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
