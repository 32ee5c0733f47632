package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/intake"
	notifypush "github.com/weifang/kaigong-zsb/notify/push"
)

// The providers phase: one event fanned out to devices spread evenly over
// all eight providers, through the stand-ins of the in-process sink (FCM at
// its root, each vendor under /{vendor}), which the BFF is configured
// against through each provider's variable group.

// providerStats is one provider's share of the providers phase.
type providerStats struct {
	Provider string
	Devices  int
	Got      int           // pushes the stand-in accepted for the event
	Rejected int           // per-token answers that were not a delivery
	Requests int           // send requests that carried the event's pushes
	First    time.Duration // 202 → its first push
	Last     time.Duration // 202 → its last push (zero unless all arrived)
}

// providersResults are the providers phase's figures.
type providersResults struct {
	Devices      int
	RegisterTime time.Duration
	Removed      int // the fan-out phase's FCM devices unregistered first
	Got          int
	First        time.Duration // 202 → the first push of any provider
	All          time.Duration // 202 → the last push (zero unless all arrived)
	Window       time.Duration // 202 → the last push received, arrived or not
	PushesPerSec float64       // Got ÷ Window
	TimedOut     bool
	ByProvider   []providerStats
}

// providerSink configures the in-process sink's vendor stand-ins: the
// development credentials, plus a HarmonyOS service account and an APNs key
// generated for the run (written to dir for the BFF).
type providerSink struct {
	creds pushsink.Credentials
	env   []string
}

func newProviderSink(dir string) (*providerSink, error) {
	ps := &providerSink{creds: pushsink.DevCredentials()}
	account, err := pushsink.NewHarmonyServiceAccount(&ps.creds)
	if err != nil {
		return nil, err
	}
	key, err := pushsink.NewAPNsKey(&ps.creds)
	if err != nil {
		return nil, err
	}
	accountFile, keyFile := filepath.Join(dir, "harmony-service-account.json"), filepath.Join(dir, "apns.p8")
	if err := os.WriteFile(accountFile, account, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, err
	}
	ps.env = []string{"HARMONY_SERVICE_ACCOUNT_FILE=" + accountFile, "APNS_KEY_FILE=" + keyFile}
	return ps, nil
}

// bffEnv points every provider's variable group at the sink at base and
// keeps the BFF from starting stand-ins of its own.
func (ps *providerSink) bffEnv(base string) []string {
	c := ps.creds
	at := func(v string) string { return pushsink.VendorBase(base, v) }
	return append([]string{
		"BFF_DEV_STAND_INS=false",
		"HMS_APP_ID=" + c.HuaweiAppID, "HMS_CLIENT_SECRET=" + c.HuaweiClientSecret,
		"HMS_AUTH_URL=" + at(pushsink.VendorHuawei) + "/oauth2/v3/token", "HMS_PUSH_URL=" + at(pushsink.VendorHuawei),
		"HARMONY_PROJECT_ID=" + c.HarmonyProjectID, "HARMONY_PUSH_URL=" + at(pushsink.VendorHarmony),
		"HONOR_APP_ID=" + c.HonorAppID, "HONOR_CLIENT_ID=" + c.HonorClientID, "HONOR_CLIENT_SECRET=" + c.HonorClientSecret,
		"HONOR_AUTH_URL=" + at(pushsink.VendorHonor) + "/auth/token", "HONOR_PUSH_URL=" + at(pushsink.VendorHonor),
		"XIAOMI_APP_SECRET=" + c.XiaomiAppSecret, "XIAOMI_PACKAGE=" + c.XiaomiPackage, "XIAOMI_CHANNEL_ID=zsb_work",
		"XIAOMI_PUSH_URL=" + at(pushsink.VendorXiaomi),
		"OPPO_APP_KEY=" + c.OPPOAppKey, "OPPO_MASTER_SECRET=" + c.OPPOMasterSecret, "OPPO_CHANNEL_ID=zsb_work",
		"OPPO_PUSH_URL=" + at(pushsink.VendorOPPO),
		"VIVO_APP_ID=" + c.VivoAppID, "VIVO_APP_KEY=" + c.VivoAppKey, "VIVO_APP_SECRET=" + c.VivoAppSecret,
		"VIVO_PUSH_URL=" + at(pushsink.VendorVivo),
		"APNS_KEY_ID=" + c.APNsKeyID, "APNS_TEAM_ID=" + c.APNsTeamID, "APNS_TOPIC=" + c.APNsTopic,
		"APNS_URL=" + at(pushsink.VendorAPNs),
	}, ps.env...)
}

// platformOf is what a device of provider registers as.
func platformOf(provider string) string {
	switch provider {
	case notifypush.ProviderAPNs:
		return "ios"
	case notifypush.ProviderHarmony:
		return "harmony"
	}
	return "android"
}

// putProviderDevice registers an installation of provider with token.
func (a *api) putProviderDevice(ctx context.Context, installationID, provider, token string) error {
	return a.call(ctx, http.MethodPut, "/v1/me/devices/"+installationID,
		map[string]string{"platform": platformOf(provider), "provider": provider, "push_token": token}, nil, http.StatusOK)
}

// forEach runs f(i) for i in [0, n) from a few workers and counts errors.
func forEach(ctx context.Context, n, workers int, f func(i int) error) (int64, error) {
	var (
		next, errs atomic.Int64
		first      atomic.Value
		wg         sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := f(int(i)); err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if errs.Load() > 0 {
		return errs.Load(), fmt.Errorf("%d of %d failed; first: %v", errs.Load(), n, first.Load())
	}
	return 0, ctx.Err()
}

// providerRecord is one device's push as a stand-in recorded it.
type providerRecord struct {
	at        time.Time
	delivered bool
}

// eventRecords collects, per provider, what the stand-ins received for the
// notification notifID (every record when notifID is empty, after a reset).
func eventRecords(sink *pushsink.Sink, reader *sinkReader, notifID string) map[string][]providerRecord {
	out := map[string][]providerRecord{}
	for _, p := range reader.delivered() {
		if notifID == "" || p.NotifID == notifID {
			out[notifypush.ProviderFCM] = append(out[notifypush.ProviderFCM], providerRecord{at: p.Received, delivered: true})
		}
	}
	for _, v := range pushsink.Vendors() {
		for _, m := range sink.VendorMessages(v) {
			if notifID == "" || strings.Contains(string(m.Message), notifID) {
				out[v] = append(out[v], providerRecord{at: m.ReceivedAt, delivered: m.Delivered})
			}
		}
	}
	return out
}

// unregisterDevices unregisters the installations prefix-00000 to
// prefix-(n-1), eight at a time.
func unregisterDevices(ctx context.Context, a *api, prefix string, n int) error {
	_, err := forEach(ctx, n, 8, func(i int) error {
		return a.deleteDevice(ctx, fmt.Sprintf("%s-%05d", prefix, i))
	})
	return err
}

// runProviders unregisters the fan-out phase's devices, registers
// o.ProviderDevices spread evenly over every provider and measures one
// event to all of them.
func runProviders(ctx context.Context, o options, a *api, src *eventSource, bffBase string, sink *pushsink.Sink, reader *sinkReader, join joiner, fanoutDevices int, logf func(string, ...any)) (providersResults, error) {
	providers := notifypush.AllProviders()
	r := providersResults{Devices: o.ProviderDevices}
	if fanoutDevices > 0 {
		logf("providers: unregistering the fan-out phase's %d devices", fanoutDevices)
		if err := unregisterDevices(ctx, a, "bench-fan", fanoutDevices); err != nil {
			return r, fmt.Errorf("unregistering the fan-out devices: %w", err)
		}
		r.Removed = fanoutDevices
	}
	logf("providers: registering %d devices, %d providers in turn", o.ProviderDevices, len(providers))
	start := time.Now()
	if _, err := forEach(ctx, o.ProviderDevices, 4, func(i int) error {
		p := providers[i%len(providers)]
		return a.putProviderDevice(ctx, fmt.Sprintf("bench-prov-%05d", i), p, fmt.Sprintf("bench-%s-%s-%05d", src.runID, p, i))
	}); err != nil {
		return r, fmt.Errorf("registering: %w", err)
	}
	r.RegisterTime = time.Since(start)
	logf("  registered in %s (%s)", r.RegisterTime.Round(time.Millisecond), perSecond(float64(o.ProviderDevices)/r.RegisterTime.Seconds()))
	c, err := newLoadClient(bffBase, 1)
	if err != nil {
		return r, err
	}
	time.Sleep(time.Second) // let registration's writes settle
	reader.reset()
	for _, v := range pushsink.Vendors() {
		sink.ResetVendor(v)
	}
	ev := src.send(c, bffBase, new(fiber.Request), new(fiber.Response))
	if ev.Result != intake.ResultApplied {
		return r, fmt.Errorf("providers event: %s", ev.Result)
	}
	notifID := ""
	if join.byNotifID {
		notifID = ev.NotifID
	}
	deadline := time.Now().Add(o.ProviderWait)
	var recs map[string][]providerRecord
	for {
		recs = eventRecords(sink, reader, notifID)
		r.Got = 0
		for _, rs := range recs {
			for _, x := range rs {
				if x.delivered {
					r.Got++
				}
			}
		}
		if r.Got >= o.ProviderDevices || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.TimedOut = r.Got < o.ProviderDevices
	var first, last time.Time
	for i, p := range providers {
		st := providerStats{Provider: p, Devices: o.ProviderDevices / len(providers)}
		if i < o.ProviderDevices%len(providers) {
			st.Devices++
		}
		var lo, hi time.Time
		requests := map[time.Time]int{}
		for _, x := range recs[p] {
			requests[x.at]++ // the records of one request share its time
			if !x.delivered {
				st.Rejected++
				continue
			}
			st.Got++
			if lo.IsZero() || x.at.Before(lo) {
				lo = x.at
			}
			hi = maxTime(hi, x.at)
		}
		if p == notifypush.ProviderFCM {
			st.Requests = st.Got + st.Rejected // one token a request
		} else {
			st.Requests = len(requests)
			if p == pushsink.VendorVivo {
				// vivo sends a notice to many as saveListPayload, which
				// names no device, then pushToList with the tokens.
				for _, n := range requests {
					if n > 1 {
						st.Requests++
					}
				}
			}
		}
		if !lo.IsZero() {
			st.First = lo.Sub(ev.Accepted)
			if first.IsZero() || lo.Before(first) {
				first = lo
			}
			last = maxTime(last, hi)
			if st.Got >= st.Devices {
				st.Last = hi.Sub(ev.Accepted)
			}
		}
		r.ByProvider = append(r.ByProvider, st)
	}
	if !first.IsZero() {
		r.First = first.Sub(ev.Accepted)
		r.Window = last.Sub(ev.Accepted)
		if !r.TimedOut {
			r.All = r.Window
		}
		if r.Window > 0 {
			r.PushesPerSec = float64(r.Got) / r.Window.Seconds()
		}
	}
	logf("  one event to %d devices over %d providers: %d pushes, first after %s, last after %s (%s)",
		o.ProviderDevices, len(providers), r.Got, ms(r.First), ms(r.Window), perSecond(r.PushesPerSec))
	for _, st := range r.ByProvider {
		logf("    %-8s %5d/%d  first %s  last %s  %d send requests", st.Provider, st.Got, st.Devices, ms(st.First), ms(st.Last), st.Requests)
	}
	return r, nil
}
