package logging

import (
	"io"
	"sync"
	"time"
)

// BufferedWriter gathers log lines and writes them in batches: when size
// bytes are waiting, every interval, and at once after a record at warning
// level or above (New flushes a writer with a Flush method after such
// records). Under load an access log line per request would otherwise cost a
// system call per request. Close flushes what is left; lines written in the
// last interval before a crash that is not itself logged can be lost, which
// is why nothing at warning level waits.
//
// A batch is written from one buffer while lines gather in the other, so a
// write that blocks (a slow disk, the kernel throttling dirty pages, a full
// pipe) holds up only the lines that find both buffers taken, not every
// request that logs. Batches are written one at a time, in order.
type BufferedWriter struct {
	mu      sync.Mutex
	written *sync.Cond // signalled when a batch has been written
	writing bool       // a batch is being written, with mu released
	w       io.Writer
	buf     []byte // lines gathering
	spare   []byte // the other buffer, free while !writing
	size    int
	err     error // the first write error, answered to every later Write
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewBufferedWriter writes to w in batches of up to size bytes, at least
// every interval.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *BufferedWriter {
	b := &BufferedWriter{w: w, buf: make([]byte, 0, size), spare: make([]byte, 0, size), size: size,
		stop: make(chan struct{}), done: make(chan struct{})}
	b.written = sync.NewCond(&b.mu)
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

// Write queues p (one log record), writing the queue first if p would not
// fit. A record larger than the whole buffer is written directly.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(b.buf)+len(p) > b.size {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > b.size {
		// Rare: written on its own, after the batches before it.
		for b.writing {
			b.written.Wait()
		}
		if b.err != nil {
			return 0, b.err
		}
		if _, err := b.w.Write(p); err != nil {
			b.err = err
			return 0, err
		}
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes everything queued.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// flushLocked writes everything queued. It is called with mu held and
// returns with it held, but releases it while writing: it waits for the
// batch being written, if any, then swaps the buffers and writes the full
// one while later lines gather in the other.
func (b *BufferedWriter) flushLocked() error {
	for b.writing {
		b.written.Wait()
	}
	if b.err != nil || len(b.buf) == 0 {
		return b.err
	}
	out := b.buf
	b.buf = b.spare[:0]
	b.writing = true
	b.mu.Unlock()
	_, err := b.w.Write(out)
	b.mu.Lock()
	b.writing = false
	b.spare = out[:0]
	if err != nil && b.err == nil {
		b.err = err
	}
	b.written.Broadcast()
	return err
}

// Close stops the periodic flush and writes what is left. The writer must
// not be used afterwards.
func (b *BufferedWriter) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	return b.Flush()
}
