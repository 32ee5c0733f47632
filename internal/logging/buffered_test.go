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
	// is written too, after what was queued.
	for range 100 {
		log.Info("filler", "pad", strings.Repeat("x", 100))
	}
	if strings.Count(out.String(), "filler") == 0 {
		t.Fatal("a full buffer was not written")
	}
	huge := strings.Repeat("y", 5000)
	log.Info("huge", "pad", huge)
	if !strings.Contains(out.String(), "yyyy") {
		t.Fatal("a record bigger than the buffer was held back")
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
	if !strings.Contains(out.String(), `"pad":"`+huge+`"}`) {
		t.Fatal("a record bigger than the buffer was not written whole")
	}
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
