package auth

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// AuthenticatorConfig holds what an Authenticator needs.
type AuthenticatorConfig struct {
	// DB holds the users table.
	DB *gorm.DB
	// Tokens issues the pair of a successful login.
	Tokens *Tokens
	// Redis keeps the rate-limit counters; Prefix starts every key.
	Redis  redis.UniversalClient
	Prefix string
	// Limits defaults to DefaultLoginLimits when zero.
	Limits LoginLimits
	// MaxConcurrentHashes bounds password checks running at once (each
	// holds 19 MiB); it defaults to GOMAXPROCS.
	MaxConcurrentHashes int
}

// Authenticator logs users in by username and password.
type Authenticator struct {
	db      *gorm.DB
	tokens  *Tokens
	account counter
	address counter
	slots   chan struct{}
	// compare checks a password against a PHC hash: VerifyPassword, which
	// costs tens of milliseconds and 19 MiB. Every password check of a
	// login, the dummy one for an unknown user included, goes through it.
	compare func(hash, password string) (bool, error)
}

// NewAuthenticator checks cfg and returns an Authenticator.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	if cfg.DB == nil || cfg.Tokens == nil || cfg.Redis == nil {
		return nil, internal("auth: the authenticator needs a database, tokens and Redis", nil)
	}
	if err := checkPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if cfg.Limits == (LoginLimits{}) {
		cfg.Limits = DefaultLoginLimits()
	}
	if err := cfg.Limits.validate(); err != nil {
		return nil, err
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	return &Authenticator{
		db:      cfg.DB,
		tokens:  cfg.Tokens,
		account: counter{rdb: cfg.Redis, prefix: cfg.Prefix + "auth:rl:acct:", window: cfg.Limits.AccountWindow, limit: cfg.Limits.AccountFailures},
		address: counter{rdb: cfg.Redis, prefix: cfg.Prefix + "auth:rl:ip:", window: cfg.Limits.IPWindow, limit: cfg.Limits.IPAttempts},
		slots:   make(chan struct{}, cfg.MaxConcurrentHashes),
		compare: VerifyPassword,
	}, nil
}

// Login checks username and password and returns a new token pair and the
// user. A wrong password, an unknown username and a disabled account all
// answer invalid_credentials, after the same work; too many attempts from
// clientIP, or too many attempts for the username, answer rate_limited with
// RetryAfter set. Usernames are matched case-insensitively.
//
// The attempt is counted against the account before the password is
// checked (see LoginLimits.AccountFailures): an attempt over the limit is
// refused without a check, so the limit bounds the checks an attacker gets
// however many guesses run at once. It is given back only when no check was
// made (the user could not be loaded, or the request ended while waiting for
// a hashing slot); a success forgives the attempts counted up to its own.
func (a *Authenticator) Login(ctx context.Context, username, password, clientIP string) (Pair, models.User, error) {
	name := strings.ToLower(strings.TrimSpace(username))
	acct := accountBucket(name)
	if _, err := a.address.take(ctx, addressBucket(clientIP)); err != nil {
		return Pair{}, models.User{}, err
	}
	nth, err := a.account.take(ctx, acct)
	if err != nil {
		return Pair{}, models.User{}, err
	}

	var user models.User
	found := false
	if len(name) <= maxUsernameLen {
		err := a.db.WithContext(ctx).Where("username = ?", name).Take(&user).Error
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, gorm.ErrRecordNotFound):
			a.giveBack(ctx, acct)
			return Pair{}, models.User{}, internal("cannot load the user", err)
		}
	}

	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		a.giveBack(ctx, acct)
		return Pair{}, models.User{}, &models.Error{Code: models.CodeUnavailable, Message: "login was cancelled", Err: ctx.Err()}
	}
	match, err := a.checkPassword(found, user.PasswordHash, password)
	if err != nil {
		return Pair{}, models.User{}, err
	}
	if !found || !match || user.Disabled {
		return Pair{}, models.User{}, invalidCredentials()
	}

	if err := a.account.forgive(ctx, acct, nth); err != nil {
		return Pair{}, models.User{}, err
	}
	pair, err := a.tokens.Issue(ctx, user)
	if err != nil {
		return Pair{}, models.User{}, err
	}
	// The account may have been disabled or its password reset while the
	// password was being checked. Issue read the user's token generation
	// before this second look, so a change not seen here is followed by a
	// RevokeUser that ends the pair just issued.
	var now models.User
	err = a.db.WithContext(ctx).Select("id", "password_hash", "disabled").Where("id = ?", user.ID).Take(&now).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && (now.Disabled || now.PasswordHash != user.PasswordHash) {
		return Pair{}, models.User{}, invalidCredentials()
	}
	if err != nil {
		return Pair{}, models.User{}, internal("cannot load the user", err)
	}
	return pair, user, nil
}

// checkPassword verifies password against hash, or against the dummy hash
// when the user was not found, so both take the same time. The caller has
// taken a slot (each check holds 19 MiB and a core for tens of
// milliseconds); checkPassword gives it back, even if the check panics.
func (a *Authenticator) checkPassword(found bool, hash, password string) (bool, error) {
	defer func() { <-a.slots }()
	if !found || len(password) > MaxPasswordBytes {
		_, _ = a.compare(dummyHash(), password)
		return false, nil
	}
	return a.compare(hash, password)
}

// giveBack uncounts an account attempt that ended before its password was
// checked. It runs even when ctx has ended; if Redis does not answer, the
// attempt stays counted, which errs on the safe side.
func (a *Authenticator) giveBack(ctx context.Context, acct string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = a.account.forgive(ctx, acct, 1)
}
