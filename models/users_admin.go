package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// ListUsers returns a page of users whose username, email or name contains
// q, newest first, and how many match in all.
func (s *Store) ListUsers(ctx context.Context, q string, p Page) ([]User, int64, error) {
	return s.ListUsersBy(ctx, UserQuery{Q: q}, p)
}

// claimColumns are the standard claims an admin edits (the claims
// table's columns); the username, subject, password hash and flags are
// changed elsewhere or never.
var claimColumns = append(claimFieldColumns(), "attributes", "profile_updated_at", "updated_at")

// UpdateUserClaims saves u's standard claims (including empty ones), its
// attributes and ProfileUpdatedAt, and nothing else.
func (s *Store) UpdateUserClaims(ctx context.Context, u *User) error {
	res := s.db.WithContext(ctx).Model(u).Select(claimColumns).Updates(u)
	if res.Error != nil {
		return notFound(res.Error, "update user claims")
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// SetUserPassword replaces the user's password hash and, in the same
// transaction, ends everything the old password opened: every browser
// session, every unrevoked token and every unused authorization code. A
// password is reset because someone else may know it; leaving their
// session or refresh token alive would leave them in (RFC 9700 §4.14.2
// names a password change among the events that revoke refresh tokens).
func (s *Store) SetUserPassword(ctx context.Context, id uint, password string, now time.Time) error {
	// Hashed before the transaction: bcrypt is slow, and SQLite holds
	// its write lock for the transaction's whole length.
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.updateUserEndingAccess(ctx, id, "password_hash", hash, now, EndPassword, "set user password")
}

// updateUserEndingAccess sets one column of the user and ends their
// access (endUserAccess), in one transaction.
func (s *Store) updateUserEndingAccess(ctx context.Context, id uint, column string, value any, now time.Time, reason, what string) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", id).Update(column, value)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return endUserAccess(tx, id, reason, now)
	})
	if err != nil {
		return notFound(err, what)
	}
	return nil
}

// endUserAccess deletes the user's sessions (by user_id, whatever form
// the session ids are stored in), revokes their unrevoked tokens and
// deletes their unused codes. Used codes stay, so that a replayed one is
// still recognised. The clients the sessions touched get a logout token
// (endUserSessions).
func endUserAccess(tx *gorm.DB, id uint, reason string, now time.Time) error {
	if err := endUserSessions(tx, id, reason, now); err != nil {
		return err
	}
	if err := tx.Model(&Token{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
		return err
	}
	return tx.Where("user_id = ? AND used_at IS NULL", id).Delete(&Code{}).Error
}

// DeactivateUser turns a user off in one transaction: the account, every
// browser session, every unrevoked token and every unused authorization
// code, so nothing the user held keeps working, even if the account is
// turned back on while a code is still unexpired. Used codes stay, as
// RevokeConsent leaves them, so that a replayed one is still recognised.
func (s *Store) DeactivateUser(ctx context.Context, id uint, now time.Time) error {
	return s.updateUserEndingAccess(ctx, id, "active", false, now, EndDeactivated, "deactivate user")
}

// UserDependents counts the user's codes, tokens and consents.
func (s *Store) UserDependents(ctx context.Context, id uint) (Dependents, error) {
	return s.dependents(ctx, "user_id", id)
}

// DeleteUser removes a user and their sessions, and by cascade their
// codes, tokens and consents. Audit events keep the username they recorded.
func (s *Store) DeleteUser(ctx context.Context, id uint) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := endUserSessions(tx, id, EndDeleted, time.Now()); err != nil {
			return err
		}
		// Not left to the cascade alone: a database created without
		// foreign keys enforced must not keep a deleted user's tokens.
		for _, m := range []any{&Token{}, &Code{}, &UserConsent{}} {
			if err := tx.Where("user_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		res := tx.Delete(&User{}, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return notFound(err, "delete user")
	}
	return nil
}
