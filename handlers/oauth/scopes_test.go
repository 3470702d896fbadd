package oauth

import (
	"reflect"
	"testing"
)

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope string
		want  []string
	}{
		{"", nil},
		{"   ", nil},
		{"openid", []string{"openid"}},
		{"openid profile email", []string{"openid", "profile", "email"}},
		// RFC 6749 §3.3: space-delimited, order does not matter; extra
		// whitespace is tolerated and a repeat counts once.
		{"  openid   profile ", []string{"openid", "profile"}},
		{"openid profile openid", []string{"openid", "profile"}},
		{"profile openid", []string{"profile", "openid"}},
		{"openid\tprofile\nemail", []string{"openid", "profile", "email"}},
		// Scope tokens are case-sensitive.
		{"openid OpenID", []string{"openid", "OpenID"}},
		{"custom:read urn:x", []string{"custom:read", "urn:x"}},
	}
	for _, tt := range tests {
		if got := ParseScope(tt.scope); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseScope(%q) = %q, want %q", tt.scope, got, tt.want)
		}
	}
}

func TestAllowedScopes(t *testing.T) {
	t.Parallel()
	allowed := []string{"openid", "email", "offline_access"}
	tests := []struct {
		requested []string
		want      []string
	}{
		{nil, nil},
		{[]string{"openid"}, []string{"openid"}},
		{[]string{"email", "openid"}, []string{"email", "openid"}}, // request order kept
		{[]string{"openid", "profile", "email"}, []string{"openid", "email"}},
		{[]string{"profile", "phone"}, nil},
		{[]string{"OPENID"}, nil},
	}
	for _, tt := range tests {
		if got := AllowedScopes(tt.requested, allowed); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AllowedScopes(%q, %q) = %q, want %q", tt.requested, allowed, got, tt.want)
		}
	}
	if got := AllowedScopes([]string{"openid"}, nil); got != nil {
		t.Errorf("AllowedScopes with nothing allowed = %q, want none", got)
	}
}

func TestSubset(t *testing.T) {
	t.Parallel()
	have := []string{"openid", "profile", "offline_access"}
	tests := []struct {
		want []string
		ok   bool
	}{
		{nil, true},
		{[]string{"openid"}, true},
		{[]string{"profile", "openid"}, true},
		{[]string{"openid", "profile", "offline_access"}, true},
		{[]string{"openid", "email"}, false},
		{[]string{"Profile"}, false},
	}
	for _, tt := range tests {
		if got := Subset(tt.want, have); got != tt.ok {
			t.Errorf("Subset(%q, %q) = %v, want %v", tt.want, have, got, tt.ok)
		}
	}
	if Subset([]string{"openid"}, nil) {
		t.Errorf("Subset(openid, none) = true, want false")
	}
}

func TestClaimsFor(t *testing.T) {
	t.Parallel()
	all := map[string]any{
		"sub": "u1", "name": "Alice Liddell", "given_name": "", "email": "alice@example.org",
		"email_verified": true, "phone_number": "", "phone_number_verified": false,
		"address": map[string]any{"formatted": "", "country": ""}, "locale": nil,
		"not_a_claim": "x",
	}
	tests := []struct {
		name   string
		scopes []string
		want   map[string]any
	}{
		{"no scopes", nil, map[string]any{}},
		{"openid releases sub", []string{"openid"}, map[string]any{"sub": "u1"}},
		{"profile leaves out empty and nil values (Core §5.3.2)", []string{"profile"}, map[string]any{"name": "Alice Liddell"}},
		{"email", []string{"email"}, map[string]any{"email": "alice@example.org", "email_verified": true}},
		// false is a value, not an empty one.
		{"phone keeps a false verified flag", []string{"phone"}, map[string]any{"phone_number_verified": false}},
		{"an address of empty parts is left out", []string{"address"}, map[string]any{}},
		{"offline_access releases nothing", []string{"offline_access"}, map[string]any{}},
		{"an unknown scope releases nothing", []string{"not_a_scope"}, map[string]any{}},
		{"scopes add up", []string{"openid", "email"}, map[string]any{"sub": "u1", "email": "alice@example.org", "email_verified": true}},
	}
	for _, tt := range tests {
		if got := ClaimsFor(all, tt.scopes); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ClaimsFor(%q) = %v, want %v", tt.name, tt.scopes, got, tt.want)
		}
	}
	withAddress := map[string]any{"address": map[string]any{"formatted": "", "country": "NL"}}
	if got := ClaimsFor(withAddress, []string{"address"}); !reflect.DeepEqual(got, withAddress) {
		t.Errorf("ClaimsFor(address with a country) = %v, want %v", got, withAddress)
	}
}
