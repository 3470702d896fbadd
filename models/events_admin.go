package models

import (
	"context"
	"time"
)

// EventFilter narrows the audit log. Empty fields do not filter; From is
// inclusive and Until exclusive.
type EventFilter struct {
	Kind     string
	Username string // contained in the username recorded or the user's current one, case-insensitively
	Client   string // contained in the client's client_id or name
	From     time.Time
	Until    time.Time
}

// EventRow is an event with the user and client it names, when there are
// and they still exist. Events such as token_issued record only the user's
// id, so UserName is how the row names its user.
type EventRow struct {
	Event
	UserName       string
	ClientPublicID string
	ClientName     string
}

// ListEvents returns a page of events matching f, newest first, and how
// many match in all. Users and clients are joined by id, with plain
// LEFT JOIN and LIKE that SQLite and PostgreSQL both run.
func (s *Store) ListEvents(ctx context.Context, f EventFilter, p Page) ([]EventRow, int64, error) {
	db := s.db.WithContext(ctx).Table("events").
		Joins("LEFT JOIN users ON users.id = events.user_id").
		Joins("LEFT JOIN clients ON clients.id = events.client_id")
	if f.Kind != "" {
		db = db.Where("events.kind = ?", f.Kind)
	}
	if f.Username != "" {
		pat := like(f.Username)
		db = db.Where(`(LOWER(events.username) LIKE ? ESCAPE '\' OR LOWER(users.username) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if f.Client != "" {
		pat := like(f.Client)
		db = db.Where(`(LOWER(clients.client_id) LIKE ? ESCAPE '\' OR LOWER(clients.name) LIKE ? ESCAPE '\')`, pat, pat)
	}
	// Times are compared in the zone GORM stores them in (time.Local), so
	// that SQLite's text timestamps compare in order.
	if !f.From.IsZero() {
		db = db.Where("events.created_at >= ?", f.From.Local())
	}
	if !f.Until.IsZero() {
		db = db.Where("events.created_at < ?", f.Until.Local())
	}
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return nil, 0, notFound(err, "count events")
	}
	var out []EventRow
	err := db.Select("events.*, COALESCE(NULLIF(events.username, ''), users.username, '') AS user_name, " +
		"COALESCE(clients.client_id, '') AS client_public_id, COALESCE(clients.name, '') AS client_name").
		Order("events.created_at DESC, events.id DESC").Offset(p.Offset).Limit(p.Limit).Scan(&out).Error
	if err != nil {
		return nil, 0, notFound(err, "list events")
	}
	return out, total, nil
}
