package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// errNoFilter guards the bulk admin operations against running on every row.
var errNoFilter = errors.New("models: a user or client filter is required")

// GrantFilter narrows the admin lists of consents, tokens and codes to one
// user, one client, or both; a zero ID does not filter.
type GrantFilter struct {
	UserID, ClientID uint
}

func (f GrantFilter) apply(db *gorm.DB) *gorm.DB { return f.applyTo(db, "") }

// applyTo is apply with the columns qualified by table, for a query that
// joins another table.
func (f GrantFilter) applyTo(db *gorm.DB, table string) *gorm.DB {
	if table != "" {
		table += "."
	}
	if f.UserID != 0 {
		db = db.Where(table+"user_id = ?", f.UserID)
	}
	if f.ClientID != 0 {
		db = db.Where(table+"client_id = ?", f.ClientID)
	}
	return db
}

// RevokeConsent deletes a consent and, in the same transaction, revokes
// every unrevoked token of its user and client and deletes their unused
// codes: withdrawing consent must also withdraw what it granted. It
// returns the consent as it was, with User and Client loaded.
func (s *Store) RevokeConsent(ctx context.Context, id uint, now time.Time) (*UserConsent, error) {
	return one(ctx, s, id, "revoke consent", func(tx *gorm.DB, id uint) (UserConsent, error) { return revokeConsent(tx, id, now) })
}

// revokeConsent is RevokeConsent within tx; a consent already gone is
// gorm.ErrRecordNotFound.
func revokeConsent(tx *gorm.DB, id uint, now time.Time) (UserConsent, error) {
	var c UserConsent
	if err := tx.Preload("User").Preload("Client").Take(&c, id).Error; err != nil {
		return c, err
	}
	res := tx.Delete(&UserConsent{}, c.ID)
	if res.Error != nil {
		return c, res.Error
	}
	if res.RowsAffected == 0 {
		return c, gorm.ErrRecordNotFound
	}
	// The client's sessions of the user end for it: a logout token
	// each (Back-Channel Logout 1.0); the OP session goes on for
	// other clients.
	if err := enqueueLogouts(tx, EndConsent, now, "sc.user_id = ? AND sc.client_id = ?", c.UserID, c.ClientID); err != nil {
		return c, err
	}
	pair := "user_id = ? AND client_id = ?"
	if err := tx.Model(&Token{}).Where(pair, c.UserID, c.ClientID).Where("revoked_at IS NULL").
		Update("revoked_at", now).Error; err != nil {
		return c, err
	}
	return c, tx.Where(pair, c.UserID, c.ClientID).Where("used_at IS NULL").Delete(&Code{}).Error
}

// RevokeToken revokes one token pair (access and refresh). An unknown or
// already revoked token is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id uint, now time.Time) (*Token, error) {
	return one(ctx, s, id, "revoke token", func(tx *gorm.DB, id uint) (Token, error) { return revokeToken(tx, id, now) })
}

// revokeToken is RevokeToken within tx, with User and Client loaded.
func revokeToken(tx *gorm.DB, id uint, now time.Time) (Token, error) {
	var t Token
	if err := tx.Preload("User").Preload("Client").Where("revoked_at IS NULL").Take(&t, id).Error; err != nil {
		return t, err
	}
	return t, tx.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error
}

// RevokeTokens revokes every unrevoked token matching f, which must name a
// user or a client, and returns how many it revoked.
func (s *Store) RevokeTokens(ctx context.Context, f GrantFilter, now time.Time) (int64, error) {
	if f.UserID == 0 && f.ClientID == 0 {
		return 0, errNoFilter
	}
	res := f.apply(s.db.WithContext(ctx).Model(&Token{})).Where("revoked_at IS NULL").Update("revoked_at", now)
	if res.Error != nil {
		return 0, notFound(res.Error, "revoke tokens")
	}
	return res.RowsAffected, nil
}

// DeleteCode removes an authorization code, so it can no longer be
// exchanged. It returns the code as it was.
func (s *Store) DeleteCode(ctx context.Context, id uint) (*Code, error) {
	return one(ctx, s, id, "delete code", deleteCode)
}

// deleteCode is DeleteCode within tx, with User and Client loaded.
func deleteCode(tx *gorm.DB, id uint) (Code, error) {
	var c Code
	if err := tx.Preload("User").Preload("Client").Take(&c, id).Error; err != nil {
		return c, err
	}
	return c, tx.Delete(&Code{}, id).Error
}

// one runs change on the row id in a transaction of its own and returns
// the row as it was; a row that is gone is ErrNotFound.
func one[T any](ctx context.Context, s *Store, id uint, what string, change func(tx *gorm.DB, id uint) (T, error)) (*T, error) {
	var row T
	err := s.transaction(ctx, func(tx *gorm.DB) (err error) {
		row, err = change(tx, id)
		return err
	})
	if err != nil {
		return nil, notFound(err, what)
	}
	return &row, nil
}

// each runs change on every row of ids in one transaction and returns the
// rows as they were. Rows that are gone (gorm.ErrRecordNotFound) are
// skipped: skipped counts them. Another error undoes them all.
func each[T any](ctx context.Context, s *Store, ids []uint, what string, change func(tx *gorm.DB, id uint) (T, error)) (done []T, skipped int, err error) {
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		done, skipped = nil, 0
		for _, id := range ids {
			row, err := change(tx, id)
			if errors.Is(err, gorm.ErrRecordNotFound) {
				skipped++
				continue
			}
			if err != nil {
				return err
			}
			done = append(done, row)
		}
		return nil
	})
	if err != nil {
		return nil, 0, notFound(err, what)
	}
	return done, skipped, nil
}
