package models

import (
	"context"
	"strconv"
	"strings"
)

// SecurityEventKinds are the kinds of event the dashboard reports as
// security events: the attacks oidcd defends against, throttled logins,
// failed client authentication and client revocations. Changes to the
// signing keys are admin changes whose target is a signing key
// (SecurityEvents reads them too).
var SecurityEventKinds = []string{
	EventCodeReplay, EventRefreshReuse, EventLoginThrottled, EventClientAuthFailed, EventTokenRevoked,
}

// keyEventTarget begins the target of an admin change to a signing key
// (RotateSigningKeys, the admin site's retire).
const keyEventTarget = "signing key "

// IsKeyEvent reports whether e records a change to a signing key.
func (e *Event) IsKeyEvent() bool {
	return e.Kind == EventAdminChange && strings.HasPrefix(e.Target, keyEventTarget)
}

// SecurityEvents returns the n latest security events (SecurityEventKinds
// and changes to signing keys), newest first, with the user and client
// they name, in one statement. Each kind is read through its own
// (kind, created_at) index entries, at most n of them, so the cost does
// not grow with the audit log; signing key changes are read among the
// admin changes, which an admin makes by hand.
func (s *Store) SecurityEvents(ctx context.Context, n int) ([]EventRow, error) {
	const cols = "id, kind, username, user_id, client_id, remote_ip, detail, target, created_at"
	var parts []string
	var args []any
	for _, kind := range SecurityEventKinds {
		parts = append(parts, "SELECT * FROM (SELECT "+cols+" FROM events WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?) k"+strconv.Itoa(len(parts)))
		args = append(args, kind, n)
	}
	parts = append(parts, "SELECT * FROM (SELECT "+cols+" FROM events WHERE kind = ? AND target LIKE ? ORDER BY created_at DESC, id DESC LIMIT ?) k"+strconv.Itoa(len(parts)))
	args = append(args, EventAdminChange, keyEventTarget+"%", n, n)
	q := "SELECT e.*, COALESCE(NULLIF(e.username, ''), users.username, '') AS user_name, " +
		"COALESCE(clients.client_id, '') AS client_public_id, COALESCE(clients.name, '') AS client_name " +
		"FROM (" + strings.Join(parts, " UNION ALL ") + ") e " +
		"LEFT JOIN users ON users.id = e.user_id LEFT JOIN clients ON clients.id = e.client_id " +
		"ORDER BY e.created_at DESC, e.id DESC LIMIT ?"
	var out []EventRow
	if err := s.rd.WithContext(ctx).Raw(q, args...).Scan(&out).Error; err != nil {
		return nil, notFound(err, "security events")
	}
	return out, nil
}
