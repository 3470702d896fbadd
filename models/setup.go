package models

import (
	"context"

	"gorm.io/gorm"
)

// CreateFirstAdmin spends a one-time setup token and creates u with
// password, in one transaction. The token is spent by deleting the setting
// name only while its value is still tokenHash, and only one caller can
// delete that row: of many concurrent calls with the same token exactly one
// creates a user, on SQLite and PostgreSQL alike. The rest get ErrNotFound,
// as does a token that was never stored or has been replaced. When u cannot
// be created (ErrConflict for a taken username) the token is kept, so the
// link can be used again.
func (s *Store) CreateFirstAdmin(ctx context.Context, name, tokenHash string, u *User, password string) error {
	// Hash before the transaction: bcrypt is slow, and SQLite holds the
	// write lock from BEGIN.
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if u.Subject == "" {
		u.Subject = NewID()
	}
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		// The value is sealed (a fresh nonce each time), so it is opened
		// and compared here, then deleted only while it is still the
		// sealed value that was read.
		var st Setting
		if err := tx.Where("name = ?", name).Take(&st).Error; err != nil {
			return err
		}
		value, err := s.openSetting(&st)
		if err != nil {
			return err
		}
		if value != tokenHash {
			return gorm.ErrRecordNotFound
		}
		res := tx.Where("name = ? AND value = ?", name, st.Value).Delete(&Setting{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return gorm.ErrRecordNotFound
		}
		return tx.Create(u).Error
	})
	if err != nil {
		return notFound(err, "create first admin")
	}
	return nil
}
