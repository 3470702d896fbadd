package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// Write transactions and their prepared statements.
//
// gorm's PreparedStmt mode prepares a statement first seen inside a
// transaction on that *sql.Tx and keeps it as transaction-bound; binding it
// into the next transaction (Tx.StmtContext) prepares it again, so every
// statement of every write transaction was compiled anew each time. Here a
// statement is prepared on the writer's *sql.DB instead, which keeps it per
// connection, and bound into each transaction with Tx.StmtContext, which
// reuses what the transaction's connection has already prepared: on
// SQLite's single writer connection, once for the life of the process.

// maxTxStmts bounds the SQL texts stmtCache keeps; beyond it a statement
// is prepared for its transaction only, as before.
const maxTxStmts = 512

// stmtCache holds one *sql.Stmt per SQL text, prepared on the pool.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the pool's statement for query, or nil when it has none
// yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares queries on the pool, for the transactions to come. It
// runs after a transaction, never within one: on SQLite the transaction
// holds the writer's only connection, which the pool's prepare waits for.
// A query the cache has no room for is left out.
func (c *stmtCache) prepare(ctx context.Context, queries []string) error {
	for _, q := range queries {
		c.mu.Lock()
		_, ok := c.m[q]
		full := len(c.m) >= maxTxStmts
		c.mu.Unlock()
		if ok || full {
			continue
		}
		// database/sql prepares it again on each connection that first
		// runs it and keeps it there.
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok {
			_ = st.Close() // another transaction was quicker
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
	return nil
}

// txConn is the gorm connection pool of one write transaction: every
// statement is the cache's, bound to the transaction. It is a
// gorm.TxCommitter, so a nested gorm Transaction becomes a savepoint.
type txConn struct {
	tx    *sql.Tx
	stmts *stmtCache
	// missing are the queries the cache did not have, prepared for this
	// transaction alone and for the pool once it is over.
	missing []string
}

func (t *txConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmts.get(query); st != nil {
		// Closed with the transaction; the pool's statement stays.
		return t.tx.StmtContext(ctx, st), nil
	}
	if !slices.Contains(t.missing, query) {
		t.missing = append(t.missing, query)
	}
	return t.tx.PrepareContext(ctx, query)
}

func (t *txConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.stmt(ctx, query)
}

func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext cannot return its error but through the Row: a failed
// prepare runs the query unprepared, which reports the same error.
func (t *txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (t *txConn) Commit() error   { return t.tx.Commit() }
func (t *txConn) Rollback() error { return t.tx.Rollback() }

// transaction runs fn in one write transaction, as gorm's Transaction
// does (committed when fn returns nil, rolled back on an error or a
// panic), with its statements prepared once per connection (txConn).
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) (err error) {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("models: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	conn := &txConn{tx: sqlTx, stmts: s.writeStmts}
	defer func() {
		if len(conn.missing) > 0 && ctx.Err() == nil {
			_ = sqlTx.Rollback() // frees the connection; a no-op after Commit
			// Best effort: a statement not prepared now is next time.
			_ = s.writeStmts.prepare(ctx, conn.missing)
		}
	}()
	tx := s.db.WithContext(ctx)
	tx.Statement.ConnPool = conn
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return err
	}
	committed = true
	return nil
}
