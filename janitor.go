package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"oidcd/models"
)

// The janitor's schedule in serve: one pass shortly after start, then one
// every janitorEvery. Instances need not take turns: a pass is plain
// conditional DELETEs, safe to run at once on several.
const (
	janitorFirst = time.Minute
	janitorEvery = 10 * time.Minute
)

// runJanitor deletes what has expired at now() (models.Store.Cleanup)
// after first and then every every, until ctx ends. It logs how many rows
// of each kind it removed, never what they held.
func runJanitor(ctx context.Context, store *models.Store, retention time.Duration, log *slog.Logger,
	now func() time.Time, first, every time.Duration) {
	repeat(ctx, first, every, func(ctx context.Context) bool {
		at := now().UTC()
		removed, err := store.Cleanup(ctx, at, at.Add(-retention))
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "janitor", "err", err)
		}
		if removed.Total() > 0 {
			log.InfoContext(ctx, "janitor removed expired rows", removedAttrs(removed)...)
		}
		return false
	})
}

// checkpointEvery is how often serve checkpoints SQLite's write-ahead log
// (models.Store.Checkpoint), which bounds the log to what is written in
// that time.
const checkpointEvery = 30 * time.Second

// runCheckpoints checkpoints the write-ahead log every every until ctx
// ends. A checkpoint that readers keep from finishing is retried next
// time; a failure is logged.
func runCheckpoints(ctx context.Context, store *models.Store, log *slog.Logger, every time.Duration) {
	repeat(ctx, every, every, func(ctx context.Context) bool {
		if err := store.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "checkpoint", "err", err)
		}
		return false
	})
}

func removedAttrs(r models.Removed) []any {
	return []any{"auth_requests", r.AuthRequests, "sessions", r.Sessions, "codes", r.Codes,
		"tokens", r.Tokens, "events", r.Events, "throttles", r.Throttles, "session_clients", r.SessionClients}
}

// cmdCleanup is `oidcd cleanup`: one janitor pass, with the same settings
// serve uses, printing what it removed.
func cmdCleanup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, db := newFlagSet("cleanup", "[--db PATH]", getenv, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, store, err := openWithConfig(*db, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	r, err := store.Cleanup(ctx, now, now.Add(-cfg.EventRetention))
	days := "days"
	if cfg.EventRetention == 24*time.Hour {
		days = "day"
	}
	fmt.Fprintf(stdout, "removed expired rows:\n  auth requests  %d\n  sessions       %d\n  codes          %d\n  tokens         %d\n  throttles      %d\n"+
		"removed audit events older than %d %s: %d\n",
		r.AuthRequests, r.Sessions, r.Codes, r.Tokens, r.Throttles, int(cfg.EventRetention/(24*time.Hour)), days, r.Events)
	return err
}
