package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/redisconn"
	"github.com/weifang/kaigong-zsb/internal/store"
)

const usersUsage = `Usage:
  bff users add -username NAME -role enterprise|agent [-display-name …]
                [-credit-code CODE -enterprise-name NAME] [-level town|county|city -region CODE]
  bff users disable -username NAME
  bff users reset-password -username NAME
Passwords are read from standard input (one line), never from arguments.`

// usersCommand provisions accounts in production, where no demo data exists.
func usersCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usersUsage)
	}
	fs := flag.NewFlagSet("users "+args[0], flag.ContinueOnError)
	username := fs.String("username", "", "account name")
	role := fs.String("role", "", "enterprise or agent")
	display := fs.String("display-name", "", "display name")
	credit := fs.String("credit-code", "", "enterprise credit code (18 characters)")
	entName := fs.String("enterprise-name", "", "enterprise name, when new")
	level := fs.String("level", "", "agent level")
	region := fs.String("region", "", "agent region code")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, usersUsage)
	}
	db, err := openForCommand(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	readPassword := func() (string, error) {
		fmt.Fprint(stdout, "password: ")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	revocations := func() (*auth.Revocations, func(), error) {
		if cfg.RedisURL == "" {
			return nil, nil, errors.New("REDIS_URL is needed to revoke the account's tokens")
		}
		rc, err := redisconn.Open(ctx, cfg.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		rev, err := auth.NewRevocations(rc.Client, cfg.RedisPrefix)
		if err != nil {
			rc.Close()
			return nil, nil, err
		}
		return rev, func() { rc.Close() }, nil
	}
	switch args[0] {
	case "add":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		u, err := auth.AddUser(ctx, db.DB, auth.NewUser{
			Username: *username, DisplayName: *display, Password: pw, Role: *role,
			EnterpriseCode: *credit, EnterpriseName: *entName, AgentLevel: *level, RegionCode: *region,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nadded %s (id %d, %s)\n", u.Username, u.ID, u.Role)
	case "disable":
		rev, closeRev, err := revocations()
		if err != nil {
			return err
		}
		defer closeRev()
		if _, err := auth.DisableUser(ctx, db.DB, rev, *username); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled %s; its tokens no longer work\n", *username)
	case "reset-password":
		rev, closeRev, err := revocations()
		if err != nil {
			return err
		}
		defer closeRev()
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if err := auth.ResetPassword(ctx, db.DB, rev, *username, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\npassword of %s reset; its tokens no longer work\n", *username)
	default:
		return fmt.Errorf("unknown users command %q\n%s", args[0], usersUsage)
	}
	return nil
}

// openForCommand opens the configured database for an operator command
// (users, outbox), its schema migrated as the server would, without
// logging its statements.
func openForCommand(ctx context.Context, url string) (*store.DB, error) {
	db, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}
