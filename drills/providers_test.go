package drills

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
	notifypush "github.com/weifang/kaigong-zsb/notify/push"
)

// vendorDrill is one provider beside FCM as TestProviderTrouble drives it.
type vendorDrill struct {
	provider string // notifypush.Provider*, which is also the stand-in's name
	platform string // what its devices register as
	// quota: the vendor documents a daily quota answer (the stand-in
	// refuses a quota fault for the others).
	quota bool
	// grant is the request (as the sink process counts them) that hands
	// out an access token, which the stand-in can expire; for APNs,
	// whose provider token the client signs itself, the send refused as
	// ExpiredProviderToken. Empty: nothing to expire (Xiaomi signs every
	// request with the app secret; HarmonyOS signs its own short-lived
	// JWT, which the stand-in cannot expire early).
	grant string
}

var vendorDrills = []vendorDrill{
	{notifypush.ProviderHuawei, "android", false, "POST /huawei/oauth2/v3/token 200"},
	{notifypush.ProviderHarmony, "harmony", false, ""},
	{notifypush.ProviderHonor, "android", false, "POST /honor/auth/token 200"},
	{notifypush.ProviderXiaomi, "android", true, ""},
	{notifypush.ProviderOPPO, "android", true, "POST /oppo/server/v1/auth 200"},
	{notifypush.ProviderVivo, "android", true, "POST /vivo/message/auth 200"},
	{notifypush.ProviderAPNs, "ios", false, "POST /apns/3/device/{token} 403"},
}

// vendorOutage is how long each vendor is down in TestProviderTrouble: a
// minute, as the issue says; ZSB_DRILL_VENDOR_OUTAGE (a Go duration)
// shortens or lengthens it.
func vendorOutage(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("ZSB_DRILL_VENDOR_OUTAGE")
	if v == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		t.Fatalf("ZSB_DRILL_VENDOR_OUTAGE=%q: want a duration of at least 1s", v)
	}
	return d.Round(time.Second)
}

// TestProviderTrouble is TestFCMTrouble generalised to every other
// provider, each in its own subtest (…/huawei, …/apns) with its own sink
// process, schema and BFF binary configured through the provider's
// variable group against the sink's stand-in. In turn, on that provider:
//
//   - invalid tokens in a batch: each user has several devices of the
//     provider, one of which the vendor reports invalid in its
//     partial-success shape;
//   - throttling, with the vendor's retry hint, for a few seconds;
//   - the access token expiring mid-run (where the vendor hands one out:
//     fetched again exactly once, counted at the sink process);
//   - the vendor down (its server error) for a minute
//     (ZSB_DRILL_VENDOR_OUTAGE);
//   - a daily quota exhausted for a while (Xiaomi, OPPO, vivo: the others
//     document no quota answer).
//
// Then: every notice reached every valid device exactly once (the stand-ins
// deliver what they accept and the clients retry nothing themselves, so no
// repeat is allowed), only the invalid devices were deactivated, no
// delivery to a valid device ended unsent, every push was sent a bounded
// number of times, during the outage the vendor accepted nothing, and the
// provider is ok at the end.
//
// The quota pause lasts until Beijing midnight, beyond any drill: the drill
// proves the pushes stay pending (the provider paused, with its metric and
// one log line, the vendor not asked again) after the vendor would take
// them again, and that they are kept intact
// and delivered once the provider resumes, by standing in for midnight:
// the BFF is stopped, the pending deliveries' next_at is moved to now and
// the BFF restarted. That the BFF's own clock ends the pause at midnight is
// the unit tests' (notify/push router and outcome tests), not this drill's.
func TestProviderTrouble(t *testing.T) {
	drill(t)
	outage := vendorOutage(t)
	// The providers' subtests mostly wait, so they run side by side
	// whatever -parallel says (t.Run from several goroutines): one after
	// the other they would outlast go test's default timeout.
	var wg sync.WaitGroup
	for _, v := range vendorDrills {
		wg.Go(func() {
			t.Run(v.provider, func(t *testing.T) { runVendorDrill(t, v, outage) })
		})
	}
	wg.Wait()
}

func runVendorDrill(t *testing.T, v vendorDrill, outage time.Duration) {
	const (
		throttleFor = 8 * time.Second
		retryAfter  = 2 * time.Second
		quotaFor    = 10 * time.Second
		// Attempts per delivery: backoff waits of 1, 2, 4, … s span a
		// minute's outage in 6 or 7 attempts, plus the throttle, the
		// token refresh and a quota pause.
		maxAttempts = 12
	)
	s := newStack(t)
	keys := t.TempDir()
	sink := startVendorSink(t, keys)
	s.sink = sink.sinkClient
	for k, val := range providerEnv(v.provider, sink.base, keys) {
		s.extra[k] = val
	}
	s.extra["BFF_DEV_STAND_INS"] = "false" // nothing but the sink process
	// Seven of these run at once beside the other drills: a small pool
	// each keeps them within PostgreSQL's max_connections.
	s.extra["BFF_DB_MAX_CONNS"] = "4"
	b := s.startBFF("bff-" + v.provider)

	// Each user has several devices of the provider: a notice to the user
	// is one batch, with one device the vendor reports invalid.
	ent := b.vendorPhones("ent-demo", v, 3)
	agent := b.vendorPhones("agent-county", v, 2)
	invalid := []phone{ent[len(ent)-1], agent[len(agent)-1]}
	for _, ph := range invalid {
		sink.vendorFault(v.provider, map[string]any{"kind": pushsink.FaultInvalidToken, "token": ph.token})
	}
	valid := slices.Concat(ent[:len(ent)-1], agent[:len(agent)-1])
	recipients := map[string][]phone{civil: {ent[0]}, industrial: {ent[0], agent[0]}}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	batch := 0
	send := func(n int) {
		t.Helper()
		batch++
		tag := fmt.Sprintf("%s%d", v.provider, batch)
		_, cseq := s.projectVersion(civil)
		_, iseq := s.projectVersion(industrial)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sendAll(ctx, t, func() *bff { return b },
			eventPlan(civil, models.ProjectCivil, tag, int(cseq)+1, n, rng),
			eventPlan(industrial, models.ProjectIndustrial, tag, int(iseq)+1, n, rng))
	}
	// A delivery to a valid device must never end unsent. (Those to an
	// invalid device end deactivated, or failed as device_inactive once it
	// is.)
	invalidIDs := []string{invalid[0].instID, invalid[1].instID}
	lostOnValid := func() {
		t.Helper()
		if n := count(t, s.db, "SELECT count(*) FROM push_deliveries WHERE state IN (?, ?) AND installation_id NOT IN ?",
			models.DeliveryFailed, models.DeliveryDeactivated, invalidIDs); n > 0 {
			t.Fatalf("%s: %d deliveries to valid devices ended without being sent: %v\n  %s", v.provider, n, s.deliveryStates(), s.failedDeliveries())
		}
	}
	wait := func(limit time.Duration, what string) vendorReport {
		t.Helper()
		var rep vendorReport
		eventually(t, limit, what, func() (bool, string) {
			lostOnValid()
			if diffs := s.inboxDiffs(t, recipients); len(diffs) > 0 {
				return false, "inbox: " + joinLines(diffs, 3)
			}
			rep = s.vendorReport(sink.vendorMessages(v.provider), valid)
			return rep.complete(), rep.String()
		})
		return rep
	}

	// 1. Invalid tokens in a batch: each notice goes to all of its user's
	// devices in one request, which the vendor answers in part.
	send(2)
	wait(time.Minute, "every push delivered beside the invalid tokens")

	// 2. Throttled for a few seconds, with the vendor's retry hint.
	sink.vendorFault(v.provider, map[string]any{"kind": pushsink.FaultThrottle,
		"for_seconds": int(throttleFor / time.Second), "retry_after_seconds": int(retryAfter / time.Second)})
	send(3)
	wait(2*time.Minute, "every push delivered through the throttling")

	// 3. The access token expires mid-run: the next send is refused as
	// expired, the client fetches a new one once and sends again.
	send(2)
	before := sink.requestCounts()
	sink.expireTokens(v.provider)
	send(2)
	wait(2*time.Minute, "every push delivered across the access token's expiry")
	if v.grant != "" {
		n := sink.requestCounts()[v.grant] - before[v.grant]
		// One refresh, however many sends found the token expired (APNs:
		// at least one send refused, then a new provider token).
		if n < 1 || (v.provider != notifypush.ProviderAPNs && n > 1) {
			t.Errorf("%s: %q %d times after the expiry, want once", v.provider, v.grant, n)
		}
		t.Logf("%s: after the access token's expiry, %q %d time(s)", v.provider, v.grant, n)
	}
	if n := count(t, s.db, "SELECT count(*) FROM push_attempts WHERE outcome = ?", notifypush.OutcomeAuthFailed); n != 0 {
		t.Errorf("%s: %d attempts answered auth_failed: an expired access token must be refreshed, not fail", v.provider, n)
	}

	// 4. The vendor is down: it answers its server error to every request
	// for the whole outage.
	downAt := time.Now()
	sink.vendorFault(v.provider, map[string]any{"kind": pushsink.FaultServer, "for_seconds": int(outage / time.Second)})
	send(2)
	wait(outage+3*time.Minute, "every push delivered after the vendor's outage")
	refused := 0
	for _, m := range sink.vendorMessages(v.provider) {
		if m.ReceivedAt.Before(downAt) || !m.ReceivedAt.Before(downAt.Add(outage-time.Second)) {
			continue
		}
		refused++
		if m.Delivered {
			t.Errorf("%s: the stand-in accepted a push %v into its outage", v.provider, m.ReceivedAt.Sub(downAt))
		}
	}
	if refused == 0 {
		t.Errorf("%s: nothing was tried during the outage; the drill proved nothing about it", v.provider)
	}
	t.Logf("%s: %d requests refused during the %v outage", v.provider, refused, outage)

	// 5. The daily quota is used up (for a short while at the stand-in;
	// the BFF pauses the provider until Beijing midnight).
	if v.quota {
		prior := s.vendorReport(sink.vendorMessages(v.provider), valid)
		sink.vendorFault(v.provider, map[string]any{"kind": pushsink.FaultQuota, "for_seconds": int(quotaFor / time.Second)})
		quotaAt := time.Now()
		send(1)
		eventually(t, time.Minute, "the new pushes held pending by the quota pause", func() (bool, string) {
			lostOnValid()
			if diffs := s.inboxDiffs(t, recipients); len(diffs) > 0 {
				return false, "inbox: " + joinLines(diffs, 3)
			}
			rep := s.vendorReport(sink.vendorMessages(v.provider), valid)
			paused := count(t, s.db, `SELECT count(*) FROM push_deliveries d WHERE d.state = ? AND d.next_at > now() + interval '1 hour'
				AND EXISTS (SELECT 1 FROM push_attempts a WHERE a.notification_id = d.notification_id
				AND a.installation_id = d.installation_id AND a.outcome = ?)`, models.DeliveryPending, notifypush.OutcomePaused)
			return rep.missing > 0 && int(paused) == rep.missing && b.providerState(v.provider) == notifypush.StatePaused,
				fmt.Sprintf("%d missing, %d deliveries paused, provider %s", rep.missing, paused, b.providerState(v.provider))
		})
		// The stand-in takes pushes again, but the vendor's day has not
		// reset: nothing may go out, nothing may fail.
		time.Sleep(time.Until(quotaAt.Add(quotaFor + 5*time.Second)))
		held := s.vendorReport(sink.vendorMessages(v.provider), valid)
		if held.delivered != prior.delivered || held.missing == 0 {
			t.Errorf("%s: pushes went out during the quota pause: %d delivered before, %d now (%d missing)",
				v.provider, prior.delivered, held.delivered, held.missing)
		}
		lostOnValid()
		if st := b.providerState(v.provider); st != notifypush.StatePaused {
			t.Errorf("%s: after the quota answer the provider is %s, not paused", v.provider, st)
		}
		// While paused, the pushes are held without a request: only the
		// sends that brought the quota answer reached the vendor (at most
		// one per notice of the batch: ent-demo's two, agent-county's one).
		asked := map[time.Time]bool{}
		for _, m := range sink.vendorMessages(v.provider) {
			if !m.ReceivedAt.Before(quotaAt) {
				asked[m.ReceivedAt] = true
			}
		}
		if len(asked) > 3 {
			t.Errorf("%s: %d requests to the vendor since its quota answer; a paused provider is not asked", v.provider, len(asked))
		}
		// One log line for the pause, not one per push.
		lines := 0
		for line := range strings.Lines(b.p.out.String()) {
			if strings.Contains(line, `"msg":"push provider state"`) && strings.Contains(line, `"state":"paused"`) {
				lines++
			}
		}
		if lines != 1 {
			t.Errorf("%s: %d log lines for the quota pause, want one", v.provider, lines)
		}
		t.Logf("%s: %d pushes held pending by the quota pause (until Beijing midnight); standing in for midnight", v.provider, held.missing)
		// Midnight, stood in for: the BFF starts afresh and the pending
		// deliveries are due.
		b.kill()
		if err := s.db.Exec("UPDATE push_deliveries SET next_at = now() WHERE state = ?", models.DeliveryPending).Error; err != nil {
			t.Fatal(err)
		}
		b.restart()
	}
	rep := wait(3*time.Minute, "every push delivered")
	s.checkInbox(t, recipients)

	// Only the invalid devices were deactivated.
	var inactive []string
	if err := s.db.Raw("SELECT installation_id FROM devices WHERE active = false ORDER BY installation_id").Scan(&inactive).Error; err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(invalidIDs))
	if !slices.Equal(inactive, want) {
		t.Errorf("%s: deactivated %v, want exactly the invalid devices %v", v.provider, inactive, want)
	}
	if rep.repeats > 0 || rep.unknown > 0 {
		t.Errorf("%s: %s", v.provider, rep)
	}
	// The invalid tokens were answered in a batch with valid ones (the
	// records of one request share its receive time): partial success,
	// parsed per token. APNs takes one device a request.
	if v.provider != notifypush.ProviderAPNs {
		isInvalid := map[string]bool{invalid[0].token: true, invalid[1].token: true}
		mixed := map[time.Time]int{}
		for _, m := range sink.vendorMessages(v.provider) {
			switch {
			case isInvalid[m.Token] && !m.Delivered && m.Code != "":
				mixed[m.ReceivedAt] |= 1
			case !isInvalid[m.Token] && m.Delivered:
				mixed[m.ReceivedAt] |= 2
			}
		}
		n := 0
		for _, bits := range mixed {
			if bits == 3 {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no request carried an invalid token beside valid ones delivered", v.provider)
		}
	}
	// Bounded: per delivery, at most maxAttempts attempts.
	worst, attempts := s.boundedAttempts(t, v.provider+": ", maxAttempts)
	if st := b.providerState(v.provider); st != notifypush.StateOK {
		t.Errorf("%s: provider state %s at the end, want ok", v.provider, st)
	}
	var outcomes []string
	s.db.Raw("SELECT outcome || '=' || count(*) FROM push_attempts GROUP BY outcome ORDER BY outcome").Scan(&outcomes)
	t.Logf("%s: %d pushes to %d valid devices, each delivered once; %d deliveries, %d attempts (%s; most for one: %d); %d requests at the stand-in (%d refused)",
		v.provider, rep.expected, len(valid), len(worst), attempts, strings.Join(outcomes, " "), worst[0].N,
		rep.requests, rep.requests-rep.delivered)
}

// providerEnv is the variable group pointing provider at the stand-in of
// the sink at base, with the development credentials and, for HarmonyOS
// and APNs, the key files the sink wrote to keys.
func providerEnv(provider, base, keys string) map[string]string {
	c := pushsink.DevCredentials()
	at := pushsink.VendorBase(base, provider)
	switch provider {
	case notifypush.ProviderHuawei:
		return map[string]string{"HMS_APP_ID": c.HuaweiAppID, "HMS_CLIENT_SECRET": c.HuaweiClientSecret,
			"HMS_AUTH_URL": at + "/oauth2/v3/token", "HMS_PUSH_URL": at}
	case notifypush.ProviderHarmony:
		return map[string]string{"HARMONY_PROJECT_ID": c.HarmonyProjectID,
			"HARMONY_SERVICE_ACCOUNT_FILE": filepath.Join(keys, "harmony-service-account.json"), "HARMONY_PUSH_URL": at}
	case notifypush.ProviderHonor:
		return map[string]string{"HONOR_APP_ID": c.HonorAppID, "HONOR_CLIENT_ID": c.HonorClientID,
			"HONOR_CLIENT_SECRET": c.HonorClientSecret, "HONOR_AUTH_URL": at + "/auth/token", "HONOR_PUSH_URL": at}
	case notifypush.ProviderXiaomi:
		return map[string]string{"XIAOMI_APP_SECRET": c.XiaomiAppSecret, "XIAOMI_PACKAGE": c.XiaomiPackage,
			"XIAOMI_CHANNEL_ID": "zsb_work", "XIAOMI_PUSH_URL": at}
	case notifypush.ProviderOPPO:
		return map[string]string{"OPPO_APP_KEY": c.OPPOAppKey, "OPPO_MASTER_SECRET": c.OPPOMasterSecret,
			"OPPO_CHANNEL_ID": "zsb_work", "OPPO_PUSH_URL": at}
	case notifypush.ProviderVivo:
		return map[string]string{"VIVO_APP_ID": c.VivoAppID, "VIVO_APP_KEY": c.VivoAppKey,
			"VIVO_APP_SECRET": c.VivoAppSecret, "VIVO_PUSH_URL": at}
	case notifypush.ProviderAPNs:
		return map[string]string{"APNS_KEY_FILE": filepath.Join(keys, "apns.p8"), "APNS_KEY_ID": c.APNsKeyID,
			"APNS_TEAM_ID": c.APNsTeamID, "APNS_TOPIC": c.APNsTopic, "APNS_URL": at}
	}
	panic("no variable group for " + provider)
}

// vendorSink is the sink process with its vendor stand-ins.
type vendorSink struct{ *sinkClient }

// startVendorSink runs bin/fcmsink with -keys dir, so that its HarmonyOS
// and APNs stand-ins accept the keys it writes there.
func startVendorSink(t *testing.T, dir string) vendorSink {
	t.Helper()
	first := make(chan string, 1)
	startProc(t, "fcmsink", bins.sink, []string{"-addr", "127.0.0.1:0", "-keys", dir}, nil, first)
	select {
	case base := <-first:
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Fatalf("fcmsink printed %q, not its base URL", base)
		}
		return vendorSink{&sinkClient{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}}
	case <-time.After(30 * time.Second):
		t.Fatal("fcmsink did not print its base URL")
		return vendorSink{}
	}
}

func (c vendorSink) control(method, path string, body any, status int) []byte {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("sink %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		c.t.Fatalf("sink %s %s: %s %s", method, path, res.Status, out)
	}
	return out
}

// vendorFault puts a vendor fault in force (whole seconds, as the control
// API takes them).
func (c vendorSink) vendorFault(vendor string, f map[string]any) {
	c.t.Helper()
	c.control("POST", "/_sink/vendors/"+vendor+"/faults", f, http.StatusCreated)
}

// expireTokens expires every access token the vendor's stand-in issued.
func (c vendorSink) expireTokens(vendor string) {
	c.t.Helper()
	c.control("POST", "/_sink/vendors/"+vendor+"/expire-tokens", nil, http.StatusNoContent)
}

// requestCounts reads how many requests the sink process answered, by
// "METHOD route status".
func (c vendorSink) requestCounts() map[string]int {
	c.t.Helper()
	var out struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal(c.control("GET", "/_fcmsink/requests", nil, http.StatusOK), &out); err != nil {
		c.t.Fatalf("sink request counts: %v", err)
	}
	return out.Counts
}

// vendorMessages lists what the vendor's stand-in received, per token.
func (c vendorSink) vendorMessages(vendor string) []pushsink.VendorReceived {
	c.t.Helper()
	var out struct {
		Items []pushsink.VendorReceived `json:"items"`
	}
	if err := json.Unmarshal(c.control("GET", "/_sink/vendors/"+vendor+"/messages", nil, http.StatusOK), &out); err != nil {
		c.t.Fatalf("sink listing: %v", err)
	}
	return out.Items
}

// vendorPhones logs user in, switches quiet hours off and registers n
// devices of v's provider, each with a fresh token.
func (b *bff) vendorPhones(user string, v vendorDrill, n int) []phone {
	b.t.Helper()
	p := b.login(user)
	var prefs map[string]any
	b.must("GET", "/v1/me/push-preferences", p.AccessToken, nil, 200).decode(b.t, &prefs)
	prefs["quiet_hours"] = map[string]any{"enabled": false, "start": "22:00", "end": "07:30"}
	b.must("PUT", "/v1/me/push-preferences", p.AccessToken, prefs, 200)
	out := make([]phone, n)
	for i := range out {
		ph := phone{user: user, userID: p.User.ID, access: p.AccessToken,
			token: randomHex(32), instID: fmt.Sprintf("inst-%s-%s-%d-%s", user, v.provider, i, randomHex(4))}
		b.must("PUT", "/v1/me/devices/"+ph.instID, ph.access,
			map[string]string{"platform": v.platform, "provider": v.provider, "push_token": ph.token}, 200)
		ph.since = time.Now()
		out[i] = ph
	}
	return out
}

// providerState reads provider's state from the BFF's /metrics.
func (b *bff) providerState(provider string) string {
	b.t.Helper()
	r, err := b.call("GET", "/metrics", "", nil)
	if err != nil || r.status != 200 {
		b.t.Fatalf("GET /metrics: %v %v", err, r)
	}
	for line := range strings.Lines(string(r.body)) {
		if strings.HasPrefix(line, "zsb_push_provider_state{") && strings.Contains(line, `provider="`+provider+`"`) &&
			strings.HasSuffix(strings.TrimSpace(line), "} 1") {
			_, st, _ := strings.Cut(line, `state="`)
			st, _, _ = strings.Cut(st, `"`)
			return st
		}
	}
	return "absent"
}

// vendorReport compares the inboxes with what a vendor's stand-in
// accepted: every inbox entry of a device's user born after the device was
// registered must have been accepted for that device exactly once.
type vendorReport struct {
	expected, missing, repeats, unknown int
	requests, delivered                 int
	examples                            []string
}

func (r vendorReport) complete() bool { return r.missing == 0 }

func (r vendorReport) String() string {
	return fmt.Sprintf("expected %d pushes: %d missing, %d repeats, %d accepted that are not in the inbox; %s",
		r.expected, r.missing, r.repeats, r.unknown, joinLines(r.examples, 5))
}

// vendorReport matches the records to notices by the notification id in
// the vendor's message (each vendor carries it in its own field).
func (s *stack) vendorReport(msgs []pushsink.VendorReceived, phones []phone) vendorReport {
	s.t.Helper()
	rep := vendorReport{requests: len(msgs)}
	got := map[string][]string{} // token → accepted messages
	for _, m := range msgs {
		if m.Delivered {
			rep.delivered++
			got[m.Token] = append(got[m.Token], string(m.Message))
		}
	}
	inboxes := map[int64][]string{}
	for _, ph := range phones {
		if _, ok := inboxes[ph.userID]; !ok {
			inboxes[ph.userID] = s.inboxIDs(ph.userID)
		}
		all := inboxes[ph.userID]
		mine := got[ph.token]
		for _, id := range s.inboxIDs(ph.userID, ph.since) {
			rep.expected++
			n := 0
			for _, m := range mine {
				if strings.Contains(m, id) {
					n++
				}
			}
			switch {
			case n == 0:
				rep.missing++
				if len(rep.examples) < 5 {
					rep.examples = append(rep.examples, fmt.Sprintf("%s/%s: %s never accepted (%s)", ph.user, ph.instID, id, s.whereIs(id)))
				}
			case n > 1:
				rep.repeats += n - 1
				rep.examples = append(rep.examples, fmt.Sprintf("%s/%s: %s accepted %d times", ph.user, ph.instID, id, n))
			}
		}
		for _, m := range mine {
			if !slices.ContainsFunc(all, func(id string) bool { return strings.Contains(m, id) }) {
				rep.unknown++
				rep.examples = append(rep.examples, fmt.Sprintf("%s/%s: accepted %s, which is not in the inbox", ph.user, ph.instID, tail(m, 200)))
			}
		}
	}
	return rep
}
