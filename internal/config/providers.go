package config

import (
	"strings"

	"github.com/weifang/kaigong-zsb/notify/push/apns"
	"github.com/weifang/kaigong-zsb/notify/push/harmony"
	"github.com/weifang/kaigong-zsb/notify/push/honor"
	"github.com/weifang/kaigong-zsb/notify/push/huawei"
	"github.com/weifang/kaigong-zsb/notify/push/oppo"
	"github.com/weifang/kaigong-zsb/notify/push/vivo"
	"github.com/weifang/kaigong-zsb/notify/push/xiaomi"
)

// Providers are the push providers beside FCM, one group of variables each.
// A group with none of its variables set is nil: that provider is off, and
// in development it is configured against the built-in stand-in instead.
type Providers struct {
	// DevStandIns, in development, sends every provider left unconfigured
	// to its built-in stand-in. (BFF_DEV_STAND_INS, default true)
	DevStandIns bool

	APNs    *apns.Config
	Huawei  *huawei.Config
	Harmony *harmony.Config
	Honor   *honor.Config
	Xiaomi  *xiaomi.Config
	OPPO    *oppo.Config
	Vivo    *vivo.Config
}

// providerVars are the provider groups for `bff -h`: the required
// variables of each group first.
var providerVars = []Var{
	{"BFF_DEV_STAND_INS", "true in development", "send every push provider left unconfigured to its built-in stand-in (development only)"},
	{"APNS_KEY_FILE", "", "APNs token-auth .p8 key (with APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC)"},
	{"APNS_KEY_ID", "", "APNs key id"},
	{"APNS_TEAM_ID", "", "APNs team id"},
	{"APNS_TOPIC", "", "APNs topic: the app's bundle id"},
	{"APNS_URL", "(Apple's production host)", "APNs base URL"},
	{"HMS_APP_ID", "", "Huawei Push Kit v1 app id (with HMS_CLIENT_SECRET)"},
	{"HMS_CLIENT_SECRET", "", "Huawei Push Kit v1 app secret"},
	{"HMS_AUTH_URL", "(the vendor's)", "Huawei token URL"},
	{"HMS_PUSH_URL", "(the vendor's)", "Huawei push base URL"},
	{"HARMONY_PROJECT_ID", "", "HarmonyOS Push Kit v3 project id (with HARMONY_SERVICE_ACCOUNT_FILE)"},
	{"HARMONY_SERVICE_ACCOUNT_FILE", "", "HarmonyOS service-account key file"},
	{"HARMONY_PUSH_URL", "(the vendor's)", "HarmonyOS push base URL"},
	{"HONOR_APP_ID", "", "Honor app id (with HONOR_CLIENT_ID, HONOR_CLIENT_SECRET)"},
	{"HONOR_CLIENT_ID", "", "Honor client id"},
	{"HONOR_CLIENT_SECRET", "", "Honor client secret"},
	{"HONOR_AUTH_URL", "(the vendor's)", "Honor token URL"},
	{"HONOR_PUSH_URL", "(the vendor's)", "Honor push base URL"},
	{"XIAOMI_APP_SECRET", "", "MiPush app secret (with XIAOMI_PACKAGE, XIAOMI_CHANNEL_ID)"},
	{"XIAOMI_PACKAGE", "", "the app's package name"},
	{"XIAOMI_CHANNEL_ID", "", "the private channel approval notices go out on"},
	{"XIAOMI_PUSH_URL", "(the vendor's)", "MiPush base URL"},
	{"OPPO_APP_KEY", "", "OPPO app key (with OPPO_MASTER_SECRET, OPPO_CHANNEL_ID)"},
	{"OPPO_MASTER_SECRET", "", "OPPO master secret"},
	{"OPPO_CHANNEL_ID", "", "the private channel approval notices go out on"},
	{"OPPO_CATEGORY", "(the sender's default)", "OPPO message category"},
	{"OPPO_PUSH_URL", "(the vendor's)", "OPPO push base URL"},
	{"VIVO_APP_ID", "", "vivo app id (with VIVO_APP_KEY, VIVO_APP_SECRET)"},
	{"VIVO_APP_KEY", "", "vivo app key"},
	{"VIVO_APP_SECRET", "", "vivo app secret"},
	{"VIVO_PUSH_URL", "(the vendor's)", "vivo push base URL"},
}

// parseProviders reads every provider group. A group is on when any of its
// variables is set, and then its required ones must all be.
func (p *parser) parseProviders() Providers {
	var out Providers
	out.DevStandIns = p.boolean("BFF_DEV_STAND_INS", true)
	if p.group("APNS_", "APNS_KEY_FILE", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_TOPIC") {
		out.APNs = &apns.Config{KeyFile: p.str("APNS_KEY_FILE", ""), KeyID: p.str("APNS_KEY_ID", ""),
			TeamID: p.str("APNS_TEAM_ID", ""), Topic: p.str("APNS_TOPIC", ""), URL: p.str("APNS_URL", "")}
	}
	if p.group("HMS_", "HMS_APP_ID", "HMS_CLIENT_SECRET") {
		out.Huawei = &huawei.Config{AppID: p.str("HMS_APP_ID", ""), ClientSecret: p.str("HMS_CLIENT_SECRET", ""),
			AuthURL: p.str("HMS_AUTH_URL", ""), PushURL: p.str("HMS_PUSH_URL", "")}
	}
	if p.group("HARMONY_", "HARMONY_PROJECT_ID", "HARMONY_SERVICE_ACCOUNT_FILE") {
		out.Harmony = &harmony.Config{ProjectID: p.str("HARMONY_PROJECT_ID", ""),
			ServiceAccountFile: p.str("HARMONY_SERVICE_ACCOUNT_FILE", ""), PushURL: p.str("HARMONY_PUSH_URL", "")}
	}
	if p.group("HONOR_", "HONOR_APP_ID", "HONOR_CLIENT_ID", "HONOR_CLIENT_SECRET") {
		out.Honor = &honor.Config{AppID: p.str("HONOR_APP_ID", ""), ClientID: p.str("HONOR_CLIENT_ID", ""),
			ClientSecret: p.str("HONOR_CLIENT_SECRET", ""), AuthURL: p.str("HONOR_AUTH_URL", ""), PushURL: p.str("HONOR_PUSH_URL", "")}
	}
	if p.group("XIAOMI_", "XIAOMI_APP_SECRET", "XIAOMI_PACKAGE", "XIAOMI_CHANNEL_ID") {
		out.Xiaomi = &xiaomi.Config{AppSecret: p.str("XIAOMI_APP_SECRET", ""), Package: p.str("XIAOMI_PACKAGE", ""),
			ChannelID: p.str("XIAOMI_CHANNEL_ID", ""), PushURL: p.str("XIAOMI_PUSH_URL", "")}
	}
	if p.group("OPPO_", "OPPO_APP_KEY", "OPPO_MASTER_SECRET", "OPPO_CHANNEL_ID") {
		out.OPPO = &oppo.Config{AppKey: p.str("OPPO_APP_KEY", ""), MasterSecret: p.str("OPPO_MASTER_SECRET", ""),
			ChannelID: p.str("OPPO_CHANNEL_ID", ""), Category: p.str("OPPO_CATEGORY", ""), PushURL: p.str("OPPO_PUSH_URL", "")}
	}
	if p.group("VIVO_", "VIVO_APP_ID", "VIVO_APP_KEY", "VIVO_APP_SECRET") {
		out.Vivo = &vivo.Config{AppID: p.str("VIVO_APP_ID", ""), AppKey: p.str("VIVO_APP_KEY", ""),
			AppSecret: p.str("VIVO_APP_SECRET", ""), PushURL: p.str("VIVO_PUSH_URL", "")}
	}
	return out
}

// group reports whether any variable of the group named by prefix is set,
// and fails for each required one that is then missing.
func (p *parser) group(prefix string, required ...string) bool {
	on := false
	for _, v := range providerVars {
		if strings.HasPrefix(v.Name, prefix) && p.str(v.Name, "") != "" {
			on = true
		}
	}
	if !on {
		return false
	}
	var missing []string
	for _, name := range required {
		if p.str(name, "") == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		p.fail("%s: set with the rest of its group, or not at all", strings.Join(missing, ", "))
	}
	return true
}
