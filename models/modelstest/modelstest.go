// Package modelstest gives tests a real, migrated SQLite database.
package modelstest

import (
	"path/filepath"
	"testing"

	"oidcd/models"
)

// Open returns a Store on a fresh SQLite file in t.TempDir(), closed when
// the test ends.
func Open(t testing.TB) *models.Store {
	t.Helper()
	s, err := models.Open(filepath.Join(t.TempDir(), "oidcd.db"))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
