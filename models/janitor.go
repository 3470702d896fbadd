package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Removed counts the rows one janitor pass deleted, by kind.
type Removed struct {
	AuthRequests, Sessions, Codes, Tokens, Events, Throttles int64
	// SessionClients are back-channel logout records of sessions that
	// are gone.
	SessionClients int64
}

// Total is every row removed.
func (r Removed) Total() int64 {
	return r.AuthRequests + r.Sessions + r.Codes + r.Tokens + r.Events + r.Throttles + r.SessionClients
}

// janitorBatch bounds one DELETE, so that no pass holds SQLite's write
// lock or a PostgreSQL transaction for long; janitorMaxBatches bounds one
// pass, and the next pass carries on where it stopped.
const (
	janitorBatch      = 1000
	janitorMaxBatches = 1000
)

// janitorRule is what the janitor deletes from one table: rows matching
// cond, whose arguments are taken at the pass's time.
type janitorRule struct {
	table string
	cond  string
	args  func(now, eventsBefore time.Time) []any
	count func(*Removed) *int64
}

var janitorRules = []janitorRule{
	// Parked requests the user never finished (AuthRequestByID no longer
	// finds them).
	{"auth_requests", "expires_at <= ?", func(now, _ time.Time) []any { return []any{now} },
		func(r *Removed) *int64 { return &r.AuthRequests }},
	{"sessions", "expires_at <= ?", func(now, _ time.Time) []any { return []any{now} },
		func(r *Removed) *int64 { return &r.Sessions }},
	// What sessions touched (back-channel logout), once the session is
	// gone: expired above, or replaced at a new login. An ended session
	// took its rows with it.
	{"session_clients", "NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.id = session_clients.session_key)",
		func(time.Time, time.Time) []any { return nil },
		func(r *Removed) *int64 { return &r.SessionClients }},
	// A token row goes once its access token and its refresh token have
	// both expired. A rotated or revoked refresh token stays until then:
	// presenting it again is reuse, which revokes its family (RFC 9700
	// §4.14.2), and that needs the row.
	{"tokens", "expires_at <= ? AND (refresh_expires_at IS NULL OR refresh_expires_at <= ?)",
		func(now, _ time.Time) []any { return []any{now, now} },
		func(r *Removed) *int64 { return &r.Tokens }},
	// Codes past their expiry. A used one stays while a token it issued
	// does, so that replaying it still revokes that token (RFC 6749
	// §4.1.2); tokens go first, so such codes follow in the same pass.
	{"codes", "expires_at <= ? AND (used_at IS NULL OR NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.code_id = codes.id))",
		func(now, _ time.Time) []any { return []any{now} },
		func(r *Removed) *int64 { return &r.Codes }},
	{"events", "created_at < ?", func(_, before time.Time) []any { return []any{before} },
		func(r *Removed) *int64 { return &r.Events }},
	// Throttles that no longer lock or count anything (Throttle.ExpiresAt,
	// in Unix milliseconds); spraying random usernames makes many.
	{"throttles", "expires_at <= ?", func(now, _ time.Time) []any { return []any{now.UnixMilli()} },
		func(r *Removed) *int64 { return &r.Throttles }},
}

// Cleanup deletes what has expired at now: parked authorization requests,
// sessions, codes, tokens whose access and refresh lifetimes have both
// passed, and audit events older than eventsBefore. It deletes in bounded
// batches with plain conditional DELETEs, so several instances may run it
// at once: a row two of them pick is deleted once. A table that fails
// (say, a PostgreSQL deadlock between two instances) does not stop the
// others; what was removed is counted either way, and the next pass
// retries.
func (s *Store) Cleanup(ctx context.Context, now, eventsBefore time.Time) (Removed, error) {
	now, eventsBefore = now.UTC(), eventsBefore.UTC()
	var r Removed
	var errs []error
	for _, rule := range janitorRules {
		// The subquery picks one batch by primary key; LIMIT in a DELETE
		// itself is not portable.
		q := fmt.Sprintf("DELETE FROM %[1]s WHERE id IN (SELECT id FROM %[1]s WHERE %[2]s LIMIT %[3]d)",
			rule.table, rule.cond, janitorBatch)
		for range janitorMaxBatches {
			if ctx.Err() != nil {
				return r, errors.Join(append(errs, fmt.Errorf("models: clean up: %w", ctx.Err()))...)
			}
			res := s.db.WithContext(ctx).Exec(q, rule.args(now, eventsBefore)...)
			if res.Error != nil {
				errs = append(errs, fmt.Errorf("models: clean up %s: %w", rule.table, res.Error))
				break
			}
			*rule.count(&r) += res.RowsAffected
			if res.RowsAffected < janitorBatch {
				break
			}
		}
	}
	return r, errors.Join(errs...)
}
