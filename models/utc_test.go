package models_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// TestSQLiteTimesRewrittenToUTC: opening a SQLite database rewrites times
// an older oidcd stored in a local zone to the same instants in UTC, so
// that SQLite's text comparison orders them; UTC values, NULLs and text
// that is no time are left alone, and a second start changes nothing.
func TestSQLiteTimesRewrittenToUTC(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "oidcd.db")
	key := modelstest.NewKey()
	open := func() *models.Store {
		s, err := models.Open(path, models.Options{SecretKey: key})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s := open()
	db := s.DB()
	rows := []struct{ id, stored, want string }{
		{"behind", "2030-01-02 07:30:00.25-05:00", "2030-01-02 12:30:00.25+00:00"},
		{"ahead", "2030-01-02 17:30:00+05:00", "2030-01-02 12:30:00+00:00"},
		{"iso", "2030-01-02T17:30:00.123456789+05:00", "2030-01-02 12:30:00.123456789+00:00"},
		{"no offset", "2030-01-02 12:30:00", "2030-01-02 12:30:00+00:00"},
		{"utc", "2030-01-02 12:30:00.5+00:00", "2030-01-02 12:30:00.5+00:00"},
		{"not a time", "soon", "soon"},
	}
	// Rows as a current oidcd stores them: under the hash of the id.
	for _, r := range rows {
		if err := db.Exec("INSERT INTO sessions (id, data, expires_at, created_at) VALUES (?, '', ?, NULL)", models.SessionKey(r.id), r.stored).Error; err != nil {
			t.Fatalf("insert %s: %v", r.id, err)
		}
	}
	// As an older oidcd left the database: the next start migrates it.
	modelstest.AsOlderOidcd(t, s)
	for range 2 {
		db = open().DB()
		for _, r := range rows {
			var got string
			if err := db.Raw("SELECT CAST(expires_at AS TEXT) FROM sessions WHERE id = ?", models.SessionKey(r.id)).Scan(&got).Error; err != nil {
				t.Fatalf("read %s: %v", r.id, err)
			}
			if got != r.want {
				t.Errorf("%s: expires_at = %q, want %q", r.id, got, r.want)
			}
		}
		var nulls int64
		if err := db.Raw("SELECT COUNT(*) FROM sessions WHERE created_at IS NULL").Scan(&nulls).Error; err != nil || nulls != int64(len(rows)) {
			t.Errorf("NULL created_at left: %d (%v), want %d", nulls, err, len(rows))
		}
	}
	// The rewritten times now compare in order: at 12:00 UTC the sessions
	// that expire at 12:30 UTC are live, whatever zone they were written in.
	s = open()
	noon := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"behind", "ahead", "iso", "utc"} {
		if _, err := s.SessionByID(context.Background(), id, noon); err != nil {
			t.Errorf("session %s at noon UTC: %v, want it live", id, err)
		}
		if _, err := s.SessionByID(context.Background(), id, noon.Add(time.Hour)); err == nil {
			t.Errorf("session %s at 13:00 UTC: live, want it expired", id)
		}
	}
}

// TestTimesInAnyZone: times a caller passes in any zone are stored and
// compared as the instants they are, on SQLite (where the driver binds
// them as UTC text) and PostgreSQL alike.
func TestTimesInAnyZone(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	behind, ahead := time.FixedZone("UTC-5", -5*3600), time.FixedZone("UTC+5", 5*3600)
	expires := time.Date(2030, 1, 2, 12, 30, 0, 0, time.UTC)
	if err := s.SaveSession(ctx, &models.Session{ID: "s", Data: "x", ExpiresAt: expires.In(behind)}); err != nil {
		t.Fatalf("save session: %v", err)
	}
	for _, tc := range []struct {
		now  time.Time
		live bool
	}{
		{expires.Add(-time.Minute).In(ahead), true},
		{expires.Add(-time.Minute).In(behind), true},
		{expires.Add(time.Minute).In(behind), false},
		{expires.Add(time.Minute).In(ahead), false},
	} {
		_, err := s.SessionByID(ctx, "s", tc.now)
		if live := err == nil; live != tc.live {
			t.Errorf("session expiring at %v, read at %v: live = %v (%v), want %v", expires, tc.now, live, err, tc.live)
		}
	}
	if s.DB().Dialector.Name() == "sqlite" {
		var text string
		if err := s.DB().Raw("SELECT CAST(expires_at AS TEXT) FROM sessions WHERE id = ?", models.SessionKey("s")).Scan(&text).Error; err != nil || text != "2030-01-02 12:30:00+00:00" {
			t.Errorf("stored expires_at = %q (%v), want 2030-01-02 12:30:00+00:00", text, err)
		}
	}
}
