package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// dayLayout is how EventDay.Day writes a UTC day; it sorts as text in
// time order.
const dayLayout = "2006-01-02"

// eventDay is the EventDay.Day of an event created at t.
func eventDay(t time.Time) string { return t.UTC().Format(dayLayout) }

// eventDaysDone is the EventDay row (with an empty kind) that says the
// events recorded before the counts existed have been counted.
const eventDaysDone = "backfilled"

// DailyEventCounts counts the events of kind on each of the last days UTC
// days, today (the UTC day of now) included, oldest first. It reads the
// day counts (EventDay), at most one row a day, however many events there
// are.
func (s *Store) DailyEventCounts(ctx context.Context, kind string, days int, now time.Time) ([]int64, error) {
	if days < 1 {
		return nil, nil
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	start := today.AddDate(0, 0, -(days - 1))
	var rows []EventDay
	err := s.rd.WithContext(ctx).Where("kind = ? AND day >= ? AND day <= ?", kind, start.Format(dayLayout), today.Format(dayLayout)).
		Find(&rows).Error
	if err != nil {
		return nil, notFound(err, "daily event counts")
	}
	counts := make([]int64, days)
	for _, r := range rows {
		day, err := time.Parse(dayLayout, r.Day)
		if err != nil {
			continue
		}
		// Whole days between start and day; UTC has no daylight saving.
		if i := int(day.Sub(start) / (24 * time.Hour)); i >= 0 && i < days {
			counts[i] += r.N
		}
	}
	return counts, nil
}

// backfillBatch bounds the events one step of backfillEventDays reads.
const backfillBatch = 5000

// backfillEventDays counts the events recorded before the day counts
// existed: a migration (migrate), in its transaction. The marker row
// says an older oidcd, which counted on every start, did it already.
func backfillEventDays(tx *gorm.DB) error {
	res := tx.Exec("INSERT INTO event_days (day, kind, n) VALUES (?, '', 0) ON CONFLICT DO NOTHING", eventDaysDone)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	type key struct{ day, kind string }
	counts := map[key]int64{}
	var last uint
	for {
		var rows []struct {
			ID        uint
			Kind      string
			CreatedAt time.Time
		}
		if err := tx.Model(&Event{}).Select("id, kind, created_at").Where("id > ?", last).
			Order("id").Limit(backfillBatch).Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: count existing events by day: %w", err)
		}
		for _, r := range rows {
			counts[key{eventDay(r.CreatedAt), r.Kind}]++
			last = r.ID
		}
		if len(rows) < backfillBatch {
			break
		}
	}
	for k, n := range counts {
		if err := countEvents(tx, k.day, k.kind, n); err != nil {
			return fmt.Errorf("models: count existing events by day: %w", err)
		}
	}
	return nil
}
