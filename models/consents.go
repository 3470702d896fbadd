package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ConsentFor finds the consent a user gave a client.
func (s *Store) ConsentFor(ctx context.Context, userID, clientID uint) (*UserConsent, error) {
	var c UserConsent
	err := s.rd.WithContext(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error
	if err != nil {
		return nil, notFound(err, "consent")
	}
	return &c, nil
}

// GrantConsent records that the user allowed the client scopes until
// expiresAt. Scopes of an unexpired earlier consent are kept beside the new
// ones, so allowing "email" today does not withdraw "profile" from last week.
func (s *Store) GrantConsent(ctx context.Context, userID, clientID uint, scopes []string, now, expiresAt time.Time) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		// Two first consents at once (two tabs, or two instances) must not
		// both insert: the row is created if missing, without error when
		// another transaction created it first, then read locked (FOR
		// UPDATE on PostgreSQL; SQLite's writer lock covers the whole
		// transaction). A new row starts expired, so nothing is merged
		// into it.
		fresh := UserConsent{UserID: userID, ClientID: clientID, GivenAt: now, ExpiresAt: now}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}, {Name: "client_id"}}, DoNothing: true}).
			Create(&fresh).Error; err != nil {
			return err
		}
		var c UserConsent
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error; err != nil {
			return err
		}
		if now.Before(c.ExpiresAt) {
			for _, old := range strings.Fields(c.Scope) {
				if !slices.Contains(scopes, old) {
					scopes = append(scopes, old)
				}
			}
		}
		c.Scope = strings.Join(scopes, " ")
		c.GivenAt = now
		c.ExpiresAt = expiresAt
		return tx.Save(&c).Error
	})
	if err != nil {
		return notFound(err, "grant consent")
	}
	return nil
}

// UserConsents returns every consent the user gave, unexpired or not,
// newest first, with Client loaded: what the account page lists.
func (s *Store) UserConsents(ctx context.Context, userID uint) ([]UserConsent, error) {
	var out []UserConsent
	if err := s.rd.WithContext(ctx).Preload("Client").Where("user_id = ?", userID).
		Order("given_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, notFound(err, "user consents")
	}
	return out, nil
}

// UserConsent finds one consent of the user by its id, with Client
// loaded; a consent of another user is ErrNotFound, as a missing one is.
func (s *Store) UserConsent(ctx context.Context, userID, id uint) (*UserConsent, error) {
	var c UserConsent
	if err := s.rd.WithContext(ctx).Preload("Client").Where("id = ? AND user_id = ?", id, userID).Take(&c).Error; err != nil {
		return nil, notFound(err, "user consent")
	}
	return &c, nil
}
