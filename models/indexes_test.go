package models_test

import (
	"testing"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// TestLookupsAreIndexed: every column the store looks rows up by, on the
// hot paths and in the janitor's passes, has an index (or is the primary
// key), on SQLite and PostgreSQL alike.
func TestLookupsAreIndexed(t *testing.T) {
	t.Parallel()
	s := modelstest.Open(t)
	m := s.DB().Migrator()
	for _, c := range []struct {
		model any
		field string
	}{
		{&models.Client{}, "ClientID"},
		{&models.User{}, "Username"},
		{&models.Code{}, "CodeHash"},
		{&models.Code{}, "ExpiresAt"},
		{&models.Token{}, "AccessTokenHash"},
		{&models.Token{}, "RefreshTokenHash"},
		{&models.Token{}, "FamilyID"},
		{&models.Token{}, "idx_tokens_client_newest"},
		{&models.Token{}, "CodeID"},
		{&models.Token{}, "ExpiresAt"},
		{&models.AuthRequest{}, "ExpiresAt"},
		{&models.Session{}, "ExpiresAt"},
		{&models.Session{}, "UserID"},
		{&models.Event{}, "CreatedAt"},
		{&models.Event{}, "idx_event_kind_time"},
		{&models.Throttle{}, "KeyHash"},
		{&models.Throttle{}, "ExpiresAt"},
		{&models.UserConsent{}, "idx_consent_user_client"},
	} {
		if !m.HasIndex(c.model, c.field) {
			t.Errorf("%T.%s has no index", c.model, c.field)
		}
	}
}
