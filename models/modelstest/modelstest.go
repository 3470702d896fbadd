// Package modelstest gives tests a real, migrated database: a SQLite file
// in t.TempDir() by default, or a fresh database on a real PostgreSQL
// server when OIDC_TEST_DATABASE=postgres. The database is chosen once for
// the whole suite, so every test runs on both without anyone listing it.
// Each database gets its own random secret key (models.Options.SecretKey).
package modelstest

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"oidcd/models"
)

// Postgres reports whether this test run uses PostgreSQL
// (OIDC_TEST_DATABASE=postgres) rather than SQLite.
func Postgres() bool { return os.Getenv("OIDC_TEST_DATABASE") == "postgres" }

// Database is a fresh database and the secret key its stores open it
// with, for tests that open it again or look at it from outside.
type Database struct {
	DSN string
	Key []byte
}

// opened remembers the Database behind each Store this package opened.
var opened sync.Map // *models.Store -> Database

// DatabaseOf returns the database and key a Store from this package was
// opened on.
func DatabaseOf(t testing.TB, s *models.Store) Database {
	t.Helper()
	d, ok := opened.Load(s)
	if !ok {
		t.Fatalf("modelstest: the store was not opened by modelstest")
	}
	return d.(Database)
}

// NewKey returns a random secret key.
func NewKey() []byte {
	k := make([]byte, models.SecretKeySize)
	_, _ = rand.Read(k)
	return k
}

// New returns a fresh, empty database of the suite's kind with a random
// key, not yet opened.
func New(t testing.TB) Database {
	t.Helper()
	if Postgres() {
		return Database{DSN: newPostgres(t), Key: NewKey()}
	}
	return Database{DSN: filepath.Join(t.TempDir(), "oidcd.db"), Key: NewKey()}
}

// Open returns a Store on d with its key, closed when the test ends.
func (d Database) Open(t testing.TB) *models.Store {
	t.Helper()
	// The cheapest bcrypt cost: tests hash many passwords and prove
	// nothing about the cost itself.
	s, err := models.Open(d.DSN, models.Options{SecretKey: d.Key, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	opened.Store(s, d)
	t.Cleanup(func() {
		opened.Delete(s)
		_ = s.Close()
	})
	return s
}

// Open returns a Store on a fresh database of the suite's kind, closed
// when the test ends.
func Open(t testing.TB) *models.Store {
	t.Helper()
	return New(t).Open(t)
}

// OpenSQLite returns a Store on a fresh SQLite file in t.TempDir(), whatever
// the suite's database, for tests about SQLite itself.
func OpenSQLite(t testing.TB) *models.Store {
	t.Helper()
	return Database{DSN: filepath.Join(t.TempDir(), "oidcd.db"), Key: NewKey()}.Open(t)
}

// AsOlderOidcd drops the table of the migrations a database has had, so
// that it looks like one an older oidcd made (which has no such table)
// and the next Open runs every migration: for tests that write rows the
// way an older oidcd kept them.
func AsOlderOidcd(t testing.TB, s *models.Store) {
	t.Helper()
	if err := s.DB().Exec("DROP TABLE schema_migrations").Error; err != nil {
		t.Fatalf("modelstest: drop schema_migrations: %v", err)
	}
}
