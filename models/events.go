package models

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Column sizes of Event's bounded fields.
const (
	eventKindSize     = 40
	eventUsernameSize = 150
	eventRemoteIPSize = 64
)

// RecordEvent appends to the audit log. Every text is made storable
// first (valid UTF-8, no NUL, within its column), since a username or
// detail can come straight from a client: nothing a client sends may make
// the audit write fail.
func (s *Store) RecordEvent(ctx context.Context, e *Event) error {
	ctx, cancel := landing(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error { return recordEvent(tx, e) })
	if err != nil {
		return notFound(err, "record event")
	}
	return nil
}

// recordEvent inserts e within tx, the transaction of the change it
// describes where there is one, and counts it in its day (EventDay).
func recordEvent(tx *gorm.DB, e *Event) error {
	e.Kind = boundText(e.Kind, eventKindSize)
	e.Username = boundText(e.Username, eventUsernameSize)
	e.RemoteIP = boundText(e.RemoteIP, eventRemoteIPSize)
	e.Detail, e.Target = cleanText(e.Detail), cleanText(e.Target)
	e.Before, e.After = cleanText(e.Before), cleanText(e.After)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = tx.NowFunc()
	}
	err := scanOne(tx.Raw(insertEventSQL, e.Kind, e.Username, e.UserID, e.ClientID, e.RemoteIP, e.Detail,
		e.Target, e.Before, e.After, e.CreatedAt), &e.ID)
	if err != nil {
		return err
	}
	return countEvents(tx, eventDay(e.CreatedAt), e.Kind, 1)
}

// insertEventSQL stores an event and returns its id.
const insertEventSQL = `INSERT INTO events (kind, username, user_id, client_id, remote_ip, detail, target, "before", "after", created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// countEvents adds n to the count of kind on day. INSERT … ON CONFLICT DO
// UPDATE runs on SQLite (3.24 and later) and PostgreSQL alike.
func countEvents(tx *gorm.DB, day, kind string, n int64) error {
	return tx.Exec(`INSERT INTO event_days (day, kind, n) VALUES (?, ?, ?)
		ON CONFLICT (day, kind) DO UPDATE SET n = event_days.n + excluded.n`, day, kind, n).Error
}

// boundText makes s storable in a column of size bytes (and characters)
// whatever a client sent: invalid UTF-8 and NUL (which PostgreSQL refuses
// in text) become U+FFFD, and an over-long value is cut at a character
// boundary and marked with an ellipsis.
func boundText(s string, size int) string {
	s = cleanText(s)
	if len(s) <= size {
		return s
	}
	const ellipsis = "…"
	cut := size - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// cleanText is s as valid UTF-8 without NUL.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// landingTimeout bounds a write that records what already happened.
const landingTimeout = 5 * time.Second

// landing is ctx without its cancellation, bounded by landingTimeout, for
// writes that record what has already happened: an audit event, a
// counted attempt, an attempt given back. A client that hangs up (which
// cancels its request's context) must not be able to erase its trail or
// dodge a throttle by doing so.
func landing(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), landingTimeout)
}
