package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"github.com/gofiber/fiber/v2"
	"google.golang.org/api/option"

	"github.com/weifang/kaigong-zsb/internal/procstat"
	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/notify/intake"
	pushapi "github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/fcm"
)

// tlsRounds is how many alternating rounds (BFF, floor) each size runs.
const tlsRounds = 3

// tlsFanoutResults are the fan-out figures on FCM's real transport: the
// sink serving FCM over TLS with HTTP/2 behind its OAuth token endpoint, the
// BFF configured with FCM_CREDENTIALS_FILE as in production, and beside it
// the floor, firebase-admin-go's own SendEach loop over the same transport
// to the same sink.
type tlsFanoutResults struct {
	Sizes []tlsFanoutSize
	Notes []string
}

type tlsFanoutSize struct {
	Devices      int
	BFF, Floor   []tlsRound
	PeakRSS      float64 // the BFF's VmHWM after this size, MB
	RegisterTime time.Duration
	// RecordPG is PostgreSQL's CPU for writing Devices delivery rows the
	// way the BFF records a fan-out's pushes (measureRecordFloor); zero
	// when it was not measured.
	RecordPG time.Duration
}

// tlsRound is one fan-out: from the 202 (the BFF) or the first SendEach
// call (the floor) to the first and the last push at the sink.
type tlsRound struct {
	First, All time.Duration
	Got        int
	CPU        time.Duration // the BFF's user+system CPU over the round
	// PostgreSQL's (every postgres process), Redis's and the harness's
	// own (the floor's sender and the stand-in) CPU over the round.
	PG, Redis, Harness time.Duration
}

// machineCPU is the CPU time so far of the processes a round's cost is
// split over.
type machineCPU struct{ bff, pg, redis, harness time.Duration }

func readMachineCPU(bffPID int) machineCPU {
	return machineCPU{bff: procCPU(bffPID), pg: commCPU("postgres"), redis: commCPU("redis-server"), harness: procCPU(os.Getpid())}
}

// spent fills r's CPU figures with what was used since c.
func (c machineCPU) spent(r *tlsRound, bffPID int) {
	now := readMachineCPU(bffPID)
	r.CPU, r.PG, r.Redis, r.Harness = now.bff-c.bff, now.pg-c.pg, now.redis-c.redis, now.harness-c.harness
}

// commCPU is the user+system CPU so far of every process named comm (a
// PostgreSQL backend that exited during the round is not counted; the
// BFF's pooled connections live on).
func commCPU(comm string) time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		total += procCPU(pid)
	}
	return total
}

func (r tlsRound) perSecond() float64 {
	if r.All <= 0 {
		return 0
	}
	return float64(r.Got) / r.All.Seconds()
}

// medianRound is the round of median pushes/s.
func medianRound(rs []tlsRound) tlsRound {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b tlsRound) int {
		switch {
		case a.perSecond() < b.perSecond():
			return -1
		case a.perSecond() > b.perSecond():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// runFanoutTLS starts a BFF of its own (the other one has stopped) on the
// same data, reaching FCM over the real transport, and measures one event
// fanned out to each of sizes devices against the floor, alternating.
func runFanoutTLS(ctx context.Context, o options, dir string, env []string, src *eventSource, join joiner, sizes []int, providerDevices int, logf func(string, ...any)) (tlsFanoutResults, error) {
	var res tlsFanoutResults
	sink := pushsink.New(pushsink.Options{MaxMessages: 2 * slices.Max(sizes)})
	base, err := sink.StartTLS("127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer sink.Close()
	caFile, accountFile := filepath.Join(dir, "sink-ca.pem"), filepath.Join(dir, "fcm-account.json")
	account, err := sink.FCMServiceAccount(base, "kaigong-bench")
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(caFile, sink.CACertPEM(), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(accountFile, account, 0o600); err != nil {
		return res, err
	}
	// The floor runs in this process: it trusts the sink's CA here only.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sink.CACertPEM())
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		dt.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	var tlsEnv []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FCM_") {
			tlsEnv = append(tlsEnv, kv)
		}
	}
	tlsEnv = append(tlsEnv, "FCM_ENDPOINT="+pushsink.Endpoint(base), "FCM_CREDENTIALS_FILE="+accountFile,
		"FCM_PROJECT_ID=kaigong-bench", "SSL_CERT_FILE="+caFile)
	proc, err := startBFF(ctx, o.BFF, dir, "bff-tls.log", tlsEnv)
	if err != nil {
		return res, err
	}
	defer proc.Stop()
	logf("fan-out over TLS: BFF at %s (pid %d), FCM stand-in at %s (TLS, HTTP/2, OAuth)", proc.Base, proc.PID(), base)
	a := newAPI(proc.Base)
	if err := a.login(ctx, o.User, o.Password); err != nil {
		return res, err
	}
	floor, err := newFloor(ctx, accountFile, pushsink.Endpoint(base))
	if err != nil {
		return res, err
	}
	c, err := newLoadClient(proc.Base, 1)
	if err != nil {
		return res, err
	}
	if providerDevices > 0 {
		// The providers phase's devices belong to the same account: left,
		// each fan-out here would go to them too, and to their stand-ins,
		// which are gone.
		logf("  unregistering the providers phase's %d devices", providerDevices)
		if err := unregisterDevices(ctx, a, "bench-prov", providerDevices); err != nil {
			return res, fmt.Errorf("unregistering the providers phase's devices: %w", err)
		}
	}
	req, resp := new(fiber.Request), new(fiber.Response)
	reader := &sinkReader{sink: sink}
	for _, n := range sizes {
		size := tlsFanoutSize{Devices: n}
		size.RegisterTime, _, err = registerDevices(ctx, a, src.runID, n, 4)
		if err != nil {
			return res, err
		}
		time.Sleep(time.Second)
		for round := range tlsRounds {
			// The BFF: one event, n pushes.
			sink.Reset()
			cpu0 := readMachineCPU(proc.PID())
			ev := src.send(c, proc.Base, req, resp)
			if ev.Result != intake.ResultApplied {
				return res, fmt.Errorf("fan-out event: %s", ev.Result)
			}
			m := waitPushes(ctx, reader, join, []event{ev}, n, time.Now().Add(o.FanoutMax), 10*time.Millisecond)
			r := spanOf(m[ev.ID], ev.Accepted)
			cpu0.spent(&r, proc.PID())
			size.BFF = append(size.BFF, r)
			logf("  %d devices, round %d, BFF: first %s, all %d after %s (%s); CPU: BFF %s, PostgreSQL %s, Redis %s, harness %s", n, round+1,
				ms(r.First), r.Got, ms(r.All), perSecond(r.perSecond()), ms(r.CPU), ms(r.PG), ms(r.Redis), ms(r.Harness))
			time.Sleep(500 * time.Millisecond)
			// The floor: the same n pushes by SendEach, 500 a call.
			sink.Reset()
			cpu0 = readMachineCPU(proc.PID())
			start := time.Now()
			if err := floor.send(ctx, src.runID, n); err != nil {
				return res, err
			}
			fr := spanOfSink(sink.Messages(), start)
			cpu0.spent(&fr, proc.PID())
			size.Floor = append(size.Floor, fr)
			logf("  %d devices, round %d, floor: first %s, all %d after %s (%s); CPU: harness %s", n, round+1,
				ms(fr.First), fr.Got, ms(fr.All), perSecond(fr.perSecond()), ms(fr.Harness))
			time.Sleep(500 * time.Millisecond)
		}
		if mem, err := readMemory(proc.PID()); err == nil {
			size.PeakRSS = mem.hwmMB()
		}
		if dbURL := envValue(tlsEnv, "DATABASE_URL"); strings.HasPrefix(dbURL, "postgres") {
			if size.RecordPG, err = measureRecordFloor(ctx, dbURL, n); err != nil {
				logf("  the record floor: %v", err)
			} else {
				logf("  %d devices, the record floor: %s of PostgreSQL CPU to write %d delivery rows", n, ms(size.RecordPG), n)
			}
		}
		res.Sizes = append(res.Sizes, size)
	}
	return res, nil
}

// envValue is key's value in env (KEY=value entries), or "".
func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// measureRecordFloor writes n delivery rows the way the BFF records a
// fan-out's sent pushes (500-row INSERTs into a table shaped and indexed as
// push_deliveries, each statement committed on its own, the payload sent
// once per statement) and returns PostgreSQL's CPU for it. That is the
// least a sender keeping one durable row per push adds to the floor, before
// any of its own work: the ceiling of BFF ÷ floor on this machine.
func measureRecordFloor(ctx context.Context, dbURL string, n int) (time.Duration, error) {
	db, err := store.Open(ctx, dbURL, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := db.WithContext(ctx).Exec(`CREATE TABLE IF NOT EXISTS record_floor (LIKE push_deliveries INCLUDING ALL)`).Error; err != nil {
		return 0, err
	}
	if err := db.WithContext(ctx).Exec(`TRUNCATE record_floor`).Error; err != nil {
		return 0, err
	}
	payload := `{"notification_id":"n_0123456789abcdef0123456789abcdef","category":"correction","project_id":"WF-DEMO-CIVIL",` +
		`"item_codes":["ST-01"],"route":"zsb://projects/WF-DEMO-CIVIL/items/ST-01","unread_count":3,` +
		`"title":"示例住宅 需要补正","body":"施工图审查需要补正：缺图。请在补正期限内上传补正材料。","critical":true}`
	now := time.Now().UTC()
	cpu0 := commCPU("postgres") // the connection's backend exists: the statements above ran on it
	for i := 0; i < n; i += 500 {
		var q strings.Builder
		q.WriteString(`INSERT INTO record_floor (notification_id, installation_id, state, next_at, attempts, lease_until, payload, received_at, created_at, updated_at)
			SELECT ?, v.installation_id, v.state, v.next_at, 1, NULL, ?, CAST(? AS timestamptz), CAST(? AS timestamptz), CAST(? AS timestamptz) FROM (VALUES `)
		args := []any{"n_0123456789abcdef0123456789abcdef", payload, now, now, now}
		for j := i; j < min(i+500, n); j++ {
			if j > i {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, CAST(? AS timestamptz))")
			args = append(args, fmt.Sprintf("inst-record-floor-%06d", j), "sent", now)
		}
		q.WriteString(`) AS v(installation_id, state, next_at) ON CONFLICT DO NOTHING`)
		if err := db.WithContext(ctx).Exec(q.String(), args...).Error; err != nil {
			return 0, err
		}
	}
	spent := commCPU("postgres") - cpu0
	_ = db.WithContext(ctx).Exec(`DROP TABLE record_floor`).Error
	return spent, nil
}

// spanOf is the round of pushes ps, timed from t0.
func spanOf(ps []push, t0 time.Time) tlsRound {
	r := tlsRound{Got: len(ps)}
	for i, p := range ps {
		d := p.Received.Sub(t0)
		if i == 0 || d < r.First {
			r.First = d
		}
		r.All = max(r.All, d)
	}
	return r
}

// spanOfSink is the round of the messages the sink delivered, from t0.
func spanOfSink(msgs []pushsink.Received, t0 time.Time) tlsRound {
	var ps []push
	for _, m := range msgs {
		if m.Delivered() {
			ps = append(ps, push{Received: m.ReceivedAt})
		}
	}
	return spanOf(ps, t0)
}

// procCPU is pid's user+system CPU time so far.
func procCPU(pid int) time.Duration { return procstat.CPU(pid) }

// floorSender is firebase-admin-go used directly: the floor a sender on
// this transport can reach.
type floorSender struct{ client *messaging.Client }

func newFloor(ctx context.Context, accountFile, endpoint string) (*floorSender, error) {
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: "kaigong-bench"},
		option.WithCredentialsFile(accountFile), option.WithEndpoint(endpoint))
	if err != nil {
		return nil, err
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, err
	}
	return &floorSender{client: client}, nil
}

// send pushes n messages shaped as the BFF's, 500 per SendEach call, one
// call after another, as a plain loop over the SDK would.
func (f *floorSender) send(ctx context.Context, runID string, n int) error {
	batch := make([]*messaging.Message, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		br, err := f.client.SendEach(ctx, batch)
		if err != nil {
			return err
		}
		if br.FailureCount > 0 {
			return errors.New("the floor's sends failed: " + br.Responses[0].Error.Error())
		}
		batch = batch[:0]
		return nil
	}
	for i := range n {
		batch = append(batch, fcm.BuildMessage(pushapi.Message{Token: fmt.Sprintf("bench-%s-floor-%05d", runID, i),
			NotificationID: "n-floor", Category: "progress", ProjectID: "WF-DEMO-CIVIL", ItemCodes: []string{"LX-02"},
			Route: "zsb://projects/WF-DEMO-CIVIL/progress", UnreadCount: 1, Title: "示例住宅 已受理", Body: "floor"}))
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// renderFanoutTLS writes the section of the fan-out on FCM's real transport.
func renderFanoutTLS(b *strings.Builder, r *results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if r.FanoutTLS == nil && r.FanoutTLSErr == nil {
		return
	}
	p("## Fan-out on FCM's real transport\n\n")
	p("The project's stand-in serves FCM as FCM is served: TLS with HTTP/2, an OAuth token endpoint behind the service account's `token_uri`. ")
	p("A second BFF, started on the same data after the run above, reaches it with `FCM_CREDENTIALS_FILE` and its production transport (the stand-in's CA trusted through `SSL_CERT_FILE`, in its process only). ")
	p("The floor is firebase-admin-go's own `SendEach` loop (500 messages a call, one call after another) from the harness, over the same transport to the same stand-in. ")
	p("%d rounds per size, the BFF and the floor alternating; the median round by pushes/s, with the spread of all rounds.\n\n", tlsRounds)
	if r.FanoutTLSErr != nil {
		p("Not measured to the end: %s\n\n", truncate(r.FanoutTLSErr.Error(), 200))
	}
	if r.FanoutTLS == nil {
		return
	}
	p("| devices | BFF pushes/s (spread) | floor pushes/s (spread) | BFF ÷ floor | first push: BFF / floor | all pushes: BFF / floor | CPU-ms per 1,000 pushes: BFF + PostgreSQL + Redis + harness / floor's harness | BFF peak RSS |\n")
	p("|---:|---:|---:|---:|---|---|---|---:|\n")
	spread := func(rs []tlsRound) string {
		lo, hi := rs[0].perSecond(), rs[0].perSecond()
		for _, x := range rs {
			lo, hi = min(lo, x.perSecond()), max(hi, x.perSecond())
		}
		return fmt.Sprintf("%.0f–%.0f", lo, hi)
	}
	for _, sz := range r.FanoutTLS.Sizes {
		if len(sz.BFF) == 0 || len(sz.Floor) == 0 {
			continue
		}
		bm, fm := medianRound(sz.BFF), medianRound(sz.Floor)
		ratio := 0.0
		if fm.perSecond() > 0 {
			ratio = bm.perSecond() / fm.perSecond()
		}
		per := func(d time.Duration, got int) float64 {
			if got == 0 {
				return 0
			}
			return float64(d.Milliseconds()) / float64(got) * 1000
		}
		p("| %d | %.0f (%s) | %.0f (%s) | %.2f× | %s / %s | %s / %s | %.0f + %.0f + %.0f + %.0f / %.0f | %.1f MB |\n", sz.Devices,
			bm.perSecond(), spread(sz.BFF), fm.perSecond(), spread(sz.Floor), ratio, ms(bm.First), ms(fm.First), ms(bm.All), ms(fm.All),
			per(bm.CPU, bm.Got), per(bm.PG, bm.Got), per(bm.Redis, bm.Got), per(bm.Harness, bm.Got), per(fm.Harness, fm.Got), sz.PeakRSS)
	}
	p("\n")
	for _, sz := range r.FanoutTLS.Sizes {
		if sz.RecordPG <= 0 || len(sz.Floor) == 0 {
			continue
		}
		fm := medianRound(sz.Floor)
		floor := float64(fm.Harness.Milliseconds()) / float64(max(fm.Got, 1)) * 1000
		record := float64(sz.RecordPG.Milliseconds()) / float64(sz.Devices) * 1000
		p("**The record floor at %d devices.** PostgreSQL spent %.0f CPU-ms per 1,000 rows writing one delivery row per push the way the BFF records a fan-out "+
			"(500-row INSERTs, each committed, into a copy of `push_deliveries`), and nothing else. ", sz.Devices, record)
		if floor > 0 {
			p("With the floor's %.0f CPU-ms per 1,000 pushes on the same two cores, a sender through this SDK that keeps a durable row per push "+
				"can reach at most %.0f ÷ (%.0f + %.0f) = **%.2f×** the floor here, before any work of its own.", floor, floor, floor, record, floor/(floor+record))
		}
		p("\n\n")
	}
}
