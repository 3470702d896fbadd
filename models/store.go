package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the one way handlers reach the database.
type Store struct {
	db *gorm.DB
}

// Open connects to dsn and migrates the schema. A dsn that starts with
// postgres:// or postgresql:// selects PostgreSQL; anything else is a SQLite
// file path, whose folder is created. SQLite runs in WAL mode with foreign
// keys on, a busy timeout, and transactions that take the write lock when
// they begin, so concurrent writers queue instead of failing.
func Open(dsn string) (*Store, error) {
	var dialector gorm.Dialector
	isPostgres := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	if isPostgres {
		dialector = postgres.Open(dsn)
	} else {
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("models: create database folder: %w", err)
			}
		}
		dialector = sqlite.New(sqlite.Config{DriverName: utcSQLiteDriver(), DSN: "file:" + dsn + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL"})
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                                   logger.Discard,
		TranslateError:                           true,
		DisableForeignKeyConstraintWhenMigrating: false,
		// UTC, not GORM's local time: see utcTimes.
		NowFunc: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("models: open database: %w", err)
	}
	if !isPostgres {
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("models: open database: %w", err)
		}
		// One writer at a time is all SQLite allows; a small pool keeps
		// readers concurrent under WAL without piling up waiting writers.
		sqlDB.SetMaxOpenConns(8)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate() error {
	if err := s.db.AutoMigrate(allModels()...); err != nil {
		return fmt.Errorf("models: migrate: %w", err)
	}
	return s.utcTimes()
}

// Close releases the database connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: close: %w", err)
	}
	return sqlDB.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return sqlDB.PingContext(ctx)
}

// notFound turns gorm's record-not-found into ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: %s: %w", what, ErrConflict)
	}
	return fmt.Errorf("models: %s: %w", what, err)
}

// NewID returns a random, URL-safe identifier with 130 bits of entropy.
func NewID() string { return rand.Text() }

// HashPassword hashes a password with bcrypt. Passwords over 72 bytes are
// refused rather than silently truncated.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("models: hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when a username is unknown, so that a
// failed login takes as long whether or not the user exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)

// CheckPassword reports whether password matches the user's hash. A nil
// user still costs one bcrypt comparison.
func CheckPassword(u *User, password string) bool {
	if u == nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}

// DB is the underlying connection, for tests that count or prepare rows
// beside the server; application code goes through the Store's methods.
func (s *Store) DB() *gorm.DB { return s.db }
