package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// BufferedWriter gathers log lines in a bufio.Writer and writes them in
// batches: when the buffer is full, every interval, and at once after a
// record at warning level or above (New flushes a writer with a Flush
// method after such records). Under load an access log line per request
// would otherwise cost a system call per request. Close flushes what is
// left; lines written in the last interval before a crash that is not
// itself logged can be lost, which is why nothing at warning level waits.
// After a failed write every later Write and Flush reports that error.
type BufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewBufferedWriter writes to w in batches of up to size bytes, at least
// every interval.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *BufferedWriter {
	b := &BufferedWriter{w: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				_ = b.Flush()
			}
		}
	}()
	return b
}

// Write queues p (one log record).
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is queued.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the periodic flush and writes what is left.
func (b *BufferedWriter) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return b.Flush()
}
