package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/apns"
	"github.com/weifang/kaigong-zsb/notify/push/fcm"
	"github.com/weifang/kaigong-zsb/notify/push/harmony"
	"github.com/weifang/kaigong-zsb/notify/push/honor"
	"github.com/weifang/kaigong-zsb/notify/push/huawei"
	"github.com/weifang/kaigong-zsb/notify/push/oppo"
	"github.com/weifang/kaigong-zsb/notify/push/vivo"
	"github.com/weifang/kaigong-zsb/notify/push/xiaomi"
)

// devChannel is the private channel id development configures on Xiaomi
// and OPPO (a real one comes from each vendor's console).
const devChannel = "zsb_work"

// openPush builds one sender per configured provider behind a Router. FCM
// goes to the real service with credentials, to FCM_ENDPOINT, or else to
// the built-in stand-ins; in development every other provider left
// unconfigured goes to its stand-in too, so make run reaches every phone.
func (a *App) openPush(ctx context.Context) (*push.Router, error) {
	fc := fcm.Config{ProjectID: a.cfg.FCMProjectID, CredentialsFile: a.cfg.FCMCredentialsFile, Endpoint: a.cfg.FCMEndpoint}
	providers := a.cfg.Providers
	fcmLocal := fc.CredentialsFile == "" && fc.Endpoint == ""
	if dev := a.cfg.Env == config.EnvDevelopment && providers.DevStandIns; fcmLocal || dev {
		base, err := a.startSink()
		if err != nil {
			return nil, err
		}
		if fcmLocal {
			fc.Endpoint = pushsink.Endpoint(base)
		}
		if dev {
			providers = a.devProviders(providers, base)
		}
	}
	senders := map[string]push.Sender{}
	f, err := fcm.NewSender(ctx, fc)
	if err != nil {
		return nil, err
	}
	senders[push.ProviderFCM] = f
	if err := a.vendorSenders(providers, senders); err != nil {
		return nil, err
	}
	router := push.NewRouter(senders, push.WithStateHook(func(st push.ProviderState) {
		// One line per change of state, not one per push.
		level := a.log.Warn
		if st.State == push.StateOK {
			level = a.log.Info
		}
		level("push provider state", "provider", st.Provider, "state", st.State, "error_code", st.ErrorCode, "until", st.Until)
	}))
	if err := a.registry.Register(providerStates{router}); err != nil {
		return nil, err
	}
	a.Push = router
	return router, nil
}

// startSink starts the built-in push stand-ins, with the development
// credentials of every vendor.
func (a *App) startSink() (string, error) {
	creds := pushsink.DevCredentials()
	var err error
	if a.harmonyAccount, err = pushsink.NewHarmonyServiceAccount(&creds); err != nil {
		return "", err
	}
	if a.apnsKey, err = pushsink.NewAPNsKey(&creds); err != nil {
		return "", err
	}
	a.sinkCreds = creds
	a.Sink = pushsink.New(pushsink.Options{Credentials: &creds})
	base, err := a.Sink.Start("127.0.0.1:0")
	if err != nil {
		return "", err
	}
	a.closers = append(a.closers, a.Sink.Close)
	a.SinkURL = base
	return base, nil
}

// devProviders configures every provider p leaves off against its
// stand-in at base, and lists them in a.StandIns.
func (a *App) devProviders(p config.Providers, base string) config.Providers {
	c := a.sinkCreds
	at := func(v string) string { return pushsink.VendorBase(base, v) }
	if p.APNs == nil {
		a.StandIns = append(a.StandIns, push.ProviderAPNs)
		p.APNs = &apns.Config{KeyPEM: a.apnsKey, KeyID: c.APNsKeyID, TeamID: c.APNsTeamID, Topic: c.APNsTopic, URL: at(pushsink.VendorAPNs)}
	}
	if p.Huawei == nil {
		a.StandIns = append(a.StandIns, push.ProviderHuawei)
		p.Huawei = &huawei.Config{AppID: c.HuaweiAppID, ClientSecret: c.HuaweiClientSecret,
			AuthURL: at(pushsink.VendorHuawei) + "/oauth2/v3/token", PushURL: at(pushsink.VendorHuawei)}
	}
	if p.Harmony == nil {
		a.StandIns = append(a.StandIns, push.ProviderHarmony)
		p.Harmony = &harmony.Config{ServiceAccountJSON: a.harmonyAccount, PushURL: at(pushsink.VendorHarmony)}
	}
	if p.Honor == nil {
		a.StandIns = append(a.StandIns, push.ProviderHonor)
		p.Honor = &honor.Config{AppID: c.HonorAppID, ClientID: c.HonorClientID, ClientSecret: c.HonorClientSecret,
			AuthURL: at(pushsink.VendorHonor) + "/auth/token", PushURL: at(pushsink.VendorHonor)}
	}
	if p.Xiaomi == nil {
		a.StandIns = append(a.StandIns, push.ProviderXiaomi)
		p.Xiaomi = &xiaomi.Config{AppSecret: c.XiaomiAppSecret, Package: c.XiaomiPackage, ChannelID: devChannel, PushURL: at(pushsink.VendorXiaomi)}
	}
	if p.OPPO == nil {
		a.StandIns = append(a.StandIns, push.ProviderOPPO)
		p.OPPO = &oppo.Config{AppKey: c.OPPOAppKey, MasterSecret: c.OPPOMasterSecret, ChannelID: devChannel, PushURL: at(pushsink.VendorOPPO)}
	}
	if p.Vivo == nil {
		a.StandIns = append(a.StandIns, push.ProviderVivo)
		p.Vivo = &vivo.Config{AppID: c.VivoAppID, AppKey: c.VivoAppKey, AppSecret: c.VivoAppSecret, PushURL: at(pushsink.VendorVivo)}
	}
	return p
}

// vendorSenders adds a sender for each configured vendor to senders.
func (a *App) vendorSenders(p config.Providers, senders map[string]push.Sender) error {
	add := func(name string, s push.Sender, err error) error {
		if err != nil {
			return fmt.Errorf("push provider %s: %w", name, err)
		}
		senders[name] = s
		return nil
	}
	var errs []error
	if p.APNs != nil {
		s, err := apns.New(*p.APNs)
		if err == nil {
			a.closers = append(a.closers, func() error { s.Close(); return nil })
		}
		errs = append(errs, add(push.ProviderAPNs, s, err))
	}
	if p.Huawei != nil {
		s, err := huawei.New(*p.Huawei)
		errs = append(errs, add(push.ProviderHuawei, s, err))
	}
	if p.Harmony != nil {
		s, err := harmony.New(*p.Harmony)
		errs = append(errs, add(push.ProviderHarmony, s, err))
	}
	if p.Honor != nil {
		s, err := honor.New(*p.Honor)
		errs = append(errs, add(push.ProviderHonor, s, err))
	}
	if p.Xiaomi != nil {
		s, err := xiaomi.New(*p.Xiaomi)
		errs = append(errs, add(push.ProviderXiaomi, s, err))
	}
	if p.OPPO != nil {
		s, err := oppo.New(*p.OPPO)
		errs = append(errs, add(push.ProviderOPPO, s, err))
	}
	if p.Vivo != nil {
		s, err := vivo.New(*p.Vivo)
		errs = append(errs, add(push.ProviderVivo, s, err))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// providerStates exports zsb_push_provider_state{provider,state}: 1 for
// each configured provider's current state, 0 for the others.
type providerStates struct{ r *push.Router }

var providerStateDesc = prometheus.NewDesc("zsb_push_provider_state",
	"Each push provider's state (ok, paused until its quota resets, auth_failed): 1 for the current one.",
	[]string{"provider", "state"}, nil)

func (providerStates) Describe(ch chan<- *prometheus.Desc) { ch <- providerStateDesc }

func (p providerStates) Collect(ch chan<- prometheus.Metric) {
	for _, s := range p.r.StateGauge() {
		ch <- prometheus.MustNewConstMetric(providerStateDesc, prometheus.GaugeValue, s.Value, s.Provider, s.State)
	}
}
