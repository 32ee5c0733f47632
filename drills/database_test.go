package drills

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// TestDatabaseDown puts a TCP proxy between the BFF and PostgreSQL and cuts
// it. The webhook answers 503 unavailable with Retry-After and applies
// nothing; /readyz names the database; once the proxy is back the
// upstream's retry of the same event_id is applied exactly once. A burst of
// events through a second cut ends with every event applied once and every
// change pushed.
func TestDatabaseDown(t *testing.T) {
	drill(t)
	s := newStack(t)
	proxy := testenv.StartProxy(t, "127.0.0.1:5432")
	s.dbURL = databaseURL(proxy.Addr, s.schema)
	b := s.startBFF("bff")
	ent := b.phoneFor("ent-demo")
	code := firstItem(t, b, ent.access, civil)
	_, seq := s.projectVersion(civil)
	before := s.state(t, civil)

	proxy.Cut()
	ev := itemEvent("drill-dbdown-1", civil, int(seq)+1, code, models.StatusAccepted)
	body := encodeBody(ev)
	r := b.must("POST", "/v1/upstream/events", "", body, 503, signed(config.DevWebhookSecret, time.Now(), body)...)
	if !strings.Contains(string(r.body), `"code":"unavailable"`) || r.header.Get("Retry-After") == "" {
		t.Errorf("webhook with the database down: %s Retry-After=%q", r, r.header.Get("Retry-After"))
	}
	rr := b.must("GET", "/readyz", "", nil, 503)
	if !strings.Contains(string(rr.body), `"database":"unreachable`) || !strings.Contains(string(rr.body), `"redis":"ok"`) {
		t.Errorf("/readyz with the database down: %s", rr)
	}
	if after := s.state(t, civil); after != before {
		t.Errorf("half-applied while the database was down:\n before %+v\n after  %+v", before, after)
	}

	proxy.Restore()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if res, tries := deliver(ctx, t, func() *bff { return b }, ev); res != "applied" {
		t.Fatalf("retry after the outage: %q after %d tries", res, tries)
	}
	if res, _ := deliver(ctx, t, func() *bff { return b }, ev); res != "duplicate" {
		t.Errorf("second retry: %q, want duplicate", res)
	}
	after := s.state(t, civil)
	if after.version != before.version+1 || after.events != before.events+1 || after.outbox != before.outbox+1 || after.lastSeq != seq+1 {
		t.Errorf("the retried event was not applied exactly once:\n before %+v\n after  %+v", before, after)
	}
	b.must("GET", "/readyz", "", nil, 200)

	// A burst through a second cut: the upstream retries each event until
	// it is acknowledged.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	plan := eventPlan(civil, models.ProjectCivil, "dbburst", int(seq)+2, 60, rng)
	done := make(chan map[string]string, 1)
	go func() { done <- sendAll(ctx, t, func() *bff { return b }, plan) }()
	eventually(t, time.Minute, "part of the burst to land", func() (bool, string) {
		n := count(t, s.db, "SELECT count(*) FROM events WHERE event_id LIKE 'drill-dbburst-%'")
		return n >= 15, itoa(n)
	})
	proxy.Cut()
	time.Sleep(2 * time.Second)
	proxy.Restore()
	results := <-done
	for id, res := range results {
		if res != "applied" && res != "duplicate" {
			t.Errorf("event %s: %q", id, res)
		}
	}
	final := s.state(t, civil)
	// An event that repeats its item's status is applied but changes
	// nothing: the version and the outbox move with the others only.
	changes := int64(changesIn(after.items, plan))
	t.Logf("the burst: 60 events, %d of them changes", changes)
	if final.version != after.version+changes || final.applied != after.applied+60 || final.outbox != after.outbox+changes || final.lastSeq != seq+61 {
		t.Errorf("burst through the cut not applied exactly once:\n before %+v\n after  %+v", after, final)
	}
	rep := s.waitDelivered(t, 3*time.Minute, map[string][]phone{civil: {ent}})
	t.Logf("after the cuts: %s", rep)
}

// changesIn is how many events of plan, applied in order to the item states
// items ("code=status,…" as in dbState), change an item's status.
func changesIn(items string, plan []event) int {
	status := map[string]string{}
	for _, kv := range strings.Split(items, ",") {
		if code, st, ok := strings.Cut(kv, "="); ok {
			status[code] = st
		}
	}
	n := 0
	for _, ev := range plan {
		code, st := ev["item_code"].(string), ev["status"].(string)
		if status[code] != st {
			n++
		}
		status[code] = st
	}
	return n
}
