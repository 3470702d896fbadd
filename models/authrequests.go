package models

import (
	"context"
	"time"
)

// SaveAuthRequest parks a validated authorization request. ID is assigned
// when empty.
func (s *Store) SaveAuthRequest(ctx context.Context, r *AuthRequest) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if err := s.db.WithContext(ctx).Create(r).Error; err != nil {
		return notFound(err, "save auth request")
	}
	return nil
}

// AuthRequestByID finds an unexpired parked request.
func (s *Store) AuthRequestByID(ctx context.Context, id string, now time.Time) (*AuthRequest, error) {
	var r AuthRequest
	err := s.rd.WithContext(ctx).Where("id = ? AND expires_at > ?", id, now).Take(&r).Error
	if err != nil {
		return nil, notFound(err, "auth request by id")
	}
	return &r, nil
}

// DeleteAuthRequest removes a finished request; a missing one is no error.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Delete(&AuthRequest{}, "id = ?", id).Error; err != nil {
		return notFound(err, "delete auth request")
	}
	return nil
}
