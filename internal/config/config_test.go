package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

func TestParse(t *testing.T) {
	prod := map[string]string{
		"BFF_ENV":                  "production",
		"DATABASE_URL":             "postgres://db/zsb",
		"REDIS_URL":                "redis://cache:6379/0",
		"JWT_SIGNING_KEYS":         "k1:AAAA",
		"UPSTREAM_WEBHOOK_SECRETS": "a-long-production-secret",
		"FCM_PROJECT_ID":           "zsb",
		"FCM_CREDENTIALS_FILE":     "/run/secrets/fcm.json",
	}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for kk, vv := range base {
			out[kk] = vv
		}
		if v == "<unset>" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "development defaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.Addr != ":8080" || c.Env != EnvDevelopment || !c.SeedDemo || c.DemoPassword != "demo12345" {
				t.Errorf("defaults: %+v", c)
			}
			if c.DatabaseURL != "sqlite:///data/bff.db" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
			if len(c.UpstreamWebhookSecrets) != 1 || c.UpstreamWebhookSecrets[0] != DevWebhookSecret {
				t.Errorf("secrets = %v", c.UpstreamWebhookSecrets)
			}
			if c.RedisURL != "" || c.DigestWindow != 3*time.Second {
				t.Errorf("redis/digest: %q %v", c.RedisURL, c.DigestWindow)
			}
		}},
		{name: "secrets list trims and splits", env: map[string]string{"UPSTREAM_WEBHOOK_SECRETS": " new , old ,"}, check: func(t *testing.T, c Config) {
			if strings.Join(c.UpstreamWebhookSecrets, "|") != "new|old" {
				t.Errorf("secrets = %v", c.UpstreamWebhookSecrets)
			}
		}},
		{name: "seed off", env: map[string]string{"BFF_SEED_DEMO": "false"}, check: func(t *testing.T, c Config) {
			if c.SeedDemo {
				t.Error("SeedDemo should be false")
			}
		}},
		{name: "production complete", env: prod, check: func(t *testing.T, c Config) {
			if c.SeedDemo || c.DatabaseURL != "postgres://db/zsb" {
				t.Errorf("prod: %+v", c)
			}
		}},
		{name: "production missing all", env: map[string]string{"BFF_ENV": "production"},
			wantErr: "production requires DATABASE_URL, REDIS_URL, JWT_SIGNING_KEYS, UPSTREAM_WEBHOOK_SECRETS"},
		{name: "production missing redis", env: with(prod, "REDIS_URL", "<unset>"), wantErr: "production requires REDIS_URL"},
		{name: "production dev secret", env: with(prod, "UPSTREAM_WEBHOOK_SECRETS", DevWebhookSecret), wantErr: "not the development default"},
		{name: "production demo seed", env: with(prod, "BFF_SEED_DEMO", "true"), wantErr: "development only"},
		{name: "production without fcm", env: with(with(prod, "FCM_CREDENTIALS_FILE", "<unset>"), "FCM_PROJECT_ID", "<unset>"), wantErr: "FCM_CREDENTIALS_FILE"},
		{name: "unknown env", env: map[string]string{"BFF_ENV": "staging"}, wantErr: "BFF_ENV"},
		{name: "bad database url", env: map[string]string{"DATABASE_URL": "mysql://x"}, wantErr: "DATABASE_URL"},
		{name: "bad addr", env: map[string]string{"BFF_ADDR": "8080"}, wantErr: "BFF_ADDR"},
		{name: "bad duration", env: map[string]string{"BFF_DIGEST_WINDOW": "soon"}, wantErr: "BFF_DIGEST_WINDOW"},
		{name: "digest too long", env: map[string]string{"BFF_DIGEST_WINDOW": "2m"}, wantErr: "BFF_DIGEST_WINDOW"},
		{name: "bad bool", env: map[string]string{"BFF_SEED_DEMO": "maybe"}, wantErr: "BFF_SEED_DEMO"},
		{name: "bad int", env: map[string]string{"BFF_DEADLINE_WARN_DAYS": "three"}, wantErr: "BFF_DEADLINE_WARN_DAYS"},
		{name: "short demo password", env: map[string]string{"BFF_DEMO_PASSWORD": "short"}, wantErr: "BFF_DEMO_PASSWORD"},
		{name: "credentials without project", env: map[string]string{"FCM_CREDENTIALS_FILE": "/x.json"}, wantErr: "FCM_PROJECT_ID"},
		{name: "bad log level", env: map[string]string{"BFF_LOG_LEVEL": "loud"}, wantErr: "BFF_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestUsageListsEveryVariable keeps `bff -h` and Parse in step: every
// variable Parse reads is documented, and nothing documented is unread.
func TestUsageListsEveryVariable(t *testing.T) {
	var seen []string
	_, _ = Parse(func(k string) (string, bool) { seen = append(seen, k); return "", false })
	documented := map[string]bool{}
	for _, n := range Names() {
		documented[n] = true
	}
	read := map[string]bool{}
	for _, n := range seen {
		read[n] = true
		if !documented[n] {
			t.Errorf("%s is read but not listed by bff -h", n)
		}
	}
	for n := range documented {
		if !read[n] {
			t.Errorf("%s is listed by bff -h but never read", n)
		}
	}
	var buf bytes.Buffer
	Usage(&buf)
	for _, n := range Names() {
		if !strings.Contains(buf.String(), n) {
			t.Errorf("usage output lacks %s", n)
		}
	}
}

func TestRetentionWindows(t *testing.T) {
	c, err := Parse(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionInterval != 10*time.Minute || c.RetentionEventBodies != 30*day || c.RetentionOutbox != 7*day ||
		c.RetentionPush != 30*day || c.RetentionInbox != 180*day || c.RetentionWarnings != 90*day {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Parse(env(map[string]string{"BFF_RETENTION_INBOX": "365d", "BFF_RETENTION_PUSH": "36h", "BFF_RETENTION_OUTBOX": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionInbox != 365*day || c.RetentionPush != 36*time.Hour || c.RetentionOutbox != 0 {
		t.Fatalf("parsed: inbox %v push %v outbox %v", c.RetentionInbox, c.RetentionPush, c.RetentionOutbox)
	}
	for k, v := range map[string]string{"BFF_RETENTION_INBOX": "soon", "BFF_RETENTION_PUSH": "10m",
		"BFF_RETENTION_OUTBOX": "-3d", "BFF_RETENTION_INTERVAL": "5s"} {
		if _, err := Parse(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err %v, want one naming it", k, v, err)
		}
	}
}
