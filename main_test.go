package main

import (
	"os"
	"testing"

	"oidcd/models/modelstest"
)

// TestMain stops the PostgreSQL server that a run with
// OIDC_TEST_DATABASE=postgres started (modelstest picks the database once
// for the whole suite; .ci/run runs the suite on SQLite and on PostgreSQL).
func TestMain(m *testing.M) {
	code := m.Run()
	modelstest.StopPostgres()
	os.Exit(code)
}
