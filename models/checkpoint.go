package models

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// walSizeLimit is SQLite's journal_size_limit: when the write-ahead log
// is reset after a complete checkpoint, a file larger than this is
// truncated to it, so one burst does not leave a large file behind.
const walSizeLimit = 16 << 20

// sqliteConnectHook sets, once per SQLite connection as it opens, the
// PRAGMAs mattn/go-sqlite3 has no DSN parameter for.
func sqliteConnectHook(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d; PRAGMA temp_store = MEMORY", walSizeLimit), nil)
	if err != nil {
		return fmt.Errorf("models: set connection pragmas: %w", err)
	}
	return nil
}

// Checkpoint copies SQLite's write-ahead log into the database file and
// truncates the log to zero bytes (wal_checkpoint(TRUNCATE)). SQLite's own
// automatic checkpoints are PASSIVE: under steady reads they seldom reach
// the end of the log, which then only grows until shutdown. Checkpoint
// runs on the writer's one connection with a short busy timeout, so it
// delays writes by at most that long: when readers or another process
// keep it from finishing, it gives up quietly and the next call tries
// again. On PostgreSQL it does nothing.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.db.Dialector.Name() != "sqlite" {
		return nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: checkpoint: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("models: checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 200"); err != nil {
		return fmt.Errorf("models: checkpoint: %w", err)
	}
	var busy, logFrames, moved int
	cerr := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &moved)
	// Back to the timeout every connection has (sqliteParams).
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = "+sqliteBusyTimeoutMS); err != nil {
		// A connection left with the short timeout would make its writers
		// fail early under contention: drop it instead.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("models: checkpoint: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("models: checkpoint: %w", cerr)
	}
	return nil
}
