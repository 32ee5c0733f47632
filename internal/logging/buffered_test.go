package logging

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	fail   error
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBufferedWriterBatchesAndNeverHoldsWarnings(t *testing.T) {
	out := &syncBuffer{}
	// An interval far longer than the test: only size, warnings and Close
	// flush here.
	bw := NewBufferedWriter(out, 4096, time.Hour)
	log := New(bw, "info")
	for i := range 10 {
		log.Info("request", "n", i)
	}
	if out.String() != "" {
		t.Fatalf("info lines were written before a flush: %q", out.String())
	}
	log.Warn("something is wrong")
	got := out.String()
	if n := strings.Count(got, "\n"); n != 11 || !strings.Contains(got, "something is wrong") {
		t.Fatalf("after a warning %d lines were out, want all 11: %q", n, got)
	}
	if out.writes != 1 {
		t.Fatalf("%d writes for 11 lines, want 1", out.writes)
	}

	// Filling the buffer writes it out; a record bigger than the buffer
	// goes straight through, after what was queued.
	for range 100 {
		log.Info("filler", "pad", strings.Repeat("x", 100))
	}
	if strings.Count(out.String(), "filler") == 0 {
		t.Fatal("a full buffer was not written")
	}
	log.Info("huge", "pad", strings.Repeat("y", 5000))
	if !strings.HasSuffix(strings.TrimSpace(out.String()), `"}`) || !strings.Contains(out.String(), "yyyy") {
		t.Fatal("a record bigger than the buffer was not written whole")
	}
	log.Info("last words")
	if strings.Contains(out.String(), "last words") {
		t.Fatal("written before Close")
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "last words") {
		t.Fatal("Close did not flush")
	}
	// Lines stay whole and in order.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[len(lines)-1], "last words") || !strings.Contains(lines[0], `"n":0`) {
		t.Fatalf("order: first %q last %q", lines[0], lines[len(lines)-1])
	}
}

func TestBufferedWriterFlushesPeriodicallyAndKeepsErrors(t *testing.T) {
	out := &syncBuffer{}
	bw := NewBufferedWriter(out, 1<<16, 10*time.Millisecond)
	defer bw.Close()
	if _, err := bw.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "line\n" {
		if time.Now().After(deadline) {
			t.Fatal("the periodic flush never wrote the line")
		}
		time.Sleep(5 * time.Millisecond)
	}

	out.mu.Lock()
	out.fail = errors.New("disk full")
	out.mu.Unlock()
	_, _ = bw.Write([]byte("lost\n"))
	if err := bw.Flush(); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if _, err := bw.Write([]byte("more\n")); err == nil {
		t.Fatal("writes after a failure must report it")
	}
}

// gateWriter blocks every write until the test opens the gate.
type gateWriter struct {
	entered chan struct{}
	gate    chan struct{}
	syncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.syncBuffer.Write(p)
}

// While a batch is being written, lines still gather in the other buffer:
// a blocked write holds up no line that fits, and the batches come out
// whole and in order.
func TestBufferedWriterLinesGatherWhileABatchIsWritten(t *testing.T) {
	out := &gateWriter{entered: make(chan struct{}, 4), gate: make(chan struct{})}
	bw := NewBufferedWriter(out, 64, time.Hour)
	if _, err := bw.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- bw.Flush() }()
	<-out.entered // the first batch is being written, and blocked

	wrote := make(chan error, 1)
	go func() {
		_, err := bw.Write([]byte("second\n"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a line waited for the blocked write")
	}
	close(out.gate)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	go func() {
		for range out.entered {
		}
	}()
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nsecond\n" {
		t.Fatalf("written %q, want both lines in order", got)
	}
}
