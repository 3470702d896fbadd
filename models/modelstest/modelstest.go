// Package modelstest gives tests a real, migrated database: a SQLite file
// in t.TempDir() by default, or a fresh database on a real PostgreSQL
// server when OIDC_TEST_DATABASE=postgres. The database is chosen once for
// the whole suite, so every test runs on both without anyone listing it.
package modelstest

import (
	"os"
	"path/filepath"
	"testing"

	"oidcd/models"
)

// Postgres reports whether this test run uses PostgreSQL
// (OIDC_TEST_DATABASE=postgres) rather than SQLite.
func Postgres() bool { return os.Getenv("OIDC_TEST_DATABASE") == "postgres" }

// Open returns a Store on a fresh database of the suite's kind, closed
// when the test ends.
func Open(t testing.TB) *models.Store {
	t.Helper()
	if Postgres() {
		return OpenPostgres(t)
	}
	return OpenSQLite(t)
}

// OpenSQLite returns a Store on a fresh SQLite file in t.TempDir(), whatever
// the suite's database, for tests about SQLite itself.
func OpenSQLite(t testing.TB) *models.Store {
	t.Helper()
	s, err := models.Open(filepath.Join(t.TempDir(), "oidcd.db"))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
