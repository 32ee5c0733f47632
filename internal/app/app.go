// Package app wires the service from its configuration: it opens the
// database and Redis, builds every component with its dependencies, serves
// HTTP and runs the notification pipeline until told to stop, then shuts
// down in order. cmd/bff and the end-to-end tests use the same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"
	"github.com/weifang/kaigong-zsb/notify/push"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/bff"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/internal/projectview"
	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/redisconn"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify"
	"github.com/weifang/kaigong-zsb/notify/retention"
	"github.com/weifang/kaigong-zsb/notify/tasks"
)

// App is the wired service.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	DB       *store.DB
	Redis    *redisconn.Conn
	Bus      *localcache.Bus
	Tokens   *auth.Tokens
	Sink     *pushsink.Sink // the built-in push stand-ins, for every provider left unconfigured in development
	Push     *push.Router   // one sender per configured provider
	StandIns []string       // the providers other than FCM configured against Sink
	SinkURL  string
	Server   *bff.Server
	Views    *projectview.Views
	Pipeline *notify.Pipeline
	Tasks    *tasks.Service
	Pruner   *retention.Pruner
	registry *prometheus.Registry
	probe    *dependencyProbe

	// The built-in stand-ins' credentials and the keys made for them.
	sinkCreds      pushsink.Credentials
	harmonyAccount []byte
	apnsKey        []byte

	pprofSrv   *http.Server
	ln         net.Listener
	metricsLn  net.Listener
	metricsApp *fiber.App
	closers    []func() error
}

// Open builds the service and binds its listeners, but serves nothing until
// Run. On error everything opened so far is closed again.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if cfg.Env == config.EnvDevelopment {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if a.DB, err = store.Open(ctx, cfg.DatabaseURL, log); err == nil {
		err = a.DB.SetMaxConns(cfg.DBMaxConns)
	}
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.DB.Close)
	if err := a.DB.Migrate(ctx); err != nil {
		return nil, err
	}
	if a.Redis, err = redisconn.Open(ctx, cfg.RedisURL); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Redis.Close)
	// Hot Redis answers (token revocation checks, project views) are kept
	// in the process while this subscription to their invalidations holds.
	a.Bus = localcache.NewBus(a.Redis.Client, cfg.RedisPrefix, log)
	a.Bus.Start()
	a.closers = append(a.closers, a.Bus.Close)
	a.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "zsb_localcache_subscription_live",
			Help: "1 while the cache invalidation subscription is live (in-process caches trusted), else 0.",
		}, func() float64 {
			if a.Bus.Live() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zsb_localcache_invalidations_total",
			Help: "Cache invalidations received from other instances and this one over the subscription.",
		}, func() float64 { return float64(a.Bus.Received()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "zsb_localcache_subscription_changes_total",
			Help: "Times the invalidation subscription was gained or lost (each drops every in-process entry).",
		}, func() float64 { return float64(a.Bus.Resets()) }),
	)

	keys, err := a.signingKeys()
	if err != nil {
		return nil, err
	}
	a.Tokens, err = auth.NewTokens(auth.TokensConfig{
		Keys: keys, Redis: a.Redis.Client, Prefix: cfg.RedisPrefix,
		Issuer: "zsb-bff", Audience: "zsb-mobile", Users: auth.DBUserLookup(a.DB.DB), Bus: a.Bus,
	})
	if err != nil {
		return nil, err
	}
	login, err := auth.NewAuthenticator(auth.AuthenticatorConfig{
		DB: a.DB.DB, Tokens: a.Tokens, Redis: a.Redis.Client, Prefix: cfg.RedisPrefix,
		Limits: auth.LoginLimits{
			AccountFailures: cfg.LoginLimitPerUser, AccountWindow: 15 * time.Minute,
			IPAttempts: cfg.LoginLimitPerIP, IPWindow: time.Minute,
		},
	})
	if err != nil {
		return nil, err
	}
	sender, err := a.openPush(ctx)
	if err != nil {
		return nil, err
	}
	cat := models.DefaultCatalog()
	if cfg.CatalogFile != "" {
		if cat, err = models.LoadCatalogFile(cfg.CatalogFile); err != nil {
			return nil, err
		}
	}
	cal, err := workdays.New(nil)
	if cfg.HolidaysFile != "" {
		cal, err = workdays.NewFromFile(cfg.HolidaysFile)
	}
	if err != nil {
		return nil, err
	}
	if cfg.SeedDemo {
		if err := SeedDemo(ctx, a.DB, cat, cfg.DemoPassword, workdays.DateOf(time.Now())); err != nil {
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
		// Hashing the demo passwords (argon2id, 19 MiB each) leaves a heap
		// the service never needs again; hand it back before serving.
		debug.FreeOSMemory()
	}
	a.Views = projectview.New(a.DB, a.Redis.Client, cfg.RedisPrefix, cat, cal, nil, log)
	a.Views.UseBus(a.Bus)

	metrics, err := notify.NewMetrics(a.registry)
	if err != nil {
		return nil, err
	}
	nd := notify.Deps{
		DB: a.DB, Redis: a.Redis.Client, RedisPrefix: cfg.RedisPrefix, Sender: sender, Metrics: metrics, Log: log,
		Settings: notify.Settings{DigestWindow: cfg.DigestWindow},
	}
	if a.Pipeline, err = notify.NewPipeline(nd); err != nil {
		return nil, err
	}
	writeThrough := func(ctx context.Context, c intake.Applied) error {
		if c.Project != nil {
			return a.Views.RefreshFrom(ctx, *c.Project, c.States)
		}
		return a.Views.Refresh(ctx, c.ProjectID)
	}
	in, err := intake.New(intake.Config{DB: a.DB, Catalog: intake.CatalogOf(cat), Calendar: cal,
		Secrets: cfg.UpstreamWebhookSecrets, Log: log, Registerer: a.registry}, a.Pipeline, writeThrough)
	if err != nil {
		return nil, err
	}
	a.Tasks, err = tasks.New(tasks.Config{DB: a.DB, Redis: a.Redis.Client, RedisPrefix: cfg.RedisPrefix, Catalog: cat,
		Calendar: cal, Log: log, EscalateAfter: cfg.TaskEscalateAfter, WarnDays: cfg.DeadlineWarnDays}, a.Pipeline.Nudge)
	if err != nil {
		return nil, err
	}
	a.Pruner, err = retention.New(retention.Config{DB: a.DB, Redis: a.Redis.Client, RedisPrefix: cfg.RedisPrefix, Log: log,
		Interval: cfg.RetentionInterval, Pause: 50 * time.Millisecond, Registerer: a.registry, Windows: retention.Windows{
			EventBodies: cfg.RetentionEventBodies, Outbox: cfg.RetentionOutbox, Push: cfg.RetentionPush,
			Inbox: cfg.RetentionInbox, Warnings: cfg.RetentionWarnings}})
	if err != nil {
		return nil, err
	}
	if a.probe, err = newDependencyProbe(a.registry, a.DB, a.Redis.Client); err != nil {
		return nil, err
	}
	a.probe.once(ctx)

	a.Server = bff.New(bff.Deps{
		Log: log, DB: a.DB, Redis: a.Redis.Client, Registry: a.registry,
		Tokens: a.Tokens, Login: login, Views: a.Views, Intake: in, Tasks: a.Tasks, Push: a.Push,
		AccessLog: cfg.AccessLog, ProxyHeader: cfg.TrustedProxyHeader, ServeMetrics: cfg.MetricsAddr == "",
	})
	if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	if cfg.PprofAddr != "" {
		if err := a.startPprof(cfg.PprofAddr); err != nil {
			return nil, err
		}
	}
	if cfg.MetricsAddr != "" {
		if a.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.MetricsAddr, err)
		}
		a.metricsApp = fiber.New(fiber.Config{DisableStartupMessage: true})
		a.metricsApp.Get("/metrics", a.Server.MetricsHandler())
	}
	return a, nil
}

func (a *App) signingKeys() (auth.Keys, error) {
	if a.cfg.JWTSigningKeys != "" {
		return auth.ParseSigningKeys(a.cfg.JWTSigningKeys)
	}
	return auth.LoadOrCreateDevKeys(a.cfg.DataDir)
}

// startPprof serves Go's profiler on an ops-only address, for measuring
// where time goes under load; it is off unless BFF_PPROF_ADDR is set.
func (a *App) startPprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	a.pprofSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.pprofSrv.Serve(ln) }()
	a.closers = append(a.closers, a.pprofSrv.Close)
	a.log.Info("profiling enabled", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the API listens on (useful with BFF_ADDR=127.0.0.1:0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Run serves until ctx is cancelled, then shuts down in order: stop taking
// requests, drain the pipeline's workers, and leave Close to release Redis
// and the database.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Server.Serve(a.ln); err != nil {
			errc <- fmt.Errorf("serve: %w", err)
		}
	}()
	if a.metricsApp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.metricsApp.Listener(a.metricsLn); err != nil {
				errc <- fmt.Errorf("serve metrics: %w", err)
			}
		}()
	}
	// The retention pruner and the dependency probe run beside the
	// pipeline and stop with it; Run waits for them after the pipeline.
	var background sync.WaitGroup
	defer background.Wait()
	pipeCtx, stopPipeline := context.WithCancel(context.Background())
	defer stopPipeline()
	for _, run := range []func(context.Context){a.Pruner.Run, a.probe.run} {
		background.Add(1)
		go func() {
			defer background.Done()
			run(pipeCtx)
		}()
	}
	pipeDone := make(chan error, 1)
	go func() {
		tasksDone := make(chan struct{})
		go func() {
			defer close(tasksDone)
			a.Tasks.Run(pipeCtx)
		}()
		err := a.Pipeline.Run(pipeCtx)
		stopPipeline()
		<-tasksDone
		pipeDone <- err
	}()

	var runErr error
	pipeStopped := false
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	case err := <-pipeDone:
		pipeStopped = true
		runErr = fmt.Errorf("notification pipeline stopped early: %v", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.log.Info("shutting down: stopping intake")
	if err := a.Server.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if a.metricsApp != nil {
		_ = a.metricsApp.ShutdownWithContext(shutdownCtx)
	}
	wg.Wait()
	a.log.Info("shutting down: draining the notification pipeline")
	stopPipeline()
	if pipeStopped {
		return runErr
	}
	select {
	case err := <-pipeDone:
		if err != nil && !errors.Is(err, context.Canceled) {
			runErr = errors.Join(runErr, err)
		}
	case <-shutdownCtx.Done():
		runErr = errors.Join(runErr, errors.New("the notification pipeline did not drain in time"))
	}
	return runErr
}

// Close releases everything Open acquired, newest first.
func (a *App) Close() error {
	var err error
	for i := len(a.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, a.closers[i]())
	}
	a.closers = nil
	return err
}
