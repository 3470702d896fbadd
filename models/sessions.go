package models

import (
	"context"
	"time"
)

// Sessions are stored under the SHA-256 of their id (sessionKey): every
// method here takes the id the cookie carries and hashes it, so a copy of
// the table names no live session.

// SessionByID finds an unexpired session. The Session returned carries
// the id it was asked for, not the stored hash.
func (s *Store) SessionByID(ctx context.Context, id string, now time.Time) (*Session, error) {
	var sess Session
	err := scanOne(s.rd.WithContext(ctx).Raw("SELECT user_id, data, expires_at, created_at, updated_at FROM sessions WHERE id = ? AND expires_at > ?",
		SessionKey(id), now), &sess.UserID, &sess.Data, &sess.ExpiresAt, zeroOr(&sess.CreatedAt), zeroOr(&sess.UpdatedAt))
	if err != nil {
		return nil, notFound(err, "session by id")
	}
	sess.ID = id
	return &sess, nil
}

// SaveSession inserts or replaces a session.
func (s *Store) SaveSession(ctx context.Context, sess *Session) error {
	db := s.db.WithContext(ctx)
	// As gorm's Create: the times are now unless set.
	now := db.NowFunc()
	created, updated := sess.CreatedAt, sess.UpdatedAt
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = now
	}
	err := db.Exec(`INSERT INTO sessions (id, user_id, data, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data,
		expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		SessionKey(sess.ID), sess.UserID, sess.Data, sess.ExpiresAt, created, updated).Error
	if err != nil {
		return notFound(err, "save session")
	}
	sess.CreatedAt, sess.UpdatedAt = created, updated
	return nil
}

// DeleteSession removes a session; a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&Session{}, "id = ?", SessionKey(id)).Error; err != nil {
		return notFound(err, "delete session")
	}
	return nil
}

// SessionByKey finds an unexpired session by its stored key (SessionKey)
// rather than its id: the accounts set aside on a browser are named so in
// the browser's session, whose id alone the cookie carries. The Session
// returned has an empty ID: no id is known for it.
func (s *Store) SessionByKey(ctx context.Context, key string, now time.Time) (*Session, error) {
	var sess Session
	err := scanOne(s.rd.WithContext(ctx).Raw("SELECT user_id, data, expires_at, created_at, updated_at FROM sessions WHERE id = ? AND expires_at > ?",
		key, now), &sess.UserID, &sess.Data, &sess.ExpiresAt, zeroOr(&sess.CreatedAt), zeroOr(&sess.UpdatedAt))
	if err != nil {
		return nil, notFound(err, "session by key")
	}
	return &sess, nil
}

// DeleteSessionKey removes a session by its stored key; a missing one is
// no error.
func (s *Store) DeleteSessionKey(ctx context.Context, key string) error {
	if err := s.db.WithContext(ctx).Delete(&Session{}, "id = ?", key).Error; err != nil {
		return notFound(err, "delete session by key")
	}
	return nil
}
