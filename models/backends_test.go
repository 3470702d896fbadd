package models_test

import (
	"os"
	"testing"

	"oidcd/models"
	"oidcd/models/modelstest"
)

// openStore is how every store test gets its database: SQLite by default;
// TestStoreOnPostgres runs the same tests against a real PostgreSQL server.
var openStore func(testing.TB) *models.Store = func(t testing.TB) *models.Store { return modelstest.Open(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	modelstest.StopPostgres()
	os.Exit(code)
}

// TestStoreOnPostgres runs the store tests again on PostgreSQL, so that
// every query is shown to work on both databases, the concurrency ones
// (one winner per code, one per refresh token) included.
func TestStoreOnPostgres(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"RedeemCodeConcurrentlyHasOneWinner", TestRedeemCodeConcurrentlyHasOneWinner},
		{"RedeemCodeRefusedLeavesCodeUnused", TestRedeemCodeRefusedLeavesCodeUnused},
		{"RedeemCodeUnknown", TestRedeemCodeUnknown},
		{"RedeemCodeReuseRevokes", TestRedeemCodeReuseRevokes},
		{"RedeemCodeReuseRevokesRefreshedTokens", TestRedeemCodeReuseRevokesRefreshedTokens},
		{"RotateRefreshToken", TestRotateRefreshToken},
		{"RotateRefreshTokenConcurrentlyHasOneWinner", TestRotateRefreshTokenConcurrentlyHasOneWinner},
		{"GrantConsent", TestGrantConsent},
		{"SettingIsGeneratedOnce", TestSettingIsGeneratedOnce},
		{"SettingConcurrentCallersAgree", TestSettingConcurrentCallersAgree},
		{"CountFailedLogins", TestCountFailedLogins},
		{"CreateStoresFalseFlags", TestCreateStoresFalseFlags},
		{"DailyEventCountsBuckets", TestDailyEventCountsBuckets},
		{"RetireSigningKeyKeepsOneActive", TestRetireSigningKeyKeepsOneActive},
		{"ListUsersSearch", TestListUsersSearch},
		{"RevokeConsentRevokesThePairOnly", TestRevokeConsentRevokesThePairOnly},
		{"DeactivateAndDeleteUser", TestDeactivateAndDeleteUser},
		{"RevokeTokensNeedsAFilter", TestRevokeTokensNeedsAFilter},
		{"ListEventsFindsAdminChanges", TestListEventsFindsAdminChanges},
	}
	// Start the server once, skipping (or, under CI, failing) here when
	// PostgreSQL is not installed.
	modelstest.OpenPostgres(t)
	saved := openStore
	openStore = modelstest.OpenPostgres
	defer func() { openStore = saved }()
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}
