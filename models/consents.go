package models

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
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
		var c UserConsent
		err := tx.Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			c = UserConsent{UserID: userID, ClientID: clientID}
		case err != nil:
			return err
		case now.Before(c.ExpiresAt):
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
