package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// RecordEvent appends to the audit log.
func (s *Store) RecordEvent(ctx context.Context, e *Event) error {
	if err := s.db.WithContext(ctx).Create(e).Error; err != nil {
		return notFound(err, "record event")
	}
	return nil
}

// CountFailedLogins counts failed logins since the given time, for a
// username and from an address.
func (s *Store) CountFailedLogins(ctx context.Context, username, remoteIP string, since time.Time) (byUser, byIP int64, err error) {
	q := s.db.WithContext(ctx).Model(&Event{}).Where("kind = ? AND created_at > ?", EventLoginFailed, since)
	if err := q.Session(&gorm.Session{}).Where("username = ?", username).Count(&byUser).Error; err != nil {
		return 0, 0, notFound(err, "count failed logins")
	}
	if err := q.Session(&gorm.Session{}).Where("remote_ip = ?", remoteIP).Count(&byIP).Error; err != nil {
		return 0, 0, notFound(err, "count failed logins")
	}
	return byUser, byIP, nil
}
