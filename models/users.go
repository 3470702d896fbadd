package models

import (
	"context"
	"time"
)

// CreateUser stores u with password hashed. Subject is assigned when empty.
func (s *Store) CreateUser(ctx context.Context, u *User, password string) error {
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if u.Subject == "" {
		u.Subject = NewID()
	}
	// The profile is as new as the user: one instant for all three.
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.db.NowFunc()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	if u.ProfileUpdatedAt.IsZero() {
		u.ProfileUpdatedAt = u.CreatedAt
	}
	if err := s.db.WithContext(ctx).Create(u).Error; err != nil {
		return notFound(err, "create user")
	}
	return nil
}

// UserByUsername finds a user by exact username.
func (s *Store) UserByUsername(ctx context.Context, username string) (*User, error) {
	var u User
	if err := s.rd.WithContext(ctx).Where("username = ?", username).Take(&u).Error; err != nil {
		return nil, notFound(err, "user by username")
	}
	return &u, nil
}

// UserByID finds a user by primary key.
func (s *Store) UserByID(ctx context.Context, id uint) (*User, error) {
	var u User
	var uid *uint
	err := scanOne(s.rd.WithContext(ctx).Raw("SELECT "+columnsOf("users", userColumns)+" FROM users WHERE id = ?", id),
		userTargets(&u, &uid)...)
	if err != nil {
		return nil, notFound(err, "user by id")
	}
	u.ID = *uid
	return &u, nil
}

// RecordLogin sets the user's last login time.
func (s *Store) RecordLogin(ctx context.Context, userID uint, at time.Time) error {
	if err := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Update("last_login", at).Error; err != nil {
		return notFound(err, "record login")
	}
	return nil
}

// HasSuperuser reports whether any active superuser exists.
func (s *Store) HasSuperuser(ctx context.Context) (bool, error) {
	var n int64
	err := s.rd.WithContext(ctx).Model(&User{}).Where("superuser = ? AND active = ?", true, true).Count(&n).Error
	if err != nil {
		return false, notFound(err, "has superuser")
	}
	return n > 0, nil
}

// SetUserActive turns a user's account on or off. An inactive user cannot
// sign in, and their access tokens are refused.
func (s *Store) SetUserActive(ctx context.Context, id uint, active bool) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("active", active)
	if res.Error != nil {
		return notFound(res.Error, "set user active")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// UserBySubject finds a user by the sub of the ID tokens issued to them
// (an id_token_hint names its user so).
func (s *Store) UserBySubject(ctx context.Context, subject string) (*User, error) {
	var u User
	if err := s.rd.WithContext(ctx).Where("subject = ?", subject).Take(&u).Error; err != nil {
		return nil, notFound(err, "user by subject")
	}
	return &u, nil
}
