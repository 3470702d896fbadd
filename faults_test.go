package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// refuseWrites makes the test database refuse every write of the given
// kinds ("INSERT", "UPDATE", "DELETE") to table, with a trigger in
// SQLite's or PostgreSQL's own dialect, so a test can show that a failed
// write loses or half-writes nothing.
func refuseWrites(t *testing.T, table string, ops ...string) {
	t.Helper()
	name := fmt.Sprintf("refuse_%s_%s", table, strings.ToLower(strings.Join(ops, "_")))
	var stmts []string
	if modelstest.Postgres() {
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`, name),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION %s()`, name, strings.Join(ops, " OR "), table, name),
		}
	} else {
		for _, op := range ops {
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER %s_%s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, 'refused by test'); END`, name, strings.ToLower(op), op, table))
		}
	}
	for _, s := range stmts {
		if err := testDB(t).Exec(s).Error; err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// verifyPassword reports whether password is u's, failing the test when
// no password slot could be had.
func verifyPassword(t *testing.T, store *models.Store, u *models.User, password string) bool {
	t.Helper()
	ok, err := store.VerifyPassword(context.Background(), u, password)
	if err != nil {
		t.Fatalf("verify password: %v", err)
	}
	return ok
}
