package models

import (
	"context"
	"time"
)

// DailyEventCounts counts the events of kind on each of the last days UTC
// days, today (the UTC day of now) included, oldest first. It reads the
// times of the matching events and buckets them here, so the SQL is the
// same on SQLite and PostgreSQL (no strftime or date()).
func (s *Store) DailyEventCounts(ctx context.Context, kind string, days int, now time.Time) ([]int64, error) {
	if days < 1 {
		return nil, nil
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	start := today.AddDate(0, 0, -(days - 1))
	end := today.AddDate(0, 0, 1)
	var times []time.Time
	err := s.rd.WithContext(ctx).Model(&Event{}).
		Where("kind = ? AND created_at >= ? AND created_at < ?", kind, start, end).
		Pluck("created_at", &times).Error
	if err != nil {
		return nil, notFound(err, "daily event counts")
	}
	counts := make([]int64, days)
	for _, t := range times {
		t = t.UTC()
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		// Whole days between start and day; AddDate-safe since UTC has no
		// daylight saving.
		i := int(day.Sub(start) / (24 * time.Hour))
		if i >= 0 && i < days {
			counts[i]++
		}
	}
	return counts, nil
}
