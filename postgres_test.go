package main

import (
	"os"
	"testing"

	"oidcd/models/modelstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	modelstest.StopPostgres()
	os.Exit(code)
}

// TestOnPostgres runs the end-to-end, bad-input, concurrency and admin
// tests again with every server on a real PostgreSQL database, so that
// what an RP, an end user or an admin can send is shown to behave the same
// on both databases (PostgreSQL refuses a NUL byte that SQLite stores, for
// one). PostgreSQL comes from Debian's package and is started by the test
// itself; without it this is skipped, except under CI=true.
func TestOnPostgres(t *testing.T) {
	modelstest.OpenPostgres(t) // start the server once, or skip/fail here
	saved := openTestStore
	openTestStore = modelstest.OpenPostgres
	t.Cleanup(func() { openTestStore = saved })
	for _, tt := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"CodeFlowWithRealClient", TestCodeFlowWithRealClient},
		{"BadInput", TestBadInput},
		{"ConcurrentCodeRedemption", TestConcurrentCodeRedemption},
		{"LoginRefusesControlCharacters", TestLoginRefusesControlCharacters},
		{"ConsentCannotSkipFreshLogin", TestConsentCannotSkipFreshLogin},
		{"AuthorizeRedirectErrors", TestAuthorizeRedirectErrors},
		{"AuthorizeSession", TestAuthorizeSession},
		{"TokenCodeReuse", TestTokenCodeReuse},
		{"Userinfo", TestUserinfo},
		{"AdminClientLifecycle", TestAdminClientLifecycle},
		{"AdminConsentRevoke", TestAdminConsentRevoke},
		{"AdminUsersDeactivate", TestAdminUsersDeactivate},
		{"AdminRefusesNUL", TestAdminRefusesNUL},
		{"AdminUsersDeactivateVoidsCodes", TestAdminUsersDeactivateVoidsCodes},
		{"AdminAuditLogFindsAdminChanges", TestAdminAuditLogFindsAdminChanges},
		{"AdminGrantListsPages", TestAdminGrantListsPages},
		{"AdminClientRemoveLogo", TestAdminClientRemoveLogo},
		{"AdminClientSecretNeverStored", TestAdminClientSecretNeverStored},
		{"SetupConcurrentPostsHaveOneWinner", TestSetupConcurrentPostsHaveOneWinner},
	} {
		t.Run(tt.name, tt.fn)
	}
}
