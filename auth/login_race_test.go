package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// raceEnv is an Authenticator on the real backends (testenv: a private
// PostgreSQL schema and Redis key prefix) whose password checks are counted.
type raceEnv struct {
	auth   *Authenticator
	env    *tokenEnv
	checks atomic.Int64
}

func newRaceEnv(t *testing.T, limits LoginLimits) *raceEnv {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	db := testenv.Gorm(t)
	tokens := newTokenEnvWith(t, rdb, prefix)
	tokens.tokens.users = DBUserLookup(db)
	a, err := NewAuthenticator(AuthenticatorConfig{DB: db, Tokens: tokens.tokens, Redis: rdb, Prefix: prefix,
		Limits: limits, MaxConcurrentHashes: 8})
	if err != nil {
		t.Fatal(err)
	}
	e := &raceEnv{auth: a, env: tokens}
	a.compare = func(hash, password string) (bool, error) {
		e.checks.Add(1)
		return VerifyPassword(hash, password)
	}
	if _, err := AddUser(context.Background(), db, NewUser{
		Username: "grace", Password: "correct horse", Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702",
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// guess runs n wrong logins for username at once, each from its own address
// (the per-address limit stays out of the way), and counts the answers.
func (e *raceEnv) guess(t *testing.T, username string, n int) map[models.Code]int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[models.Code]int{}
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := e.auth.Login(context.Background(), username, fmt.Sprintf("guess %d", i), fmt.Sprintf("198.51.100.%d", i+1))
			mu.Lock()
			defer mu.Unlock()
			codes[models.ErrorCode(err)]++
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func TestLoginAccountLimitHoldsUnderConcurrency(t *testing.T) {
	limits := DefaultLoginLimits()
	for _, username := range []string{"grace", "nobody"} {
		t.Run(username, func(t *testing.T) {
			e := newRaceEnv(t, limits)
			codes := e.guess(t, username, 50)
			if got := e.checks.Load(); got > int64(limits.AccountFailures) {
				t.Fatalf("50 parallel wrong guesses ran %d password checks; the account limit is %d (answers: %v)",
					got, limits.AccountFailures, codes)
			}
			if codes[models.CodeInvalidCredentials] > limits.AccountFailures ||
				codes[models.CodeInvalidCredentials]+codes[models.CodeRateLimited] != 50 {
				t.Fatalf("answers = %v, want at most %d invalid_credentials and the rest rate_limited", codes, limits.AccountFailures)
			}
			// The right password is refused too until the window ends, and
			// costs no check.
			before := e.checks.Load()
			_, _, err := e.auth.Login(context.Background(), username, "correct horse", "203.0.113.1")
			wantCode(t, err, models.CodeRateLimited)
			if e.checks.Load() != before {
				t.Fatal("a login refused by the account limit still checked the password")
			}
		})
	}
}

func TestLoginSuccessForgivesOnlyEarlierAttempts(t *testing.T) {
	// Wrong guesses that run while the owner's login is being checked are
	// counted after it: the owner's success does not forgive them.
	limits := LoginLimits{AccountFailures: 3, AccountWindow: 15 * time.Minute, IPAttempts: 1000, IPWindow: time.Minute}
	e := newRaceEnv(t, limits)
	ctx := context.Background()
	var during []models.Code
	var once sync.Once
	a := e.auth
	a.compare = func(hash, password string) (bool, error) {
		if password == "correct horse" {
			once.Do(func() {
				for i := range 3 {
					_, _, err := a.Login(ctx, "grace", "wrong", fmt.Sprintf("198.51.100.%d", i+1))
					during = append(during, models.ErrorCode(err))
				}
			})
		}
		return VerifyPassword(hash, password)
	}
	if _, _, err := a.Login(ctx, "grace", "correct horse", "192.0.2.1"); err != nil {
		t.Fatalf("owner's login: %v", err)
	}
	want := []models.Code{models.CodeInvalidCredentials, models.CodeInvalidCredentials, models.CodeRateLimited}
	if fmt.Sprint(during) != fmt.Sprint(want) {
		t.Fatalf("guesses during the owner's login answered %v, want %v", during, want)
	}
	_, _, err := a.Login(ctx, "grace", "wrong", "198.51.100.9")
	wantCode(t, err, models.CodeRateLimited)
}

func TestLoginGivesBackAnAttemptNotChecked(t *testing.T) {
	// A login that ends while waiting for a hashing slot made no check, so
	// it does not count against the account.
	limits := LoginLimits{AccountFailures: 1, AccountWindow: 15 * time.Minute, IPAttempts: 1000, IPWindow: time.Minute}
	e := newRaceEnv(t, limits)
	for range cap(e.auth.slots) {
		e.auth.slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := e.auth.Login(ctx, "grace", "wrong", "192.0.2.1")
	wantCode(t, err, models.CodeUnavailable)
	for range cap(e.auth.slots) {
		<-e.auth.slots
	}
	if e.checks.Load() != 0 {
		t.Fatal("a password was checked")
	}
	_, _, err = e.auth.Login(context.Background(), "grace", "wrong", "192.0.2.1")
	wantCode(t, err, models.CodeInvalidCredentials)
	_, _, err = e.auth.Login(context.Background(), "grace", "correct horse", "192.0.2.1")
	wantCode(t, err, models.CodeRateLimited)
}
