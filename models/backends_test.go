package models_test

import (
	"os"
	"testing"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// openStore is how every store test gets its database: SQLite, or
// PostgreSQL when OIDC_TEST_DATABASE=postgres (modelstest.Open).
func openStore(t testing.TB) *models.Store { return modelstest.Open(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	modelstest.StopPostgres()
	os.Exit(code)
}
