package models_test

import (
	"context"
	"sync/atomic"
	"testing"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// SQLite authorizer action codes (sqlite3.h) that BEGIN, COMMIT and
// savepoints raise: the driver prepares those anew each time.
const (
	sqliteTransaction = 22
	sqliteSavepoint   = 32
)

// TestWriteTransactionsPrepareOnce: once a code redemption and a refresh
// have run, more of them prepare no statement on SQLite's writer
// connection. SQLite calls a connection's authorizer while it compiles a
// statement, never when it runs one, so the calls it makes count what is
// prepared.
func TestWriteTransactionsPrepareOnce(t *testing.T) {
	if modelstest.Postgres() {
		t.Skip("counts SQLite compilations")
	}
	f := newFixture(t)
	ctx := context.Background()
	writer, err := f.store.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	var prepares atomic.Int64
	conn, err := writer.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Raw(func(dc any) error {
		dc.(interface {
			RegisterAuthorizer(func(int, string, string, string) int)
		}).RegisterAuthorizer(func(action int, _, _, _ string) int {
			if action != sqliteTransaction && action != sqliteSavepoint {
				prepares.Add(1)
			}
			return 0 // SQLITE_OK
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The writer pool has one connection: give it back to the store.
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	flow := func() {
		code := f.newCode(t)
		tok, err := f.store.RedeemCode(ctx, code.CodeHash, f.now, accept, f.mintFamily,
			&models.Event{Kind: models.EventTokenIssued, Username: "alice", CreatedAt: f.now})
		if err != nil {
			t.Fatalf("redeem code: %v", err)
		}
		_, err = f.store.RotateRefreshToken(ctx, *tok.RefreshTokenHash, f.now, acceptToken, f.mintNext,
			&models.Event{Kind: models.EventTokenIssued, Username: "alice", CreatedAt: f.now})
		if err != nil {
			t.Fatalf("rotate refresh token: %v", err)
		}
	}
	flow()
	if prepares.Load() == 0 {
		t.Fatal("the first flow prepared nothing: the authorizer does not see this connection")
	}
	prepares.Store(0)
	for range 3 {
		flow()
	}
	if n := prepares.Load(); n != 0 {
		t.Errorf("three more flows compiled SQL %d times, want 0: statements are prepared again", n)
	}
}
