// Command fcmsink runs the local FCM HTTP v1 sink on its own, for drills and
// for pointing a BFF at it with FCM_ENDPOINT. It prints its base URL on the
// first line of standard output; the FCM endpoint is that URL plus "/v1".
// Control it over HTTP: GET/DELETE /_sink/messages, GET/POST/DELETE
// /_sink/faults.
//
// With -tls it serves FCM as FCM is served: TLS with HTTP/2, and, with
// -fcm-account, OAuth: it writes a service-account file whose token_uri is
// its own token endpoint, and from then on every send needs a token from
// there. A BFF reaches it over its real transport with
// FCM_CREDENTIALS_FILE set to that file and SSL_CERT_FILE to the -ca file.
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
	useTLS := fs.Bool("tls", false, "serve over TLS with HTTP/2, with a certificate from a CA made at start")
	caFile := fs.String("ca", "", "with -tls: write the CA certificate (PEM) here, for the client's SSL_CERT_FILE")
	accountFile := fs.String("fcm-account", "", "write an FCM service-account file here; sends then need its OAuth token")
	project := fs.String("project", "kaigong-local", "the Firebase project the -fcm-account file names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sink := pushsink.New(pushsink.Options{Logger: logger})
	start := sink.Start
	if *useTLS {
		start = sink.StartTLS
	}
	base, err := start(*addr)
	if err != nil {
		return err
	}
	if *caFile != "" {
		if !*useTLS {
			return fmt.Errorf("-ca needs -tls")
		}
		if err := os.WriteFile(*caFile, sink.CACertPEM(), 0o644); err != nil {
			return err
		}
	}
	if *accountFile != "" {
		account, err := sink.FCMServiceAccount(base, *project)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*accountFile, account, 0o600); err != nil {
			return err
		}
	}
	fmt.Println(base)
	logger.Info("fcmsink listening", "base_url", base, "fcm_endpoint", pushsink.Endpoint(base))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("fcmsink stopping")
	return sink.Close()
}
