package drills

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

// sinkClient drives an FCM sink over its HTTP control API, whether it runs
// in the test process or as bin/pushsink.
type sinkClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

// startInProcessSink runs a sink inside the test process.
func startInProcessSink(t *testing.T) *sinkClient {
	t.Helper()
	// Room for the fan-out drills' thousands of pushes and their repeats.
	s := pushsink.New(pushsink.Options{MaxMessages: 50000})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &sinkClient{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

// startSinkProcess runs bin/fcmsink, which prints its base URL first.
func startSinkProcess(t *testing.T) *sinkClient {
	t.Helper()
	first := make(chan string, 1)
	startProc(t, "fcmsink", bins.sink, []string{"-addr", "127.0.0.1:0"}, nil, first)
	select {
	case base := <-first:
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("fcmsink printed %q, not its base URL", base)
		}
		return &sinkClient{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
	case <-time.After(30 * time.Second):
		t.Fatal("fcmsink did not print its base URL")
		return nil
	}
}

// messages lists everything the sink received, accepted or not.
func (c *sinkClient) messages() []pushsink.Received {
	c.t.Helper()
	res, err := c.hc.Get(c.base + "/_sink/messages")
	if err != nil {
		c.t.Fatalf("sink: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		Items []pushsink.Received `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		c.t.Fatalf("sink listing: %v", err)
	}
	return out.Items
}

// fault puts a fault in force through the control API.
func (c *sinkClient) fault(f map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(f)
	res, err := c.hc.Post(c.base+"/_sink/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatalf("sink fault: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		c.t.Fatalf("sink fault %s: %s", b, res.Status)
	}
}

// push is one message as received, reduced to what the drills count.
type push struct {
	pushsink.Received
	NotificationID string
	Data           map[string]string
	Title, Body    string
}

func parsePush(r pushsink.Received) push {
	var m struct {
		Data         map[string]string `json:"data"`
		Notification struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"notification"`
	}
	_ = json.Unmarshal(r.Message, &m)
	return push{Received: r, NotificationID: m.Data["notification_id"], Data: m.Data,
		Title: m.Notification.Title, Body: m.Notification.Body}
}

// delivered groups the accepted pushes by token and notification id.
func delivered(msgs []pushsink.Received) map[string]map[string][]push {
	out := map[string]map[string][]push{}
	for _, r := range msgs {
		if !r.Delivered() {
			continue
		}
		p := parsePush(r)
		if out[r.Token] == nil {
			out[r.Token] = map[string][]push{}
		}
		out[r.Token][p.NotificationID] = append(out[r.Token][p.NotificationID], p)
	}
	return out
}

// inboxIDs lists a user's inbox notification ids born after since.
func (s *stack) inboxIDs(userID int64, since ...time.Time) []string {
	s.t.Helper()
	after := time.Time{}
	if len(since) > 0 {
		after = since[0]
	}
	var ids []string
	if err := s.db.Raw("SELECT id FROM notifications WHERE user_id = ? AND created_at >= ? ORDER BY id", userID, after.UTC()).Scan(&ids).Error; err != nil {
		s.t.Fatal(err)
	}
	return ids
}

// pushReport compares the inbox with the sink: every inbox entry of each
// phone's user born after the phone was set up must have reached that phone
// at least once (the users' preferences allow every category the drills
// cause), and nothing may arrive that is not in the inbox.
type pushReport struct {
	expected, missing, repeats, unknown, mismatched int
	examples                                        []string
}

func (r pushReport) complete() bool { return r.missing == 0 && r.unknown == 0 && r.mismatched == 0 }

func (r pushReport) String() string {
	return fmt.Sprintf("expected %d pushes: %d missing, %d repeats (same notification_id), %d not in the inbox, %d repeats with a different payload; %s",
		r.expected, r.missing, r.repeats, r.unknown, r.mismatched, joinLines(r.examples, 5))
}

func (s *stack) pushReport(phones ...phone) pushReport {
	s.t.Helper()
	got := delivered(s.sink.messages())
	var rep pushReport
	for _, ph := range phones {
		inbox := s.inboxIDs(ph.userID, ph.since)
		all := s.inboxIDs(ph.userID)
		rep.expected += len(inbox)
		mine := got[ph.token]
		for _, id := range inbox {
			ps := mine[id]
			if len(ps) == 0 {
				rep.missing++
				if len(rep.examples) < 5 {
					rep.examples = append(rep.examples, fmt.Sprintf("%s: %s never pushed (%s)", ph.user, id, s.whereIs(id)))
				}
				continue
			}
			rep.repeats += len(ps) - 1
			for _, p := range ps[1:] {
				if p.Title != ps[0].Title || p.Body != ps[0].Body || !sameMap(p.Data, ps[0].Data) {
					rep.mismatched++
					rep.examples = append(rep.examples, fmt.Sprintf("%s: %s repeated with another payload: %v vs %v", ph.user, id, p.Data, ps[0].Data))
				}
			}
		}
		for id := range mine {
			if !slices.Contains(all, id) {
				rep.unknown++
				rep.examples = append(rep.examples, fmt.Sprintf("%s: pushed %q, which is not in the inbox", ph.user, id))
			}
		}
	}
	return rep
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkInbox verifies that the inbox holds exactly one entry per recipient
// and applied item change: per user, project and item, as many entries as
// applied events that changed the item (stale and duplicate deliveries and
// repeated statuses add nothing).
func (s *stack) checkInbox(t *testing.T, recipients map[string][]phone) {
	t.Helper()
	if diffs := s.inboxDiffs(t, recipients); len(diffs) > 0 {
		t.Errorf("inbox is not exactly one entry per recipient and change:\n  %s", joinLines(diffs, 20))
	}
}

func (s *stack) inboxDiffs(t *testing.T, recipients map[string][]phone) []string {
	t.Helper()
	type key struct {
		user    int64
		project string
		item    string
	}
	want := map[key]int{}
	for project, phones := range recipients {
		var rows []struct {
			ItemCode string
			N        int
		}
		// An applied event that repeats its item's status changes nothing
		// and writes no change entry (contract, "Additions").
		if err := s.db.Raw(`SELECT e.item_code, count(*) AS n FROM events e
			JOIN outbox_entries o ON o.event_id = e.event_id AND o.kind = 'change'
			WHERE e.project_id = ? AND e.type = 'item.status_changed' AND e.result = 'applied'
			GROUP BY e.item_code`, project).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		for _, ph := range phones {
			for _, r := range rows {
				want[key{ph.userID, project, r.ItemCode}] = r.N
			}
		}
	}
	got := map[key]int{}
	for project, phones := range recipients {
		for _, ph := range phones {
			var rows []struct {
				ItemCodes string
				N         int
			}
			if err := s.db.Raw(`SELECT item_codes, count(*) AS n FROM notifications WHERE user_id = ? AND project_id = ?
				AND category IN ('progress', 'next_steps', 'correction') GROUP BY item_codes`, ph.userID, project).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got[key{ph.userID, project, r.ItemCodes}] = r.N
			}
		}
	}
	var diffs []string
	for k, n := range want {
		if got[k] != n {
			diffs = append(diffs, fmt.Sprintf("user %d %s %s: %d inbox entries for %d applied changes", k.user, k.project, k.item, got[k], n))
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("user %d %s %s: %d inbox entries for no applied change", k.user, k.project, k.item, n))
		}
	}
	sort.Strings(diffs)
	return diffs
}

// waitDelivered waits until the inbox holds one entry per recipient and
// applied change (recipients: project → the phones of its users) and every
// inbox entry reached its phone; then it checks the inbox once more.
func (s *stack) waitDelivered(t *testing.T, limit time.Duration, recipients map[string][]phone) pushReport {
	t.Helper()
	seen := map[string]phone{}
	var phones []phone
	for _, list := range recipients {
		for _, ph := range list {
			if _, ok := seen[ph.token]; !ok {
				seen[ph.token] = ph
				phones = append(phones, ph)
			}
		}
	}
	var rep pushReport
	eventually(t, limit, "every change in the inbox and every inbox entry at its phone", func() (bool, string) {
		if diffs := s.inboxDiffs(t, recipients); len(diffs) > 0 {
			return false, "inbox: " + joinLines(diffs, 5)
		}
		rep = s.pushReport(phones...)
		return rep.complete(), rep.String()
	})
	s.checkInbox(t, recipients)
	return rep
}

// deliveryStates counts push_deliveries by state.
func (s *stack) deliveryStates() map[string]int64 {
	s.t.Helper()
	var rows []struct {
		State string
		N     int64
	}
	if err := s.db.Raw("SELECT state, count(*) AS n FROM push_deliveries GROUP BY state").Scan(&rows).Error; err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out
}

// whereIs tells where a notification stands in the database: its inbox row,
// push job, deliveries and attempts, for the failure report.
func (s *stack) whereIs(id string) string {
	var out []string
	var n []map[string]any
	s.db.Raw("SELECT category, project_id, item_codes, critical, created_at FROM notifications WHERE id = ?", id).Scan(&n)
	out = append(out, fmt.Sprintf("inbox %v", n))
	var j []map[string]any
	s.db.Raw("SELECT user_id, state, due_at, critical, created_at, updated_at FROM push_jobs WHERE notification_id = ?", id).Scan(&j)
	out = append(out, fmt.Sprintf("job %v", j))
	var d []map[string]any
	s.db.Raw("SELECT installation_id, state, attempts, next_at, lease_until, updated_at FROM push_deliveries WHERE notification_id = ?", id).Scan(&d)
	out = append(out, fmt.Sprintf("deliveries %v", d))
	var a []map[string]any
	s.db.Raw("SELECT attempt, outcome, error_code, created_at FROM push_attempts WHERE notification_id = ? ORDER BY id", id).Scan(&a)
	out = append(out, fmt.Sprintf("attempts %v", a))
	var dev []map[string]any
	s.db.Raw("SELECT installation_id, active, provider, updated_at FROM devices WHERE user_id = (SELECT user_id FROM notifications WHERE id = ?)", id).Scan(&dev)
	out = append(out, fmt.Sprintf("the user's devices %v", dev))
	var ob []map[string]any
	s.db.Raw("SELECT id, event_id, kind, created_at, relayed_at, processed_at, attempts FROM outbox_entries WHERE kind = 'deadline' ORDER BY id").Scan(&ob)
	out = append(out, fmt.Sprintf("deadline outbox %v", ob))
	return strings.Join(out, "; ")
}

// deliveryAttempts is how many push_attempts rows one delivery has.
type deliveryAttempts struct {
	NotificationID, InstallationID string
	N                              int
}

// boundedAttempts counts the push_attempts rows of every delivery, the
// most first, and their total, and reports (prefixed by label) each
// delivery with more than most.
func (s *stack) boundedAttempts(t *testing.T, label string, most int) ([]deliveryAttempts, int) {
	t.Helper()
	var per []deliveryAttempts
	if err := s.db.Raw(`SELECT notification_id, installation_id, count(*) AS n FROM push_attempts
		GROUP BY notification_id, installation_id ORDER BY n DESC`).Scan(&per).Error; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range per {
		total += d.N
		if d.N > most {
			t.Errorf("%s%s to %s: %d attempts, more than %d", label, d.NotificationID, d.InstallationID, d.N, most)
		}
	}
	return per, total
}
