package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/store"
)

// backends are the database and Redis the BFF under test uses: a fresh
// PostgreSQL schema and a unique Redis key prefix when the servers answer,
// else the BFF's embedded defaults (SQLite, in-process Redis).
type backends struct {
	DatabaseURL string // for the BFF; empty: its SQLite default
	RedisURL    string // for the BFF; empty: its in-process server
	Prefix      string // BFF_REDIS_PREFIX
	Desc        string // what the report says was used

	admin  *store.DB
	schema string
	rdb    *redis.Client
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkpoint asks PostgreSQL for a checkpoint before the load, so that its
// periodic one (checkpoint_timeout, 5 minutes by default) does not start
// inside the measured phases: its burst of data-file writes and fsyncs
// stalls commits for hundreds of milliseconds on this shared disk, which
// the figures would otherwise show or not depending on the clock. It
// reports what happened, for the report; nothing else depends on it.
func (b *backends) checkpoint(ctx context.Context) string {
	if b.admin == nil {
		return "none (SQLite)"
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	if err := b.admin.WithContext(cctx).Exec("CHECKPOINT").Error; err != nil {
		return fmt.Sprintf("refused (%v): PostgreSQL's periodic checkpoint may fall inside the run", err)
	}
	return fmt.Sprintf("CHECKPOINT before the BFF started (%s): PostgreSQL's next timed one comes checkpoint_timeout later, after a run shorter than that", time.Since(start).Round(time.Millisecond))
}

// openBackends probes PostgreSQL and Redis and prepares an isolated schema
// and key prefix on each that answers. It never fails: an unreachable
// server means the embedded default, and Desc says so.
func openBackends(ctx context.Context, pgURL, redisURL string, logf func(string, ...any)) *backends {
	b := &backends{Prefix: "bench_" + randomHex(4) + ":"}
	var desc []string

	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	admin, err := store.Open(pctx, pgURL, nil)
	if err == nil {
		err = admin.WithContext(pctx).Exec("SELECT 1").Error
	}
	if err == nil {
		schema := "bench_" + randomHex(4)
		if err = admin.WithContext(pctx).Exec("CREATE SCHEMA " + schema).Error; err == nil {
			b.admin, b.schema = admin, schema
			sep := "?"
			if strings.Contains(pgURL, "?") {
				sep = "&"
			}
			b.DatabaseURL = pgURL + sep + "search_path=" + schema
			desc = append(desc, fmt.Sprintf("PostgreSQL %s (%s, schema %s)", pgVersion(pctx, admin), redactURL(pgURL), schema))
		}
	}
	if err != nil {
		if admin != nil {
			_ = admin.Close()
		}
		logf("PostgreSQL unreachable (%v): falling back to the BFF's embedded SQLite", err)
		desc = append(desc, "SQLite (embedded default; PostgreSQL was unreachable)")
	}

	opts, err := redis.ParseURL(redisURL)
	if err == nil {
		// One quiet attempt: an unreachable server is an expected answer.
		redis.SetLogger(quietRedisLog{})
		opts.MaxRetries, opts.DialTimeout = -1, 2*time.Second
		c := redis.NewClient(opts)
		if err = c.Ping(pctx).Err(); err == nil {
			b.rdb, b.RedisURL = c, redisURL
			ver := ""
			if info, ierr := c.Info(pctx, "server").Result(); ierr == nil {
				for _, line := range strings.Split(info, "\n") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
						ver = " " + v
					}
				}
			}
			desc = append(desc, fmt.Sprintf("Redis%s (%s, prefix %s)", ver, redisURL, b.Prefix))
		} else {
			_ = c.Close()
		}
	}
	if err != nil {
		logf("Redis unreachable (%v): falling back to the BFF's in-process Redis", err)
		desc = append(desc, "in-process Redis (embedded default; Redis was unreachable)")
	}
	b.Desc = strings.Join(desc, "; ")
	return b
}

// quietRedisLog drops go-redis's own log lines; the harness reports what
// matters itself.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func pgVersion(ctx context.Context, db *store.DB) string {
	var v string
	if err := db.WithContext(ctx).Raw("SHOW server_version").Scan(&v).Error; err != nil {
		return "?"
	}
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	return v
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	u.RawQuery = ""
	return u.Redacted()
}

// Close drops the schema and the keys under the prefix.
func (b *backends) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b.admin != nil {
		if err := b.admin.WithContext(ctx).Exec("DROP SCHEMA " + b.schema + " CASCADE").Error; err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", b.schema, err))
		}
		errs = append(errs, b.admin.Close())
	}
	if b.rdb != nil {
		iter := b.rdb.Scan(ctx, 0, b.Prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 500 {
				errs = append(errs, b.rdb.Del(ctx, keys...).Err())
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			errs = append(errs, b.rdb.Del(ctx, keys...).Err())
		}
		errs = append(errs, iter.Err(), b.rdb.Close())
	}
	return errors.Join(errs...)
}

// bffProcess is the BFF under test, started from its binary.
type bffProcess struct {
	cmd  *exec.Cmd
	Base string // http://127.0.0.1:port
	Log  string // its standard error (JSON logs)
	done chan error
}

// startBFF runs bin with env (on top of a minimal environment), waits for
// the address it prints and for /readyz to answer 200. Its standard error
// goes to logName in dir.
func startBFF(ctx context.Context, bin, dir, logName string, env []string) (*bffProcess, error) {
	logPath := filepath.Join(dir, logName)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	// A minimal environment: the BFF reads only what the harness sets, not
	// whatever DATABASE_URL the caller's shell happens to carry.
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	if tz, ok := os.LookupEnv("TZ"); ok {
		base = append(base, "TZ="+tz)
	}
	cmd.Env = append(base, env...)
	cmd.Stderr = logFile
	// The BFF must not outlive the harness, however the harness ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &bffProcess{cmd: cmd, Log: logPath, done: make(chan error, 1)}
	baseCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "API"); ok && !found {
				found = true
				baseCh <- strings.TrimSuffix(strings.TrimSpace(v), "/v1")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.done <- cmd.Wait()
		logFile.Close()
	}()

	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	select {
	case p.Base = <-baseCh:
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("bff exited during start (%v); see %s:\n%s", err, logPath, tail(logPath, 15))
	case <-deadline.C:
		p.Stop()
		return nil, fmt.Errorf("bff did not print its address within 90 s; see %s", logPath)
	case <-ctx.Done():
		p.Stop()
		return nil, ctx.Err()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(p.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-deadline.C:
			p.Stop()
			return nil, fmt.Errorf("bff not ready within 90 s (last: %v)", err)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PID is the BFF's process id.
func (p *bffProcess) PID() int { return p.cmd.Process.Pid }

// Stop asks the BFF to shut down (SIGTERM) and kills it if it has not
// finished in 20 s.
func (p *bffProcess) Stop() error {
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		return fmt.Errorf("bff did not stop within 20 s after SIGTERM; killed")
	}
}

// memory is a process's resident memory as /proc reports it.
type memory struct {
	RSS, HWM, Anon, File int64 // KiB
}

func (m memory) rssMB() float64 { return float64(m.RSS) / 1024 }
func (m memory) hwmMB() float64 { return float64(m.HWM) / 1024 }

// readMemory reads VmRSS, VmHWM, RssAnon and RssFile of pid.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	return m, sc.Err()
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
