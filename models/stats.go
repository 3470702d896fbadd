package models

import (
	"context"
	"time"
)

// Counts are the dashboard's totals.
type Counts struct {
	Clients, Users, ActiveTokens, Consents int64
}

// CountAll returns the dashboard's totals; a token is active while it is
// unrevoked and its access token or refresh token is unexpired.
func (s *Store) CountAll(ctx context.Context, now time.Time) (Counts, error) {
	var c Counts
	db := s.rd.WithContext(ctx)
	if err := db.Model(&Client{}).Count(&c.Clients).Error; err != nil {
		return c, notFound(err, "count clients")
	}
	if err := db.Model(&User{}).Count(&c.Users).Error; err != nil {
		return c, notFound(err, "count users")
	}
	if err := db.Model(&Token{}).Where("revoked_at IS NULL AND (expires_at > ? OR refresh_expires_at > ?)", now, now).
		Count(&c.ActiveTokens).Error; err != nil {
		return c, notFound(err, "count tokens")
	}
	if err := db.Model(&UserConsent{}).Where("expires_at > ?", now).Count(&c.Consents).Error; err != nil {
		return c, notFound(err, "count consents")
	}
	return c, nil
}
