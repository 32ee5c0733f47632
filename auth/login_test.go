package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

type loginEnv struct {
	*tokenEnv
	db   *gorm.DB
	auth *Authenticator
}

func newLoginEnv(t *testing.T, limits LoginLimits) *loginEnv {
	t.Helper()
	rdb, prefix := testRedis(t)
	db := testSQLite(t)
	tokens := newTokenEnvWith(t, rdb, prefix)
	tokens.tokens.users = DBUserLookup(db)
	a, err := NewAuthenticator(AuthenticatorConfig{DB: db, Tokens: tokens.tokens, Redis: rdb, Prefix: prefix, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return &loginEnv{tokenEnv: tokens, db: db, auth: a}
}

func (e *loginEnv) addUser(t *testing.T, username, password string) models.User {
	t.Helper()
	u, err := AddUser(context.Background(), e.db, NewUser{
		Username: username, Password: password, Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// generous keeps the rate limits out of the way of tests about credentials.
var generous = LoginLimits{AccountFailures: 100, AccountWindow: time.Minute, IPAttempts: 100, IPWindow: time.Minute}

func TestLogin(t *testing.T) {
	env := newLoginEnv(t, generous)
	ctx := context.Background()
	alice := env.addUser(t, "alice", "correct horse")
	bob := env.addUser(t, "bob", "correct horse")
	if _, err := DisableUser(ctx, env.db, env.tokens.rev, bob.Username); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, username, password string
		want                     models.Code
	}{
		{"right password", "alice", "correct horse", ""},
		{"username in other case and spaces", " Alice ", "correct horse", ""},
		{"wrong password", "alice", "wrong horse", models.CodeInvalidCredentials},
		{"empty password", "alice", "", models.CodeInvalidCredentials},
		{"unknown user", "mallory", "correct horse", models.CodeInvalidCredentials},
		{"empty username", "", "correct horse", models.CodeInvalidCredentials},
		{"overlong username", string(make([]byte, 500)), "correct horse", models.CodeInvalidCredentials},
		{"overlong password", "alice", string(make([]byte, MaxPasswordBytes+1)), models.CodeInvalidCredentials},
		{"disabled user, right password", "bob", "correct horse", models.CodeInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair, u, err := env.auth.Login(ctx, tt.username, tt.password, "192.0.2.1")
			wantCode(t, err, tt.want)
			if tt.want != "" {
				var me *models.Error
				if errors.As(err, &me) && me.Message != invalidCredentials().Message {
					t.Fatalf("message %q differs between failure kinds", me.Message)
				}
				return
			}
			if u.ID != alice.ID {
				t.Fatalf("logged in as %d, want %d", u.ID, alice.ID)
			}
			c, err := env.tokens.VerifyAccess(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.UserID != alice.ID || c.Role != models.RoleAgent {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func TestLoginRateLimitsAccounts(t *testing.T) {
	limits := LoginLimits{AccountFailures: 3, AccountWindow: 15 * time.Minute, IPAttempts: 1000, IPWindow: time.Minute}
	tests := []struct {
		name     string
		username string
	}{
		{"known user", "carol"},
		{"unknown user", "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLoginEnv(t, limits)
			ctx := context.Background()
			env.addUser(t, "carol", "correct horse")
			for i := range 3 {
				// Each failure comes from another address: the account
				// limit does not depend on where the guesses come from.
				ip := "198.51.100." + string(rune('1'+i))
				_, _, err := env.auth.Login(ctx, tt.username, "wrong guess", ip)
				wantCode(t, err, models.CodeInvalidCredentials)
			}
			for _, pw := range []string{"wrong guess", "correct horse"} {
				_, _, err := env.auth.Login(ctx, tt.username, pw, "203.0.113.9")
				wantCode(t, err, models.CodeRateLimited)
				var me *models.Error
				errors.As(err, &me)
				if me.RetryAfter < 1 || me.RetryAfter > 15*60 {
					t.Fatalf("RetryAfter = %d, want 1..900", me.RetryAfter)
				}
			}
			// Other accounts are not affected.
			_, _, err := env.auth.Login(ctx, "someone-else", "wrong guess", "203.0.113.9")
			wantCode(t, err, models.CodeInvalidCredentials)
		})
	}
}

func TestLoginSuccessResetsAccountFailures(t *testing.T) {
	env := newLoginEnv(t, LoginLimits{AccountFailures: 3, AccountWindow: 15 * time.Minute, IPAttempts: 1000, IPWindow: time.Minute})
	ctx := context.Background()
	env.addUser(t, "dave", "correct horse")
	attempt := func(pw string, want models.Code) {
		t.Helper()
		_, _, err := env.auth.Login(ctx, "dave", pw, "192.0.2.7")
		wantCode(t, err, want)
	}
	attempt("wrong", models.CodeInvalidCredentials)
	attempt("wrong", models.CodeInvalidCredentials)
	attempt("correct horse", "")
	attempt("wrong", models.CodeInvalidCredentials)
	attempt("wrong", models.CodeInvalidCredentials)
	attempt("correct horse", "")
}

func TestLoginRateLimitsAddresses(t *testing.T) {
	tests := []struct {
		name, first, second, other string
	}{
		{"IPv4", "192.0.2.10", "192.0.2.10", "192.0.2.11"},
		{"IPv6 counts per /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"},
		{"IPv4-mapped IPv6 is IPv4", "::ffff:192.0.2.20", "192.0.2.20", "192.0.2.21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLoginEnv(t, LoginLimits{AccountFailures: 100, AccountWindow: time.Minute, IPAttempts: 3, IPWindow: time.Minute})
			ctx := context.Background()
			env.addUser(t, "erin", "correct horse")
			// Successes count too: the limit is on attempts.
			for range 3 {
				if _, _, err := env.auth.Login(ctx, "erin", "correct horse", tt.first); err != nil {
					t.Fatal(err)
				}
			}
			for _, user := range []string{"erin", "unknown-user"} {
				_, _, err := env.auth.Login(ctx, user, "correct horse", tt.second)
				wantCode(t, err, models.CodeRateLimited)
				var me *models.Error
				errors.As(err, &me)
				if me.RetryAfter < 1 || me.RetryAfter > 60 {
					t.Fatalf("RetryAfter = %d, want 1..60", me.RetryAfter)
				}
			}
			if _, _, err := env.auth.Login(ctx, "erin", "correct horse", tt.other); err != nil {
				t.Fatalf("another address was limited too: %v", err)
			}
		})
	}
}

func TestLoginRefusesAccountChangedMeanwhile(t *testing.T) {
	// A password reset or a disable lands between the password check and the
	// issue of tokens: the second look at the row catches it.
	tests := []struct {
		name   string
		change func(ctx context.Context, db *gorm.DB, rev *Revocations) error
	}{
		{"password reset", func(ctx context.Context, db *gorm.DB, rev *Revocations) error {
			return ResetPassword(ctx, db, rev, "frank", "new password")
		}},
		{"disabled", func(ctx context.Context, db *gorm.DB, rev *Revocations) error {
			_, err := DisableUser(ctx, db, rev, "frank")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newLoginEnv(t, generous)
			ctx := context.Background()
			u := env.addUser(t, "frank", "correct horse")
			// The operator works through a handle of its own, without the
			// hook below.
			var path string
			if err := env.db.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path).Error; err != nil {
				t.Fatal(err)
			}
			operator := openSQLite(t, path)
			var once sync.Once
			err := env.db.Callback().Query().After("gorm:query").Register("test:change", func(db *gorm.DB) {
				if db.Statement.Table != "users" {
					return
				}
				once.Do(func() {
					if err := tt.change(ctx, operator, env.tokens.rev); err != nil {
						t.Errorf("change: %v", err)
					}
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = env.auth.Login(ctx, u.Username, "correct horse", "192.0.2.30")
			wantCode(t, err, models.CodeInvalidCredentials)
		})
	}
}

func TestNewAuthenticatorValidatesLimits(t *testing.T) {
	env := newLoginEnv(t, generous)
	tests := []struct {
		name   string
		limits LoginLimits
		want   models.Code
	}{
		{"zero means defaults", LoginLimits{}, ""},
		{"no account failures", LoginLimits{AccountFailures: 0, AccountWindow: time.Minute, IPAttempts: 1, IPWindow: time.Minute}, models.CodeValidationFailed},
		{"tiny window", LoginLimits{AccountFailures: 1, AccountWindow: time.Millisecond, IPAttempts: 1, IPWindow: time.Minute}, models.CodeValidationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAuthenticator(AuthenticatorConfig{DB: env.db, Tokens: env.tokens, Redis: env.rdb, Prefix: env.prefix, Limits: tt.limits})
			wantCode(t, err, tt.want)
		})
	}
}
