package drills

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
)

// TestFCMTrouble: FCM answers 503 for 90 s, then 429 with Retry-After for
// ten more seconds. (With the first retry budget of 5 attempts, a 90 s
// outage lost pushes; this drill keeps that from coming back.) Everything is delivered afterwards; every push is sent a
// bounded number of times and backs off (counted at the sink and in
// push_attempts); Retry-After is honoured; and no device is deactivated for
// a transient error.
func TestFCMTrouble(t *testing.T) {
	d := startFCMDrill(t)
	s := d.stack

	const (
		outage     = 90 * time.Second
		limited    = 10 * time.Second
		retryAfter = 5 * time.Second
		// Backing off, a push spends far fewer attempts on this outage
		// than the budget allows (push.DefaultMaxAttempts): waits of
		// at least 1, 2, 4, 8, 16, 32 and 64 s already span 127 s.
		maxSends = 9
	)
	start := time.Now()
	s.sink.fault(map[string]any{"code": pushsink.CodeUnavailable, "for_seconds": int(outage / time.Second)})
	s.sink.fault(map[string]any{"code": pushsink.CodeQuotaExceeded, "for_seconds": int((outage + limited) / time.Second),
		"retry_after_seconds": int(retryAfter / time.Second)})

	d.sendEvents(t, "fcm", 6, 3)
	d.waitDelivered(t, 5*time.Minute, "every push delivered after the FCM trouble", nil)

	if n := count(t, s.db, "SELECT count(*) FROM devices WHERE active = false"); n != 0 {
		t.Errorf("%d devices deactivated by transient errors", n)
	}
	// Bounded and backing off: per delivery, at most maxSends attempts.
	worst, attempts := s.boundedAttempts(t, "", maxSends)
	// At the sink: group the requests per (token, notification).
	type key struct{ token, id string }
	reqs := map[key][]push{}
	total := 0
	for _, m := range s.sink.messages() {
		p := parsePush(m)
		if m.ReceivedAt.Before(start) {
			continue
		}
		reqs[key{m.Token, p.NotificationID}] = append(reqs[key{m.Token, p.NotificationID}], p)
		total++
	}
	maxReqs := 0
	for k, ps := range reqs {
		sort.Slice(ps, func(i, j int) bool { return ps[i].ReceivedAt.Before(ps[j].ReceivedAt) })
		maxReqs = max(maxReqs, len(ps))
		// firebase-admin-go retries a 503 four times itself, so one attempt
		// is at most five requests.
		if len(ps) > 5*maxSends {
			t.Errorf("%s: %d requests to FCM", k.id, len(ps))
		}
		for i, p := range ps[:len(ps)-1] {
			if p.Status == 429 {
				if gap := ps[i+1].ReceivedAt.Sub(p.ReceivedAt); gap < retryAfter-100*time.Millisecond {
					t.Errorf("%s: sent again %v after a 429 with Retry-After %v", k.id, gap, retryAfter)
				}
			}
		}
	}
	t.Logf("%d deliveries: %d attempts in push_attempts (most for one: %d), %d requests at the sink (most for one: %d)",
		len(worst), attempts, worst[0].N, total, maxReqs)
}

// fcmDrill is a drill of FCM in trouble: the stack, the sink process as
// FCM, one BFF, and two signed-in phones, the enterprise's (both demo
// projects) and the county agent's (the industrial one).
type fcmDrill struct {
	*stack
	b          *bff
	ent, agent phone
}

// startFCMDrill starts an FCM drill.
func startFCMDrill(t *testing.T) *fcmDrill {
	drill(t)
	s := newStack(t)
	s.sink = startSinkProcess(t)
	b := s.startBFF("bff")
	return &fcmDrill{stack: s, b: b, ent: b.phoneFor("ent-demo"), agent: b.phoneFor("agent-county")}
}

// sendEvents sends n events tagged tag to each demo project, numbered on
// from each project's last sequence, in an order drawn from seed.
func (d *fcmDrill) sendEvents(t *testing.T, tag string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed))
	_, cseq := d.projectVersion(civil)
	_, iseq := d.projectVersion(industrial)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sendAll(ctx, t, func() *bff { return d.b },
		eventPlan(civil, models.ProjectCivil, tag, int(cseq)+1, n, rng),
		eventPlan(industrial, models.ProjectIndustrial, tag, int(iseq)+1, n, rng))
}

// waitDelivered waits, up to limit, until every notice is in its
// recipients' inboxes and pushed to their phones, and done (when not nil)
// holds; a delivery ending failed or deactivated meanwhile fails the drill,
// as FCM's trouble is transient. Then it checks the inboxes.
func (d *fcmDrill) waitDelivered(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	recipients := map[string][]phone{civil: {d.ent}, industrial: {d.ent, d.agent}}
	eventually(t, limit, what, func() (bool, string) {
		if st := d.deliveryStates(); st["failed"] > 0 || st["deactivated"] > 0 {
			t.Fatalf("transient FCM trouble ended deliveries for good: %v\n  %s", st, d.failedDeliveries())
		}
		if diffs := d.inboxDiffs(t, recipients); len(diffs) > 0 {
			return false, joinLines(diffs, 3)
		}
		rep := d.pushReport(d.ent, d.agent)
		return rep.complete() && (done == nil || done()), rep.String()
	})
	d.checkInbox(t, recipients)
}

// failedDeliveries describes deliveries that ended without being sent.
func (s *stack) failedDeliveries() string {
	var rows []struct {
		NotificationID, InstallationID, State string
		Attempts                              int
	}
	s.db.Raw("SELECT notification_id, installation_id, state, attempts FROM push_deliveries WHERE state IN ('failed', 'deactivated')").Scan(&rows)
	var out []string
	for _, r := range rows {
		var at []string
		s.db.Raw("SELECT outcome || ' ' || coalesce(error_code, '') || ' at ' || to_char(created_at, 'HH24:MI:SS.MS') FROM push_attempts WHERE notification_id = ? AND installation_id = ? ORDER BY id",
			r.NotificationID, r.InstallationID).Scan(&at)
		out = append(out, fmt.Sprintf("%s → %s: %s after %d attempts [%s]", r.NotificationID, r.InstallationID, r.State, r.Attempts, strings.Join(at, "; ")))
	}
	return joinLines(out, 10)
}
