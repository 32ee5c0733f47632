// Command bff is the 开工直通车 · 掌上办 mobile BFF. With no arguments it
// serves; `bff users …` manages accounts; `bff -h` lists every setting.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/app"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/logging"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bff:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "help":
			config.Usage(stdout)
			return nil
		case "users":
			cfg, err := config.Parse(os.LookupEnv)
			if err != nil {
				return err
			}
			return usersCommand(ctx, cfg, args[1:], os.Stdin, stdout)
		default:
			config.Usage(stderr)
			return fmt.Errorf("unknown command %q", args[0])
		}
	}
	cfg, err := config.Parse(os.LookupEnv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	// Log lines are written in batches (warnings and errors at once), so an
	// access log line per request does not cost a system call per request.
	logOut := logging.NewBufferedWriter(stderr, 64<<10, 200*time.Millisecond)
	defer logOut.Close()
	log := logging.New(logOut, cfg.LogLevel)
	// go-redis logs through a package-level logger of its own.
	redis.SetLogger(logging.RedisLogger{Log: log})
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	printWelcome(stdout, cfg, a)
	log.Info("serving", "addr", a.Addr(), "env", cfg.Env, "redis", a.Redis.Desc, "database", a.DB.Dialect)
	err = a.Run(ctx)
	if cerr := a.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// printWelcome tells a developer where to look after `make run`.
func printWelcome(w io.Writer, cfg config.Config, a *app.App) {
	base := "http://" + hostFor(a.Addr())
	fmt.Fprintf(w, "\n开工直通车 · 掌上办 BFF (%s)\n", cfg.Env)
	fmt.Fprintf(w, "  API        %s/v1\n", base)
	fmt.Fprintf(w, "  docs       %s/docs   (spec: %s/openapi.yaml)\n", base, base)
	fmt.Fprintf(w, "  health     %s/healthz  %s/readyz  metrics %s/metrics\n", base, base, base)
	fmt.Fprintf(w, "  database   %s    redis  %s\n", a.DB.Dialect, a.Redis.Desc)
	if a.SinkURL != "" {
		fmt.Fprintf(w, "  push       %s/_sink/messages   (FCM pushes land here)\n", a.SinkURL)
		for _, p := range a.StandIns {
			fmt.Fprintf(w, "  %-10s %s/_sink/vendors/%s/messages\n", p, a.SinkURL, p)
		}
	}
	if cfg.SeedDemo {
		fmt.Fprintf(w, "  demo       ent-demo, ent-other, agent-town, agent-county, agent-city  (password from BFF_DEMO_PASSWORD)\n")
		fmt.Fprintf(w, "  try        curl -s %s/v1/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"ent-demo\",\"password\":\"…\"}'\n", base)
	}
	fmt.Fprintln(w)
}

func hostFor(addr string) string {
	if strings.HasPrefix(addr, "[::]:") {
		return "127.0.0.1:" + strings.TrimPrefix(addr, "[::]:")
	}
	if strings.HasPrefix(addr, "0.0.0.0:") {
		return "127.0.0.1:" + strings.TrimPrefix(addr, "0.0.0.0:")
	}
	return addr
}
