package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/notify"
)

const outboxUsage = `Usage:
  bff outbox list [-limit N]       the outbox's dead letters, oldest first
  bff outbox redrive -id N[,N…]    give the named dead letters back to the relay
  bff outbox redrive -all          give every dead letter back to the relay
A dead letter is an outbox entry whose relays ran out before it was processed:
its notices are in nobody's inbox. A running BFF relays a re-driven entry
within a second, with a fresh budget of relays; fix the cause first.`

// outboxCommand lets operators see and re-drive the outbox's dead letters.
func outboxCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(outboxUsage)
	}
	fs := flag.NewFlagSet("outbox "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	limit := fs.Int("limit", 100, "list at most this many")
	ids := fs.String("id", "", "comma-separated outbox entry ids")
	all := fs.Bool("all", false, "every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, outboxUsage)
	}
	var named []int64
	for _, s := range strings.Split(*ids, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("-id: %q is not an outbox entry id\n%s", s, outboxUsage)
		}
		named = append(named, id)
	}
	switch args[0] {
	case "list":
	case "redrive":
		if (len(named) == 0) == !*all {
			return fmt.Errorf("redrive needs -id or -all (not both)\n%s", outboxUsage)
		}
	default:
		return fmt.Errorf("unknown outbox command %q\n%s", args[0], outboxUsage)
	}
	db, err := openForCommand(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "list" {
		return listDeadLetters(ctx, db, *limit, stdout)
	}
	n, err := notify.Redrive(ctx, db, named)
	if err != nil {
		return err
	}
	if *all {
		fmt.Fprintf(stdout, "re-drove %d dead letter(s)\n", n)
		return nil
	}
	fmt.Fprintf(stdout, "re-drove %d of %d named entries", n, len(named))
	if n < int64(len(named)) {
		fmt.Fprint(stdout, " (the others are not dead letters: processed, unknown, or still being relayed)")
	}
	fmt.Fprintln(stdout)
	return nil
}

func listDeadLetters(ctx context.Context, db *store.DB, limit int, w io.Writer) error {
	total, err := notify.CountDeadLetters(ctx, db)
	if err != nil {
		return err
	}
	rows, err := notify.ListDeadLetters(ctx, db, 0, max(limit, 1))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "dead letters: %d", total)
	if int64(len(rows)) < total {
		fmt.Fprintf(w, " (the oldest %d shown)", len(rows))
	}
	fmt.Fprintln(w)
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPROJECT\tEVENT\tRELAYS\tCREATED\tDEAD SINCE")
	stamp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range rows {
		created := r.CreatedAt
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Kind, r.ProjectID, r.EventID, r.Attempts, stamp(&created), stamp(r.DeadAt))
	}
	return tw.Flush()
}
