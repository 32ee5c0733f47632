// Command fcmsink runs the local FCM HTTP v1 sink on its own, for drills and
// for pointing a BFF at it with FCM_ENDPOINT. It prints its base URL on the
// first line of standard output; the FCM endpoint is that URL plus "/v1".
// Control it over HTTP: GET/DELETE /_sink/messages, GET/POST/DELETE
// /_sink/faults.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fcmsink:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fcmsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9099", "listen address (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log every received message (tokens appear only as a short hash)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sink := pushsink.New(pushsink.Options{Logger: logger})
	base, err := sink.Start(*addr)
	if err != nil {
		return err
	}
	fmt.Println(base)
	logger.Info("fcmsink listening", "base_url", base, "fcm_endpoint", pushsink.Endpoint(base))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("fcmsink stopping")
	return sink.Close()
}
