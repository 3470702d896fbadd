package models

import (
	"context"
	"time"
)

// EventFilter narrows the audit log. Empty fields do not filter; From is
// inclusive and Until exclusive.
type EventFilter struct {
	Kind string
	// Username is contained, case-insensitively, in the username recorded,
	// the user's current one, or the user an admin change was made to.
	Username string
	// Client is contained in the client's client_id or name, or in those of
	// the client an admin change was made to.
	Client string
	From   time.Time
	Until  time.Time
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
// many match in all. Users and clients are joined by id, and admin
// changes matched by their target too, with plain LEFT JOIN, LIKE and ||
// that SQLite and PostgreSQL both run.
func (s *Store) ListEvents(ctx context.Context, f EventFilter, p Page) ([]EventRow, int64, error) {
	db := s.rd.WithContext(ctx).Table("events").
		Joins("LEFT JOIN users ON users.id = events.user_id").
		Joins("LEFT JOIN clients ON clients.id = events.client_id")
	if f.Kind != "" {
		db = db.Where("events.kind = ?", f.Kind)
	}
	// An admin change records its admin as the event's user, and what it
	// changed in Target: "user <username>", "client <client_id>", or a
	// grant "... of user <username>" with the grant's client as the
	// event's client. Client_ids and usernames (as the admin site checks
	// them) hold no spaces, so these patterns match the named user or
	// client and nothing else; matching the text also finds changes to
	// users and clients since deleted.
	if f.Username != "" {
		pat := like(f.Username)
		db = db.Where(`(LOWER(events.username) LIKE ? ESCAPE '\' OR LOWER(users.username) LIKE ? ESCAPE '\'`+
			` OR (events.kind = ? AND (LOWER(events.target) LIKE ? ESCAPE '\' OR LOWER(events.target) LIKE ? ESCAPE '\')))`,
			pat, pat, EventAdminChange, "user "+pat, "% user "+pat)
	}
	if f.Client != "" {
		pat := like(f.Client)
		db = db.Where(`(LOWER(clients.client_id) LIKE ? ESCAPE '\' OR LOWER(clients.name) LIKE ? ESCAPE '\'`+
			` OR (events.kind = ? AND (LOWER(events.target) LIKE ? ESCAPE '\'`+
			` OR events.target IN (SELECT 'client ' || tc.client_id FROM clients tc WHERE LOWER(tc.name) LIKE ? ESCAPE '\'))))`,
			pat, pat, EventAdminChange, "client "+pat, pat)
	}
	// Times are compared in UTC, the zone they are stored in, so that
	// SQLite's text timestamps compare in order.
	if !f.From.IsZero() {
		db = db.Where("events.created_at >= ?", f.From.UTC())
	}
	if !f.Until.IsZero() {
		db = db.Where("events.created_at < ?", f.Until.UTC())
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
