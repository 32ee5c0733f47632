package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

func TestHelpListsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range config.Names() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("bff -h does not list %s", name)
		}
	}
}

func TestProductionRefusesWithoutSecrets(t *testing.T) {
	t.Setenv("BFF_ENV", "production")
	var out bytes.Buffer
	err := run(context.Background(), nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "JWT_SIGNING_KEYS") {
		t.Fatalf("err = %v", err)
	}
}

func TestUsersCommand(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	_, prefix := testenv.Redis(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("REDIS_URL", testenv.RedisURL(t))
	t.Setenv("BFF_REDIS_PREFIX", prefix)
	t.Setenv("BFF_SEED_DEMO", "false")
	cfg, err := config.Parse(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	add := []string{"add", "-username", "ops-ent", "-role", "enterprise", "-credit-code", "91370700MA3OPS0001", "-enterprise-name", "运维测试公司"}
	if err := usersCommand(ctx, cfg, add, strings.NewReader("s3cret-pass\n"), &out); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var u models.User
	if err := db.Take(&u, "username = ?", "ops-ent").Error; err != nil {
		t.Fatal(err)
	}
	if ok, _ := auth.VerifyPassword(u.PasswordHash, "s3cret-pass"); !ok || strings.Contains(out.String(), "s3cret-pass") {
		t.Fatalf("password not set from stdin, or echoed: %q", out.String())
	}
	if err := usersCommand(ctx, cfg, []string{"reset-password", "-username", "ops-ent"}, strings.NewReader("another-pass\n"), &out); err != nil {
		t.Fatal(err)
	}
	db.Take(&u, "username = ?", "ops-ent")
	if ok, _ := auth.VerifyPassword(u.PasswordHash, "another-pass"); !ok {
		t.Fatal("reset-password did not change the password")
	}
	if err := usersCommand(ctx, cfg, []string{"disable", "-username", "ops-ent"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	db.Take(&u, "username = ?", "ops-ent")
	if !u.Disabled {
		t.Fatal("disable did not disable")
	}
	if err := usersCommand(ctx, cfg, []string{"add", "-username", "x", "-role", "agent"}, strings.NewReader("short\n"), &out); err == nil {
		t.Fatal("an invalid account was added")
	}
}
