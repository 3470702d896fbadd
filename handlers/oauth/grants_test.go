package oauth

import "testing"

func TestCheckGrantTypes(t *testing.T) {
	tests := []struct {
		name   string
		types  []string
		public bool
		ok     bool
	}{
		{"default", []string{GrantAuthorizationCode, GrantRefreshToken}, false, true},
		{"public default", []string{GrantAuthorizationCode, GrantRefreshToken}, true, true},
		{"client_credentials only", []string{GrantClientCredentials}, false, true},
		{"public client_credentials", []string{GrantAuthorizationCode, GrantClientCredentials}, true, false},
		{"none", nil, false, false},
		{"password", []string{GrantPassword}, false, true},
		{"public password", []string{GrantAuthorizationCode, GrantPassword}, true, false},
		{"unknown", []string{"implicit"}, false, false},
		{"empty name", []string{""}, false, false},
		{"twice", []string{GrantRefreshToken, GrantRefreshToken}, false, false},
	}
	for _, tt := range tests {
		if err := CheckGrantTypes(tt.types, tt.public); (err == nil) != tt.ok {
			t.Errorf("%s: CheckGrantTypes(%v, public %v) = %v, want ok %v", tt.name, tt.types, tt.public, err, tt.ok)
		}
	}
}
