package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the one way handlers reach the database.
type Store struct {
	// db is the writer: every write and every transaction. On SQLite it is
	// a pool of one connection, so writers queue in Go (database/sql's
	// pool) rather than sleeping in SQLite's busy handler, which retries
	// on a fixed back-off however soon the lock frees. rd serves plain
	// reads: on SQLite a pool of its own on the same file (WAL lets it
	// read beside the writer), on PostgreSQL the same pool as db.
	db, rd *gorm.DB
	// sqlDBs are the pools to close (one on PostgreSQL, two on SQLite).
	sqlDBs []*sql.DB
	// writer is db's pool; writeStmts its statements, prepared once per
	// connection for write transactions (transaction).
	writer     *sql.DB
	writeStmts *stmtCache
	box        *secretBox
	// clientGen counts client writes through this Store (ClientCache).
	clientGen atomic.Uint64
	// scopeGen counts custom scope writes through this Store (ScopeCache).
	scopeGen atomic.Uint64
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
	// SQLLogger, when set, sees every statement the store runs, from
	// Open's first on (GORM's logger); nil discards them.
	SQLLogger logger.Interface
}

// Open connects to dsn and runs the migrations the database has not had
// yet (migrate: on an up-to-date database, one SELECT). A dsn that starts with
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
	isPostgres := IsPostgres(dsn)
	var db, rd *gorm.DB
	var pools []*sql.DB
	if isPostgres {
		db, err = openGorm(postgres.Open(dsn), opts.SQLLogger)
		if err != nil {
			return nil, err
		}
		rd = db
		sqlDB, _ := db.DB()
		pools = []*sql.DB{sqlDB}
		// Idle connections kept as many as the readers that use them, so
		// a burst does not close and reopen connections.
		sqlDB.SetMaxIdleConns(readerConns())
	} else {
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("models: create database folder: %w", err)
			}
		}
		// The writer first: it sets WAL mode, which is kept in the file.
		// Setting it needs the file to itself, and SQLite answers "database
		// is locked" at once, without waiting, while another process is
		// opening or migrating a fresh file: then it is tried again, for as
		// long as a lock is waited for.
		writerDSN := "file:" + dsn + "?" + sqliteParams + "&_cache_size=" + sqliteWriterCacheKiB + "&_journal_mode=WAL&_txlock=immediate"
		for deadline := time.Now().Add(sqliteBusyTimeout); ; {
			db, err = openGorm(sqlite.New(sqlite.Config{DriverName: utcSQLiteDriver(), DSN: writerDSN}), opts.SQLLogger)
			var serr sqlite3.Error
			if err == nil || !errors.As(err, &serr) || serr.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			return nil, err
		}
		writer, _ := db.DB()
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		writer.SetConnMaxIdleTime(0)
		writer.SetConnMaxLifetime(0)
		pools = append(pools, writer)
		// query_only: a write sent to the reader by mistake fails at once
		// instead of racing the writer for the lock.
		rd, err = openGorm(sqlite.New(sqlite.Config{DriverName: utcSQLiteDriver(),
			DSN: "file:" + dsn + "?" + sqliteParams + "&_cache_size=" + sqliteReaderCacheKiB + "&_query_only=1"}), opts.SQLLogger)
		if err != nil {
			_ = writer.Close()
			return nil, err
		}
		reader, _ := rd.DB()
		n := readerConns()
		reader.SetMaxOpenConns(n)
		reader.SetMaxIdleConns(n)
		reader.SetConnMaxIdleTime(0)
		reader.SetConnMaxLifetime(0)
		pools = append(pools, reader)
	}
	closeAll := func() {
		for _, p := range pools {
			_ = p.Close()
		}
	}
	cost := opts.PasswordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		closeAll()
		return nil, fmt.Errorf("models: password cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	s := &Store{db: db, rd: rd, sqlDBs: pools, writer: pools[0], writeStmts: newStmtCache(pools[0]),
		box: box, passwordCost: cost, dummyHash: dummyHash(cost),
		passwords: newPasswordLimiter(opts.PasswordSlots, opts.PasswordWait)}
	if err := s.migrate(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.sealAtRest(); err != nil {
		_ = s.Close()
		return nil, err
	}
	// Prepared statements from here on, not during the migration: a
	// statement PostgreSQL prepared before an ALTER TABLE would fail with
	// "cached plan must not change result type". gorm keeps one per SQL
	// text and connection (PrepareStmtMaxSize bounds them).
	s.db = s.db.Session(&gorm.Session{PrepareStmt: true})
	if isPostgres {
		s.rd = s.db
	} else {
		s.rd = s.rd.Session(&gorm.Session{PrepareStmt: true})
	}
	return s, nil
}

// sqliteParams are the PRAGMAs every SQLite connection gets once, when it
// opens (mattn/go-sqlite3 runs them; sqliteConnectHook adds the rest):
// foreign keys enforced, a busy timeout for what still contends (another
// process on the file, a checkpoint), and synchronous=NORMAL, which in WAL
// mode stays consistent after a crash and loses at most the last
// transactions on power loss.
const sqliteParams = "_foreign_keys=on&_busy_timeout=" + sqliteBusyTimeoutMS + "&_synchronous=NORMAL"

// The page cache of each connection, in negative KiB. The writer keeps
// 8 MiB: only it writes, so what it caches stays valid, and an insert
// finds the index pages it needs there. A reader's cache is emptied
// whenever another connection has written since its last read (WAL), so
// under load it rarely holds more than one transaction's pages: readers
// keep SQLite's default 2 MiB, and the OS's file cache serves the rest.
// Each is malloc'd memory of the process, times the pool size.
const (
	sqliteWriterCacheKiB = "-8000"
	sqliteReaderCacheKiB = "-2000"
)

// readerConns is the size of the read pool: open and idle alike, so that
// connections (and their PRAGMAs and prepared statements) are kept.
func readerConns() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

func openGorm(d gorm.Dialector, log logger.Interface) (*gorm.DB, error) {
	if log == nil {
		log = logger.Discard
	}
	db, err := gorm.Open(d, &gorm.Config{
		Logger:                                   log,
		TranslateError:                           true,
		DisableForeignKeyConstraintWhenMigrating: false,
		// UTC, not GORM's local time: see utcTimes.
		NowFunc:            func() time.Time { return time.Now().UTC() },
		PrepareStmtMaxSize: 512,
		// A single INSERT, UPDATE or DELETE is atomic by itself: without
		// gorm's default transaction around it, it costs no BEGIN and
		// COMMIT. Writes of more than one statement use Transaction.
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, fmt.Errorf("models: open database: %w", err)
	}
	return db, nil
}

// Close releases the database connections.
func (s *Store) Close() error {
	var errs []error
	for _, p := range s.sqlDBs {
		if err := p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("models: close: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers. It asks the read pool, which
// reaches the same database without queueing behind SQLite's writer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDBs[len(s.sqlDBs)-1].PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return nil
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

// DB is the underlying connection (the writer), for tests that count or prepare rows
// beside the server; application code goes through the Store's methods.
func (s *Store) DB() *gorm.DB { return s.db }

// ReadDB is the connection plain reads go to (the same as DB on
// PostgreSQL): for /metrics' pool statistics and for tests that watch
// the statements the store runs.
func (s *Store) ReadDB() *gorm.DB { return s.rd }

// IsPostgres reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// sqliteBusyTimeoutMS is how long a SQLite connection waits for a lock,
// in milliseconds: every connection's setting, which Checkpoint restores.
const sqliteBusyTimeoutMS = "10000"

// sqliteBusyTimeout is sqliteBusyTimeoutMS as a duration.
const sqliteBusyTimeout = 10 * time.Second
