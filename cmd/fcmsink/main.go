// Command fcmsink runs the local push sink on its own, for drills and for
// pointing a BFF at it: FCM (FCM_ENDPOINT is the base URL plus "/v1") and
// each vendor's stand-in under base URL + "/{vendor}" (huawei, harmony,
// honor, xiaomi, oppo, vivo, apns), accepting pushsink.DevCredentials. It
// prints its base URL on the first line of standard output.
//
// HarmonyOS and APNs authenticate with keys of their own: with -keys DIR,
// fcmsink generates a HarmonyOS service account and an APNs .p8 key, writes
// them to DIR/harmony-service-account.json and DIR/apns.p8 (for
// HARMONY_SERVICE_ACCOUNT_FILE and APNS_KEY_FILE) and accepts them; without
// it, those two stand-ins refuse every send.
//
// Control it over HTTP: GET/DELETE /_sink/messages, GET/POST/DELETE
// /_sink/faults (FCM); GET/DELETE /_sink/vendors/{vendor}/messages,
// POST/DELETE /_sink/vendors/{vendor}/faults, POST
// /_sink/vendors/{vendor}/expire-tokens (the vendors).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

// The files -keys writes.
const (
	harmonyAccountFile = "harmony-service-account.json"
	apnsKeyFile        = "apns.p8"
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
	keys := fs.String("keys", "", "directory to write a generated HarmonyOS service account ("+harmonyAccountFile+
		") and APNs key ("+apnsKeyFile+") to, which the stand-ins then accept")
	tokenTTL := fs.Duration("token-ttl", 0, "life of the vendors' access tokens (0: each vendor's own)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	creds := pushsink.DevCredentials()
	if *keys != "" {
		if err := writeKeys(*keys, &creds); err != nil {
			return err
		}
	}
	sink := pushsink.New(pushsink.Options{Logger: logger, Credentials: &creds, TokenTTL: *tokenTTL})
	base, err := sink.Start(*addr)
	if err != nil {
		return err
	}
	fmt.Println(base)
	attrs := []any{"base_url", base, "fcm_endpoint", pushsink.Endpoint(base)}
	for _, v := range pushsink.Vendors() {
		attrs = append(attrs, v, pushsink.VendorBase(base, v))
	}
	logger.Info("fcmsink listening", attrs...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("fcmsink stopping")
	return sink.Close()
}

// writeKeys generates the HarmonyOS service account and the APNs key into
// dir and fills creds' public halves.
func writeKeys(dir string, creds *pushsink.Credentials) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	account, err := pushsink.NewHarmonyServiceAccount(creds)
	if err != nil {
		return err
	}
	key, err := pushsink.NewAPNsKey(creds)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, harmonyAccountFile), account, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, apnsKeyFile), key, 0o600)
}
