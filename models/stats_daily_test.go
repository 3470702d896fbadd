package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// countFromEvents is what the dashboard computed before the day counts:
// every event of kind in the window, read and bucketed by UTC day.
func countFromEvents(t *testing.T, s *models.Store, kind string, days int, now time.Time) []int64 {
	t.Helper()
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	start := today.AddDate(0, 0, -(days - 1))
	var times []time.Time
	if err := s.DB().Model(&models.Event{}).Where("kind = ? AND created_at >= ? AND created_at < ?", kind, start, today.AddDate(0, 0, 1)).
		Pluck("created_at", &times).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]int64, days)
	for _, tm := range times {
		tm = tm.UTC()
		if i := int(time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC).Sub(start) / (24 * time.Hour)); i >= 0 && i < days {
			out[i]++
		}
	}
	return out
}

// TestDailyEventCountsMatchEvents: with many events over three weeks,
// some recorded before the day counts existed (inserted behind the
// store's back, then counted when the store opens), the charts' numbers
// are those counted from the events themselves; opening again counts
// nothing twice; and the janitor's retention, deleting old events, leaves
// the 14-day charts as they were.
func TestDailyEventCountsMatchEvents(t *testing.T) {
	t.Parallel()
	db := modelstest.New(t)
	s := db.Open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	kinds := []string{models.EventLoginSucceeded, models.EventTokenIssued, models.EventLoginFailed}
	// Recorded through the store (counted as they are recorded).
	for i := range 300 {
		at := now.Add(-time.Duration(i) * 97 * time.Minute) // about 20 days back
		if err := s.RecordEvent(ctx, &models.Event{Kind: kinds[i%len(kinds)], CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	const days = 14
	for _, k := range kinds {
		if got, want := mustDaily(t, s, k, days, now), countFromEvents(t, s, k, days, now); !slices.Equal(got, want) {
			t.Fatalf("%s: day counts %v, events say %v", k, got, want)
		}
	}
	// Events an older oidcd recorded, without day counts.
	var old []models.Event
	for i := range 2000 {
		old = append(old, models.Event{Kind: kinds[i%len(kinds)], CreatedAt: now.Add(-time.Duration(i) * 13 * time.Minute)})
	}
	if err := s.DB().CreateInBatches(&old, 200).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec("DELETE FROM event_days").Error; err != nil {
		t.Fatal(err)
	}
	modelstest.AsOlderOidcd(t, s)
	s2 := db.Open(t) // an upgraded oidcd starting on the database
	want := map[string][]int64{}
	for _, k := range kinds {
		want[k] = countFromEvents(t, s2, k, days, now)
		if got := mustDaily(t, s2, k, days, now); !slices.Equal(got, want[k]) {
			t.Fatalf("%s after counting older events: %v, events say %v", k, got, want[k])
		}
	}
	s3 := db.Open(t) // and again: nothing counted twice
	for _, k := range kinds {
		if got := mustDaily(t, s3, k, days, now); !slices.Equal(got, want[k]) {
			t.Fatalf("%s after a second start: %v, want %v", k, got, want[k])
		}
	}
	// A one-day retention deletes most events, not the charts.
	removed, err := s3.Cleanup(ctx, now, now.Add(-24*time.Hour))
	if err != nil || removed.Events == 0 {
		t.Fatalf("cleanup: %+v, %v", removed, err)
	}
	for _, k := range kinds {
		if got := mustDaily(t, s3, k, days, now); !slices.Equal(got, want[k]) {
			t.Fatalf("%s after the janitor: %v, want %v", k, got, want[k])
		}
	}
}

func mustDaily(t *testing.T, s *models.Store, kind string, days int, now time.Time) []int64 {
	t.Helper()
	got, err := s.DailyEventCounts(context.Background(), kind, days, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
