package models

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// Sessions are stored under the SHA-256 of their id (sessionKey): every
// method here takes the id the cookie carries and hashes it, so a copy of
// the table names no live session.

// SessionByID finds an unexpired session. The Session returned carries
// the id it was asked for, not the stored hash.
func (s *Store) SessionByID(ctx context.Context, id string, now time.Time) (*Session, error) {
	var sess Session
	err := s.rd.WithContext(ctx).Where("id = ? AND expires_at > ?", SessionKey(id), now).Take(&sess).Error
	if err != nil {
		return nil, notFound(err, "session by id")
	}
	sess.ID = id
	return &sess, nil
}

// SaveSession inserts or replaces a session.
func (s *Store) SaveSession(ctx context.Context, sess *Session) error {
	row := *sess
	row.ID = SessionKey(sess.ID)
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"user_id", "data", "expires_at", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return notFound(err, "save session")
	}
	sess.CreatedAt, sess.UpdatedAt = row.CreatedAt, row.UpdatedAt
	return nil
}

// DeleteSession removes a session; a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&Session{}, "id = ?", SessionKey(id)).Error; err != nil {
		return notFound(err, "delete session")
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID uint) error {
	if err := s.db.WithContext(ctx).Delete(&Session{}, "user_id = ?", userID).Error; err != nil {
		return notFound(err, "delete user sessions")
	}
	return nil
}
