package models_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// TestCheckpointBoundsWAL: after many writes, a checkpoint leaves the
// write-ahead log below a bound, while the store keeps serving reads and
// writes. Before Checkpoint existed, SQLite's PASSIVE auto-checkpoints
// never shrank the file, so it kept the size of the largest burst.
func TestCheckpointBoundsWAL(t *testing.T) {
	t.Parallel()
	s := modelstest.Open(t)
	ctx := context.Background()
	for i := range 300 {
		// Large details, so the log grows by megabytes.
		e := &models.Event{Kind: models.EventAdminChange, Detail: strings.Repeat("x", 8000) + fmt.Sprint(i)}
		if err := s.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if modelstest.Postgres() {
		return // nothing to bound: PostgreSQL manages its own log
	}
	wal := modelstest.DatabaseOf(t, s).DSN + "-wal"
	fi, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	const bound = 64 << 10
	if fi.Size() > bound {
		t.Fatalf("write-ahead log is %d bytes after a checkpoint, want at most %d", fi.Size(), bound)
	}
	// The store still works after the checkpoint.
	if err := s.RecordEvent(ctx, &models.Event{Kind: models.EventLogout}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DailyEventCounts(ctx, models.EventAdminChange, 1, time.Now())
	if err != nil || n[0] != 300 {
		t.Fatalf("counts after checkpoint = %v, %v", n, err)
	}
}
