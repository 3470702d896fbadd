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
	db  *gorm.DB
	box *secretBox
	// passwordCost is the bcrypt cost of new password hashes; dummyHash
	// is a hash at that cost, compared against for unknown usernames;
	// passwords bounds how many bcrypt evaluations run at once.
	passwordCost int
	dummyHash    []byte
	passwords    *passwordLimiter
}

// Options configure Open.
type Options struct {
	// SecretKey is the key-encryption key (SecretKeySize bytes) that seals
	// the cookie keys and private signing keys the database keeps. It is
	// never stored in the database; a database opened with another key
	// refuses to start (ErrWrongSecretKey).
	SecretKey []byte
	// PreviousSecretKeys still open values sealed before a rotation; Open
	// seals them again under SecretKey.
	PreviousSecretKeys [][]byte
	// PasswordCost is the bcrypt cost of new password hashes; zero means
	// bcrypt.DefaultCost. Tests lower it to bcrypt.MinCost: a stored
	// hash carries its own cost, so only new hashes are affected.
	PasswordCost int
	// PasswordSlots is how many bcrypt evaluations may run at once; zero
	// means half the cores (at least one). PasswordWait is how long a
	// password check waits for a slot before ErrBusy; zero means
	// DefaultPasswordWait.
	PasswordSlots int
	PasswordWait  time.Duration
}

// Open connects to dsn and migrates the schema. A dsn that starts with
// postgres:// or postgresql:// selects PostgreSQL; anything else is a SQLite
// file path, whose folder is created. SQLite runs in WAL mode with foreign
// keys on, a busy timeout, and transactions that take the write lock when
// they begin, so concurrent writers queue instead of failing. Open then
// checks opts.SecretKey against the database and migrates older rows to
// what is kept at rest now (sealAtRest).
func Open(dsn string, opts Options) (*Store, error) {
	box, err := newSecretBox(opts.SecretKey, opts.PreviousSecretKeys)
	if err != nil {
		return nil, err
	}
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
	cost := opts.PasswordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		_ = sqlClose(db)
		return nil, fmt.Errorf("models: password cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	s := &Store{db: db, box: box, passwordCost: cost, dummyHash: dummyHash(cost),
		passwords: newPasswordLimiter(opts.PasswordSlots, opts.PasswordWait)}
	if err := s.migrate(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.sealAtRest(); err != nil {
		_ = s.Close()
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

func sqlClose(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
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

// DB is the underlying connection, for tests that count or prepare rows
// beside the server; application code goes through the Store's methods.
func (s *Store) DB() *gorm.DB { return s.db }
