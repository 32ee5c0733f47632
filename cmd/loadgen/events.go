package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
)

// shanghai is the zone the upstream system stamps events in.
var shanghai = time.FixedZone("CST", 8*3600)

// eventSource makes signed events for one project: increasing sequence
// numbers; item.status_changed events on the catalog's items for the
// project type in turn, statuses alternating between accepted and approved
// (ordinary notices: pushed at once, no agent tasks); and, for the projects
// the harness creates, the project.upserted that announces the project.
// One project's events must reach the BFF in sequence, so a source is used
// by one sender at a time.
type eventSource struct {
	runID    string
	idPrefix string // event ids are idPrefix-NNNNNN
	project  string
	secret   string
	items    []string
	userID   int64

	mu  sync.Mutex
	seq int64
	n   int
}

// deadlineWarnDays is the BFF's BFF_DEADLINE_WARN_DAYS, left at its default
// by the harness: its deadline scan (every minute) warns the enterprise of
// every accepted item with this many working days left or fewer, and of
// every overdue one, once per project, item and due date.
const deadlineWarnDays = 3

// newEventSource makes events for an existing (demo) project; its sequence
// numbers start above anything the demo seed could have used. clocked are
// the project's items whose clock has already started (an accepted_on in
// its progress): accepting them again would restart a clock from the seed's
// dates, overdue or nearly so.
func newEventSource(runID, project, projectType, secret string, userID int64, clocked map[string]bool) *eventSource {
	return newSource(runID, "bench-"+runID, project, projectType, secret, userID, 1000, clocked)
}

// newSource makes events for project with ids idPrefix-NNNNNN, the first
// with sequence seq+1, on the type's items in catalog order, leaving out
// those in skip and those whose time limit is deadlineWarnDays or less.
// Every item the harness accepts then has its clock start with more than
// deadlineWarnDays left, so the BFF's deadline scan finds nothing to warn
// of: its warnings would go to every device registered at the time, the
// fan-out's 2,000 included, and be counted as that phase's work.
func newSource(runID, idPrefix, project, projectType, secret string, userID, seq int64, skip map[string]bool) *eventSource {
	cat := models.DefaultCatalog()
	var items []string
	for i := range cat.Items {
		it := &cat.Items[i]
		if it.Applies(projectType) && it.TimeLimitWorkingDays > deadlineWarnDays && !skip[it.Code] {
			items = append(items, it.Code)
		}
	}
	return &eventSource{runID: runID, idPrefix: idPrefix, project: project, secret: secret, items: items, userID: userID, seq: seq}
}

// projectFacts is the project block of a project.upserted event.
type projectFacts struct {
	Name               string `json:"name"`
	Type               string `json:"type"`
	CreditCode         string `json:"enterprise_credit_code"`
	RegionCode         string `json:"region_code"`
	KeyProject         bool   `json:"key_project"`
	RegionalAssessment bool   `json:"regional_assessment"`
	StandardLand       bool   `json:"standard_land"`
}

// event is one sent event and what became of it.
type event struct {
	ID        string
	Project   string
	Item      string
	Status    string
	Sequence  int64
	Scheduled time.Time // when an open-loop run meant to send it (zero otherwise)
	Sent      time.Time // request written
	Accepted  time.Time // 202 read
	Result    string    // applied, duplicate, stale; or the error
	NotifID   string    // the notification id its push should carry
}

// next makes the next item.status_changed event's body.
func (s *eventSource) next() (event, []byte) {
	s.mu.Lock()
	s.seq++
	i := s.n
	s.n++
	seq := s.seq
	s.mu.Unlock()
	statuses := [2]string{models.StatusAccepted, models.StatusApproved}
	ev := event{
		ID:       fmt.Sprintf("%s-%06d", s.idPrefix, i),
		Project:  s.project,
		Item:     s.items[i%len(s.items)],
		Status:   statuses[(i/len(s.items))%2],
		Sequence: seq,
	}
	ev.NotifID = notificationID(ev.ID, s.userID)
	body, _ := json.Marshal(map[string]any{
		"event_id": ev.ID, "type": "item.status_changed", "occurred_at": time.Now().In(shanghai).Format(time.RFC3339),
		"project_id": s.project, "sequence": ev.Sequence, "item_code": ev.Item, "status": ev.Status,
	})
	return ev, body
}

// notificationID is how the BFF names the inbox row (and the push) an
// event makes for a user, as it documents: stable per change and
// recipient so re-deliveries land on the same id. The harness checks this
// against a real push before relying on it (see calibrate) and falls back
// to matching by item when it no longer holds.
func notificationID(eventID string, userID int64) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + strconv.FormatInt(userID, 10)))
	return "n_" + hex.EncodeToString(sum[:16])
}

// send posts the next item.status_changed event and waits for the answer.
func (s *eventSource) send(c *loadClient, bffBase string, req *fiber.Request, resp *fiber.Response) event {
	ev, body := s.next()
	return s.post(c, bffBase, req, resp, ev, body)
}

// upsert announces the project with project.upserted (the next sequence
// number), creating it when the BFF does not know it yet.
func (s *eventSource) upsert(c *loadClient, bffBase string, facts projectFacts) event {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	ev := event{ID: fmt.Sprintf("%s-upsert-%d", s.idPrefix, seq), Project: s.project, Sequence: seq}
	body, _ := json.Marshal(map[string]any{
		"event_id": ev.ID, "type": "project.upserted", "occurred_at": time.Now().In(shanghai).Format(time.RFC3339),
		"project_id": s.project, "sequence": seq, "project": facts,
	})
	return s.post(c, bffBase, new(fiber.Request), new(fiber.Response), ev, body)
}

// post signs and posts one event body and reads the answer into ev.
func (s *eventSource) post(c *loadClient, bffBase string, req *fiber.Request, resp *fiber.Response, ev event, body []byte) event {
	ts, sig := intake.SignEvent(s.secret, time.Now(), body)
	req.Reset()
	req.SetRequestURI(bffBase + "/v1/upstream/events")
	req.Header.SetMethod(fiber.MethodPost)
	req.Header.SetContentType(fiber.MIMEApplicationJSON)
	req.Header.Set("X-Upstream-Timestamp", ts)
	req.Header.Set("X-Upstream-Signature", sig)
	req.SetBody(body)
	resp.Reset()
	ev.Sent = time.Now()
	err := c.do(req, resp)
	ev.Accepted = time.Now()
	switch {
	case err != nil:
		ev.Result = "error: " + err.Error()
	case resp.StatusCode() != fiber.StatusAccepted:
		ev.Result = fmt.Sprintf("status %d: %.200s", resp.StatusCode(), resp.Body())
	default:
		var out struct {
			Result string `json:"result"`
		}
		if json.Unmarshal(resp.Body(), &out) != nil {
			ev.Result = "unreadable 202"
		} else {
			ev.Result = out.Result
		}
	}
	return ev
}

// push is one delivered message as the sink recorded it.
type push struct {
	NotifID  string
	Project  string
	Items    string
	Token    string
	Received time.Time
}

// sinkReader decodes what the in-process sink received, each message once,
// so polling it while pushes stream in stays cheap next to the BFF.
type sinkReader struct {
	sink   *pushsink.Sink
	seen   int
	pushes []push
}

// reset forgets every message, in the sink too.
func (s *sinkReader) reset() {
	s.sink.Reset()
	s.seen, s.pushes = 0, nil
}

// delivered returns the accepted messages since the last reset, decoded.
// Only what arrived since the last call is copied from the sink and
// decoded.
func (s *sinkReader) delivered() []push {
	msgs, total := s.sink.MessagesSince(s.seen)
	if total < s.seen {
		// The sink was reset behind our back: read it from the start.
		s.pushes = nil
		msgs, total = s.sink.MessagesSince(0)
	}
	for _, m := range msgs {
		if !m.Delivered() {
			continue
		}
		var body struct {
			Data map[string]string `json:"data"`
		}
		_ = json.Unmarshal(m.Message, &body)
		s.pushes = append(s.pushes, push{NotifID: body.Data["notification_id"], Project: body.Data["project_id"], Items: body.Data["item_codes"], Token: m.Token, Received: m.ReceivedAt})
	}
	s.seen = total
	return s.pushes
}

// joiner matches pushes to the events they announce: by notification id
// when the BFF's ids are the documented derivation (checked by calibrate),
// otherwise each project's item's pushes to that project's item's applied
// events in order.
type joiner struct {
	byNotifID bool
}

// match returns, for each applied event, the pushes received for it (one per
// device), keyed by event id.
func (j joiner) match(events []event, pushes []push) map[string][]push {
	m := j.matcher(events)
	m.add(pushes)
	return m.out
}

// matcher joins pushes to events as they arrive: a poller hands it only the
// pushes it has not seen, so waiting for thousands costs each push once.
type matcher struct {
	byNotifID bool
	idx       map[string]string   // by notification id: notification id -> event id
	queue     map[string][]string // by item: project and item -> applied event ids, in order
	seen      map[string]string   // by item: notification id -> event id
	next      map[string]int      // by item: the next event of queue to take
	out       map[string][]push   // event id -> its pushes
	got       int                 // pushes matched
}

func (j joiner) matcher(events []event) *matcher {
	m := &matcher{byNotifID: j.byNotifID, out: map[string][]push{}}
	if j.byNotifID {
		m.idx = map[string]string{}
		for _, e := range events {
			if e.Result == intake.ResultApplied {
				m.idx[e.NotifID] = e.ID
			}
		}
		return m
	}
	// By project and item, in order: the k-th distinct notification for a
	// project's item belongs to the k-th applied event for it.
	m.queue, m.seen, m.next = map[string][]string{}, map[string]string{}, map[string]int{}
	for _, e := range events {
		if e.Result == intake.ResultApplied {
			k := e.Project + "\x00" + e.Item
			m.queue[k] = append(m.queue[k], e.ID)
		}
	}
	return m
}

// add matches pushes, which follow those added before.
func (m *matcher) add(pushes []push) {
	for _, p := range pushes {
		var id string
		if m.byNotifID {
			var ok bool
			if id, ok = m.idx[p.NotifID]; !ok {
				continue
			}
		} else {
			var ok bool
			if id, ok = m.seen[p.NotifID]; !ok {
				item := p.Project + "\x00" + strings.Split(p.Items, ",")[0]
				q := m.queue[item]
				if m.next[item] >= len(q) {
					continue
				}
				id = q[m.next[item]]
				m.next[item]++
				m.seen[p.NotifID] = id
			}
		}
		m.out[id] = append(m.out[id], p)
		m.got++
	}
}

// calibrate sends one event and checks that its push carries the
// notification id the harness derives; it answers how to join.
func calibrate(ctx context.Context, src *eventSource, c *loadClient, bffBase string, sink *sinkReader, token string) (joiner, string, error) {
	sink.reset()
	req, resp := new(fiber.Request), new(fiber.Response)
	ev := src.send(c, bffBase, req, resp)
	if ev.Result != intake.ResultApplied {
		return joiner{}, "", fmt.Errorf("calibration event %s: %s", ev.ID, ev.Result)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, p := range sink.delivered() {
			if p.Token != token {
				continue
			}
			if p.NotifID == ev.NotifID {
				return joiner{byNotifID: true}, "by notification id (derived from the event id and the user; checked on a calibration event)", nil
			}
			return joiner{}, "by item code in order (the push's notification id did not match the harness's derivation: " + p.NotifID + ")", nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return joiner{}, "", fmt.Errorf("no push for the calibration event within 15 s; is the notify pipeline delivering? (check push preferences, FCM_ENDPOINT)")
}
