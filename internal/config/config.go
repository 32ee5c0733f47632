// Package config parses the BFF's environment once, at start, into a
// validated struct that main passes down. Nothing else reads the environment.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Environments the BFF knows.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is the whole runtime configuration.
type Config struct {
	Addr        string // BFF_ADDR
	MetricsAddr string // BFF_METRICS_ADDR; empty: /metrics on the main listener
	Env         string // BFF_ENV
	DataDir     string // BFF_DATA_DIR

	DatabaseURL string // DATABASE_URL; empty in development: SQLite under DataDir
	RedisURL    string // REDIS_URL; empty in development: an in-process server
	RedisPrefix string // BFF_REDIS_PREFIX

	JWTSigningKeys         string   // JWT_SIGNING_KEYS; empty in development: generated under DataDir
	UpstreamWebhookSecrets []string // UPSTREAM_WEBHOOK_SECRETS

	FCMProjectID       string    // FCM_PROJECT_ID
	FCMCredentialsFile string    // FCM_CREDENTIALS_FILE
	FCMEndpoint        string    // FCM_ENDPOINT; empty and no credentials: the built-in sink
	Providers          Providers // the other push providers (providers.go)

	SeedDemo     bool   // BFF_SEED_DEMO
	DemoPassword string // BFF_DEMO_PASSWORD

	CatalogFile  string // BFF_CATALOG_FILE; empty: the embedded catalog
	HolidaysFile string // BFF_HOLIDAYS_FILE; operator override of the working-day calendar

	DigestWindow       time.Duration // BFF_DIGEST_WINDOW
	TaskEscalateAfter  time.Duration // BFF_TASK_ESCALATE_AFTER
	DeadlineWarnDays   int           // BFF_DEADLINE_WARN_DAYS
	ShutdownTimeout    time.Duration // BFF_SHUTDOWN_TIMEOUT
	LogLevel           string        // BFF_LOG_LEVEL
	LoginLimitPerUser  int           // BFF_LOGIN_LIMIT_PER_USER
	LoginLimitPerIP    int           // BFF_LOGIN_LIMIT_PER_IP
	TrustedProxyHeader string        // BFF_TRUSTED_PROXY_HEADER
	AccessLog          bool          // BFF_ACCESS_LOG
	PprofAddr          string        // BFF_PPROF_ADDR
	DBMaxConns         int           // BFF_DB_MAX_CONNS

	// Retention windows (0 keeps that kind of row forever) and how often
	// the pruner runs; see notify/retention.
	RetentionInterval    time.Duration // BFF_RETENTION_INTERVAL
	RetentionEventBodies time.Duration // BFF_RETENTION_EVENT_BODIES
	RetentionOutbox      time.Duration // BFF_RETENTION_OUTBOX
	RetentionPush        time.Duration // BFF_RETENTION_PUSH
	RetentionInbox       time.Duration // BFF_RETENTION_INBOX
	RetentionWarnings    time.Duration // BFF_RETENTION_WARNINGS
}

// Var describes one environment variable for `bff -h`.
type Var struct {
	Name    string
	Default string
	Help    string
}

// Vars lists every variable the BFF reads, in the order `bff -h` prints them.
var Vars = append([]Var{
	{"BFF_ADDR", ":8080", "listen address"},
	{"BFF_METRICS_ADDR", "", "separate ops address for /metrics (empty: served on BFF_ADDR)"},
	{"BFF_ENV", "development", "development or production; production refuses to start without real secrets, DATABASE_URL and REDIS_URL"},
	{"BFF_DATA_DIR", "./data", "where development keeps its SQLite file and generated signing keys"},
	{"DATABASE_URL", "sqlite:///<BFF_DATA_DIR>/bff.db", "postgres://… or sqlite:///path"},
	{"REDIS_URL", "(in-process server)", "redis://host:port/db, rediss://…, redis+cluster://h1:p1,h2:p2, redis+sentinel://h1:p1,h2:p2/master"},
	{"BFF_REDIS_PREFIX", "zsb:", "prefix of every Redis key"},
	{"JWT_SIGNING_KEYS", "(generated once under BFF_DATA_DIR)", "kid:base64url(ed25519 seed), comma-separated, newest first"},
	{"UPSTREAM_WEBHOOK_SECRETS", "dev-upstream-secret", "webhook HMAC secrets, comma-separated (several during a rotation)"},
	{"FCM_PROJECT_ID", "", "Firebase project id"},
	{"FCM_CREDENTIALS_FILE", "", "Firebase service-account JSON file"},
	{"FCM_ENDPOINT", "(built-in local sink)", "FCM base URL override, e.g. http://127.0.0.1:9099/v1; unauthenticated without credentials"},
	{"BFF_SEED_DEMO", "true in development", "seed the demo accounts and projects"},
	{"BFF_DEMO_PASSWORD", "demo12345", "password of every demo account"},
	{"BFF_CATALOG_FILE", "(embedded)", "approval catalog JSON to load instead of the embedded one"},
	{"BFF_HOLIDAYS_FILE", "", "working-day calendar override JSON (a newly published year)"},
	{"BFF_DIGEST_WINDOW", "3s", "changes to one project within this window become one push"},
	{"BFF_TASK_ESCALATE_AFTER", "4h", "an unclaimed agent task moves up a level after this long"},
	{"BFF_DEADLINE_WARN_DAYS", "3", "warn this many working days before a due date"},
	{"BFF_SHUTDOWN_TIMEOUT", "15s", "how long a graceful shutdown may take"},
	{"BFF_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"BFF_LOGIN_LIMIT_PER_USER", "5", "failed logins per account per 15 minutes"},
	{"BFF_LOGIN_LIMIT_PER_IP", "30", "login attempts per client address per minute"},
	{"BFF_TRUSTED_PROXY_HEADER", "", "header carrying the client address when behind a proxy, e.g. X-Forwarded-For"},
	{"BFF_ACCESS_LOG", "true", "log one line per request"},
	{"BFF_PPROF_ADDR", "", "ops-only address for Go profiling (net/http/pprof); empty: off"},
	{"BFF_DB_MAX_CONNS", "24", "PostgreSQL connections this instance may hold (mind the server's max_connections across instances)"},
	{"BFF_RETENTION_INTERVAL", "10m", "how often the retention pruner runs (on one instance at a time)"},
	{"BFF_RETENTION_EVENT_BODIES", "30d", "raw upstream event bodies are cleared after this (the timeline rows stay); 0: kept forever"},
	{"BFF_RETENTION_OUTBOX", "7d", "processed outbox entries are removed after this (unprocessed ones and dead letters never); 0: kept forever"},
	{"BFF_RETENTION_PUSH", "30d", "push attempts and finished push deliveries and jobs are removed after this (pending ones never); 0: kept forever"},
	{"BFF_RETENTION_INBOX", "180d", "inbox notices, read or not, are removed after this (unread ones leave the badge count); 0: kept forever"},
	{"BFF_RETENTION_WARNINGS", "90d", "deadline warnings are removed this long after their due day, once they cannot recur; 0: kept forever"},
}, providerVars...)

// DevWebhookSecret is the development default webhook secret.
const DevWebhookSecret = "dev-upstream-secret"

// Parse reads the configuration through lookup (os.LookupEnv in main) and
// validates it. The error names every problem at once.
func Parse(lookup func(string) (string, bool)) (Config, error) {
	p := parser{lookup: lookup}
	c := Config{
		Addr:               p.str("BFF_ADDR", ":8080"),
		MetricsAddr:        p.str("BFF_METRICS_ADDR", ""),
		Env:                p.str("BFF_ENV", EnvDevelopment),
		DataDir:            p.str("BFF_DATA_DIR", "./data"),
		DatabaseURL:        p.str("DATABASE_URL", ""),
		RedisURL:           p.str("REDIS_URL", ""),
		RedisPrefix:        p.str("BFF_REDIS_PREFIX", "zsb:"),
		JWTSigningKeys:     p.str("JWT_SIGNING_KEYS", ""),
		FCMProjectID:       p.str("FCM_PROJECT_ID", ""),
		FCMCredentialsFile: p.str("FCM_CREDENTIALS_FILE", ""),
		FCMEndpoint:        p.str("FCM_ENDPOINT", ""),
		DemoPassword:       p.str("BFF_DEMO_PASSWORD", "demo12345"),
		CatalogFile:        p.str("BFF_CATALOG_FILE", ""),
		HolidaysFile:       p.str("BFF_HOLIDAYS_FILE", ""),
		DigestWindow:       p.duration("BFF_DIGEST_WINDOW", 3*time.Second),
		TaskEscalateAfter:  p.duration("BFF_TASK_ESCALATE_AFTER", 4*time.Hour),
		DeadlineWarnDays:   p.integer("BFF_DEADLINE_WARN_DAYS", 3),
		ShutdownTimeout:    p.duration("BFF_SHUTDOWN_TIMEOUT", 15*time.Second),
		LogLevel:           p.str("BFF_LOG_LEVEL", "info"),
		LoginLimitPerUser:  p.integer("BFF_LOGIN_LIMIT_PER_USER", 5),
		LoginLimitPerIP:    p.integer("BFF_LOGIN_LIMIT_PER_IP", 30),
		TrustedProxyHeader: p.str("BFF_TRUSTED_PROXY_HEADER", ""),
	}
	c.UpstreamWebhookSecrets = splitList(p.str("UPSTREAM_WEBHOOK_SECRETS", ""))
	c.SeedDemo = p.boolean("BFF_SEED_DEMO", c.Env == EnvDevelopment)
	c.AccessLog = p.boolean("BFF_ACCESS_LOG", true)
	c.PprofAddr = p.str("BFF_PPROF_ADDR", "")
	c.DBMaxConns = p.integer("BFF_DB_MAX_CONNS", 24)
	if c.DBMaxConns < 2 || c.DBMaxConns > 500 {
		p.fail("BFF_DB_MAX_CONNS: must be between 2 and 500")
	}
	c.Providers = p.parseProviders()
	c.RetentionInterval = p.duration("BFF_RETENTION_INTERVAL", 10*time.Minute)
	c.RetentionEventBodies = p.window("BFF_RETENTION_EVENT_BODIES", 30*day)
	c.RetentionOutbox = p.window("BFF_RETENTION_OUTBOX", 7*day)
	c.RetentionPush = p.window("BFF_RETENTION_PUSH", 30*day)
	c.RetentionInbox = p.window("BFF_RETENTION_INBOX", 180*day)
	c.RetentionWarnings = p.window("BFF_RETENTION_WARNINGS", 90*day)

	switch c.Env {
	case EnvDevelopment:
		if c.DatabaseURL == "" {
			c.DatabaseURL = "sqlite:///" + filepath.ToSlash(filepath.Join(c.DataDir, "bff.db"))
		}
		if len(c.UpstreamWebhookSecrets) == 0 {
			c.UpstreamWebhookSecrets = []string{DevWebhookSecret}
		}
	case EnvProduction:
		var missing []string
		for _, v := range []struct{ name, val string }{
			{"DATABASE_URL", c.DatabaseURL},
			{"REDIS_URL", c.RedisURL},
			{"JWT_SIGNING_KEYS", c.JWTSigningKeys},
			{"UPSTREAM_WEBHOOK_SECRETS", strings.Join(c.UpstreamWebhookSecrets, ",")},
		} {
			if v.val == "" {
				missing = append(missing, v.name)
			}
		}
		if len(missing) > 0 {
			p.fail("production requires %s", strings.Join(missing, ", "))
		}
		for _, s := range c.UpstreamWebhookSecrets {
			if s == DevWebhookSecret || len(s) < 16 {
				p.fail("UPSTREAM_WEBHOOK_SECRETS: production secrets must be at least 16 characters and not the development default")
				break
			}
		}
		if c.SeedDemo {
			p.fail("BFF_SEED_DEMO: demo data is for development only")
		}
		if p.str("BFF_DEV_STAND_INS", "") != "" && c.Providers.DevStandIns {
			p.fail("BFF_DEV_STAND_INS: the push stand-ins are for development only")
		}
		c.Providers.DevStandIns = false
		if c.FCMCredentialsFile == "" && c.FCMEndpoint == "" {
			p.fail("production requires FCM_CREDENTIALS_FILE (or FCM_ENDPOINT)")
		}
	default:
		p.fail("BFF_ENV: %q is neither %s nor %s", c.Env, EnvDevelopment, EnvProduction)
	}

	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		p.fail("DATABASE_URL: must start with postgres:// or sqlite://")
	}
	for _, a := range []struct{ name, val string }{{"BFF_ADDR", c.Addr}, {"BFF_METRICS_ADDR", c.MetricsAddr}, {"BFF_PPROF_ADDR", c.PprofAddr}} {
		if a.val == "" && a.name != "BFF_ADDR" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.val); err != nil {
			p.fail("%s: %q is not host:port", a.name, a.val)
		}
	}
	if c.FCMCredentialsFile != "" && c.FCMProjectID == "" {
		p.fail("FCM_PROJECT_ID is required with FCM_CREDENTIALS_FILE")
	}
	if c.DigestWindow < 0 || c.DigestWindow > time.Minute {
		p.fail("BFF_DIGEST_WINDOW: must be between 0 and 1m")
	}
	if c.TaskEscalateAfter <= 0 {
		p.fail("BFF_TASK_ESCALATE_AFTER: must be positive")
	}
	if c.DeadlineWarnDays < 0 || c.DeadlineWarnDays > 30 {
		p.fail("BFF_DEADLINE_WARN_DAYS: must be between 0 and 30")
	}
	if c.ShutdownTimeout <= 0 {
		p.fail("BFF_SHUTDOWN_TIMEOUT: must be positive")
	}
	if c.LoginLimitPerUser <= 0 || c.LoginLimitPerIP <= 0 {
		p.fail("BFF_LOGIN_LIMIT_PER_USER and BFF_LOGIN_LIMIT_PER_IP must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.fail("BFF_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel)
	}
	if c.RetentionInterval < time.Minute || c.RetentionInterval > 24*time.Hour {
		p.fail("BFF_RETENTION_INTERVAL: must be between 1m and 24h")
	}
	if len(c.DemoPassword) < 8 {
		p.fail("BFF_DEMO_PASSWORD: at least 8 characters")
	}
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// Usage writes the variable table for `bff -h`.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "bff: the 开工直通车 · 掌上办 mobile BFF")
	fmt.Fprintln(w, "\nUsage:\n  bff                 serve (configured by the environment below)\n  bff users add|disable|reset-password …   manage accounts (bff users -h)")
	fmt.Fprintln(w, "\nEnvironment:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, v := range Vars {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Default, v.Help)
	}
	tw.Flush()
}

// Names returns every variable name, sorted; tests use it to check that
// Usage and Parse agree.
func Names() []string {
	out := make([]string, 0, len(Vars))
	for _, v := range Vars {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}

type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) fail(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *parser) str(name, def string) string {
	if v, ok := p.lookup(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail("%s: %q is not a duration like 3s or 4h", name, s)
		return def
	}
	return d
}

func (p *parser) integer(name string, def int) int {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		p.fail("%s: %q is not a whole number", name, s)
		return def
	}
	return n
}

func (p *parser) boolean(name string, def bool) bool {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail("%s: %q is not true or false", name, s)
		return def
	}
	return b
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// day is a retention window's unit.
const day = 24 * time.Hour

// window parses a retention window: whole days ("30d"), any Go duration of
// at least an hour ("36h"), or 0 for "kept forever".
func (p *parser) window(name string, def time.Duration) time.Duration {
	s := p.str(name, "")
	switch {
	case s == "":
		return def
	case s == "0":
		return 0
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			p.fail("%s: %q is not a number of days like 30d", name, s)
			return def
		}
		d = time.Duration(days) * day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			p.fail("%s: %q is not a window like 30d or 36h (0: kept forever)", name, s)
			return def
		}
	}
	if d != 0 && d < time.Hour {
		p.fail("%s: a window under 1h would remove rows the service may still use; 0 keeps them forever", name)
		return def
	}
	return d
}
