// Package store opens the relational database (PostgreSQL in production,
// pure-Go SQLite for development) and migrates its schema. Queries live with
// the packages that own them; this package only knows how to connect.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/weifang/kaigong-zsb/models"
)

// DB wraps the gorm handle with what the rest of the service needs to know
// about the backend.
type DB struct {
	*gorm.DB
	// Dialect is "postgres" or "sqlite".
	Dialect string
}

// Open connects to the database named by rawURL: postgres://… (any libpq
// URL; a search_path query parameter selects a schema) or sqlite:///path.
// It does not migrate.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                                   newGormLogger(log),
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
	}
	var (
		db      *gorm.DB
		dialect string
		err     error
	)
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dialect = "postgres"
		db, err = gorm.Open(postgres.New(postgres.Config{DSN: rawURL}), cfg)
	case strings.HasPrefix(rawURL, "sqlite://"):
		dialect = "sqlite"
		// sqlite:///relative/path and sqlite:////absolute/path, as in most
		// database URL conventions.
		path := strings.TrimPrefix(rawURL, "sqlite:///")
		if path == "" || path == rawURL {
			return nil, errors.New("store: sqlite URL must look like sqlite:///relative/path or sqlite:////absolute/path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", filepath.Dir(path), err)
		}
		// WAL lets readers run beside the one writer; immediate transactions
		// take the write lock up front so two writers wait instead of failing
		// on a lock upgrade.
		dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		db, err = gorm.Open(sqlite.Open(dsn), cfg)
	default:
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres:// or sqlite://)")
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == "postgres" {
		// As many idle connections kept as may be open: with fewer, a burst
		// beyond the idle count closes connections on release and opens new
		// ones (a PostgreSQL backend start each) moments later. Idle ones
		// are shed after a few minutes instead.
		sqlDB.SetMaxOpenConns(24)
		sqlDB.SetMaxIdleConns(24)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	} else {
		sqlDB.SetMaxOpenConns(4)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: ping %s: %w", dialect, err)
	}
	return &DB{DB: db, Dialect: dialect}, nil
}

// migrationLockID is the PostgreSQL advisory lock that serialises migrations
// of several instances starting at once.
const migrationLockID = 7_370_702_001

// Migrate creates or updates every table. It is safe to run any number of
// times, and from several instances at once on PostgreSQL.
func (d *DB) Migrate(ctx context.Context) error {
	db := d.WithContext(ctx)
	if d.Dialect == "postgres" {
		return db.Connection(func(conn *gorm.DB) error {
			if err := conn.Exec("SELECT pg_advisory_lock(?)", migrationLockID).Error; err != nil {
				return fmt.Errorf("store: migration lock: %w", err)
			}
			defer conn.Exec("SELECT pg_advisory_unlock(?)", migrationLockID)
			return migrate(conn)
		})
	}
	return migrate(db)
}

func migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(models.AllModels()...); err != nil {
		return err
	}
	if err := migrateRetention(db); err != nil {
		return err
	}
	// Users whose notices predate the unread counters get theirs counted
	// once; a user with a counter keeps it.
	return db.Exec(`INSERT INTO inbox_counters (user_id, unread)
SELECT user_id, COUNT(*) FROM notifications WHERE read_at IS NULL GROUP BY user_id
ON CONFLICT (user_id) DO NOTHING`).Error
}

// AddUnread moves userID's unread count by delta, in tx (the transaction
// that stores or marks the notices), and returns the count after it.
func AddUnread(tx *gorm.DB, userID, delta int64) (int64, error) {
	var n int64
	err := tx.Raw(`INSERT INTO inbox_counters (user_id, unread) VALUES (?, ?)
ON CONFLICT (user_id) DO UPDATE SET unread = inbox_counters.unread + excluded.unread
RETURNING unread`, userID, delta).Scan(&n).Error
	return max(n, 0), err
}

// Unread is userID's unread count (0 for a user who never had a notice).
func Unread(tx *gorm.DB, userID int64) (int64, error) {
	var n []int64
	if err := tx.Model(&models.InboxCounter{}).Where("user_id = ?", userID).Limit(1).Pluck("unread", &n).Error; err != nil {
		return 0, err
	}
	if len(n) == 0 {
		return 0, nil
	}
	return max(n[0], 0), nil
}

// SkipLocked adds FOR UPDATE SKIP LOCKED to q on PostgreSQL, so concurrent
// instances take disjoint rows; SQLite serialises writers anyway.
func (d *DB) SkipLocked(q *gorm.DB) *gorm.DB {
	if d.Dialect == "postgres" {
		return q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	return q
}

// Ping checks that the database answers; /readyz uses it.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// SetMaxConns bounds the PostgreSQL connection pool at n (24 unless set);
// SQLite keeps its own bound.
func (d *DB) SetMaxConns(n int) error {
	if d.Dialect != "postgres" || n <= 0 {
		return nil
	}
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return nil
}

// Close closes the connection pool.
func (d *DB) Close() error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

type gormLogger struct {
	log *slog.Logger
}

func newGormLogger(log *slog.Logger) logger.Interface {
	if log == nil {
		return logger.Discard
	}
	return gormLogger{log: log}
}

func (g gormLogger) LogMode(logger.LogLevel) logger.Interface { return g }
func (g gormLogger) Info(ctx context.Context, msg string, args ...any) {
	g.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}
func (g gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	g.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}
func (g gormLogger) Error(ctx context.Context, msg string, args ...any) {
	g.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

// Trace logs slow queries and unexpected errors. It never logs SQL text:
// gorm inlines bound values there, and those can be secrets.
func (g gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, gorm.ErrDuplicatedKey) && !errors.Is(err, context.Canceled):
		_, rows := fc()
		g.log.WarnContext(ctx, "query failed", "err", err, "elapsed_ms", elapsed.Milliseconds(), "rows", rows)
	case elapsed > 500*time.Millisecond:
		_, rows := fc()
		g.log.WarnContext(ctx, "slow query", "elapsed_ms", elapsed.Milliseconds(), "rows", rows)
	}
}

// migrateRetention adds what dead letters and the retention pruner need:
// the outbox's dead-letter marker, and indexes that let the pruner find
// rows past their window without scanning a table (the same statement on
// PostgreSQL and SQLite). Events keep their rows (the timeline, the
// idempotency key); only bodies not yet cleared are indexed.
func migrateRetention(db *gorm.DB) error {
	if err := db.AutoMigrate(&models.OutboxDeadLetter{}); err != nil {
		return err
	}
	for _, stmt := range []string{
		`CREATE INDEX IF NOT EXISTS idx_events_body_received ON events (received_at) WHERE payload <> ''`,
		`CREATE INDEX IF NOT EXISTS idx_notifications_created ON notifications (created_at)`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}
