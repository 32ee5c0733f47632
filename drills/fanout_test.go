package drills

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
	notifypush "github.com/weifang/kaigong-zsb/notify/push"
)

// fanOutDevices is how many devices the fan-out drills give one account:
// a dozen planning chunks, thousands of pushes in flight at the kill.
const fanOutDevices = 6000

// TestFanOutCrash: one correction pushed to the 6,000 devices of one
// enterprise account, each push answered by the push service only after
// 100 ms, so the fan-out takes seconds; the BFF is SIGKILLed once a tenth
// of the devices have the push, with the rest being planned and sent, and
// started again. Every device gets the push, under one notification id;
// none gets it more than twice (a second time only if it was in flight at
// the kill); every delivery settles sent and the push job ends done.
func TestFanOutCrash(t *testing.T) {
	drill(t)
	s := newStack(t)
	a := s.startBFF("bff")
	fanOutKilled(t, s, a, a, "crash")
}

// TestFanOutTwoInstances: the same fan-out, with a second instance running
// on the same database and Redis; the instance sending the fan-out (either
// may have read the event from the shared stream) is SIGKILLed mid-way and
// not started again. The survivor finishes it: every device gets the push,
// none more than twice, nothing stays pending.
func TestFanOutTwoInstances(t *testing.T) {
	drill(t)
	s := newStack(t)
	a := s.startBFF("bff-a")
	b := s.startBFF("bff-b") // after a: demo seeding is not meant to race
	fanOutKilled(t, s, a, b, "two")
}

// fanOutKilled sends the fan-out's event to a, kills the instance sending
// it (a, or b when b read the event) mid-way and, when a and b are the same
// instance, starts it again; then checks every device.
func fanOutKilled(t *testing.T, s *stack, a, b *bff, tag string) {
	ent := a.phoneFor("ent-demo")
	tokens := s.manyDevices(ent.userID, "fcm-fan-"+tag, fanOutDevices)
	s.sink.fault(map[string]any{"delay_ms": 100})

	handedA, handedB := a.handoffs(), b.handoffs()
	_, seq := s.projectVersion(civil)
	ev := itemEvent("drill-fanout-"+tag, civil, int(seq)+1, "ST-01", models.StatusCorrectionRequired)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, _ := deliver(ctx, t, func() *bff { return a }, ev); res != "applied" {
		t.Fatalf("fan-out event: %q", res)
	}
	var before int
	eventually(t, time.Minute, "a tenth of the fan-out to arrive", func() (bool, string) {
		before = len(delivered(s.sink.messages()))
		return before >= fanOutDevices/10, fmt.Sprintf("%d devices reached", before)
	})
	victim, survivor := a, b
	if a != b {
		// Either instance's reader may have taken the event from the
		// shared stream: the one that did is sending the fan-out.
		byA, byB := a.handoffs()-handedA, b.handoffs()-handedB
		switch {
		case byB > 0 && byA == 0:
			victim, survivor = b, a
		case byA > 0 && byB == 0:
		default:
			t.Fatalf("cannot tell which instance sends the fan-out: handoffs %v on %s, %v on %s", byA, a.name, byB, b.name)
		}
	}
	victim.kill()
	if before >= fanOutDevices {
		t.Fatalf("the fan-out had reached every device (%d) before the kill; the drill proves nothing", before)
	}
	open := count(t, s.db, "SELECT count(*) FROM push_jobs WHERE user_id = ? AND state = ?", ent.userID, models.PushJobPending)
	t.Logf("SIGKILLed %s with %d of %d devices reached; %d push jobs of the account still being planned",
		victim.name, before, fanOutDevices, open)
	if survivor == victim {
		time.Sleep(500 * time.Millisecond)
		survivor.restart()
	}

	// Leases of the killed instance's deliveries, and its planning lease
	// on the job, run out after two minutes.
	var got map[string]map[string][]push
	eventually(t, 5*time.Minute, "every device to get the push", func() (bool, string) {
		got = delivered(s.sink.messages())
		missing := 0
		for _, tok := range tokens {
			if len(got[tok]) == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d devices without it", missing, len(tokens))
	})
	ids := map[string]bool{}
	twice, more := 0, 0
	for _, tok := range tokens {
		for id, ps := range got[tok] {
			ids[id] = true
			switch {
			case len(ps) == 2:
				twice++
			case len(ps) > 2:
				more++
			}
		}
	}
	t.Logf("every device reached; %d got the push twice (in flight at the kill), %d more often", twice, more)
	if len(ids) != 1 {
		t.Errorf("the devices got %d different notification ids, want the one push", len(ids))
	}
	if more > 0 {
		t.Errorf("%d devices got the push more than twice", more)
	}
	eventually(t, 3*time.Minute, "every delivery to settle", func() (bool, string) {
		st := s.deliveryStates()
		return st["pending"] == 0, fmt.Sprint(st)
	})
	if st := s.deliveryStates(); st["failed"] != 0 || st["deactivated"] != 0 {
		t.Errorf("push deliveries by state: %v", st)
	}
	n := count(t, s.db, "SELECT count(*) FROM push_deliveries d JOIN devices v ON v.installation_id = d.installation_id WHERE v.user_id = ? AND v.push_token LIKE ?",
		ent.userID, "fcm-fan-"+tag+"-%")
	if n != fanOutDevices {
		t.Errorf("%d delivery rows for the %d devices, want one each", n, fanOutDevices)
	}
	if open := count(t, s.db, "SELECT count(*) FROM push_jobs WHERE user_id = ? AND state = ?", ent.userID, models.PushJobPending); open != 0 {
		t.Errorf("%d push jobs still pending", open)
	}
}

// handoffs reads how many pushes the instance's stream readers handed
// to its own senders (zsb_notify_reader_handoffs_total{to="sender"}), from
// its /metrics: the instance that read an event sends its fan-out.
func (b *bff) handoffs() float64 {
	b.t.Helper()
	r, err := b.call("GET", "/metrics", "", nil)
	if err != nil || r.status != 200 {
		b.t.Fatalf("GET /metrics: %v %v", err, r)
	}
	for line := range strings.Lines(string(r.body)) {
		if rest, ok := strings.CutPrefix(line, `zsb_notify_reader_handoffs_total{to="sender"} `); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return n
		}
	}
	return 0
}

// manyDevices registers n FCM devices for user directly in the database
// (the API would take minutes) and returns their tokens.
func (s *stack) manyDevices(userID int64, prefix string, n int) []string {
	s.t.Helper()
	devs := make([]models.Device, n)
	tokens := make([]string, n)
	now := time.Now().UTC()
	for i := range devs {
		tok := fmt.Sprintf("%s-%05d", prefix, i)
		tokens[i] = tok
		devs[i] = models.Device{InstallationID: "inst-" + tok, UserID: userID, Platform: "android", Provider: notifypush.ProviderFCM,
			PushToken: tok, PushTokenHash: "h-" + tok, Active: true, LastSeenAt: now}
	}
	if err := s.db.CreateInBatches(devs, 500).Error; err != nil {
		s.t.Fatal(err)
	}
	return tokens
}
