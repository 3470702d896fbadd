package oauth

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckScopeName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"read:reports", ""},
		{"https://api.example/orders.read", ""},
		{"groups", ""},
		{"", "enter a name"},
		{strings.Repeat("s", 100), ""},
		{strings.Repeat("s", 101), "at most 100"},
		{"openid", "standard scope"},
		{"profile", "standard scope"},
		{"address", "standard scope"},
		{"offline_access", "standard scope"},
		{"token_introspection", "standard scope"},
		{"two words", "printable ASCII"},
		{`quo"te`, "printable ASCII"},
		{`back\slash`, "printable ASCII"},
		{"tab\there", "printable ASCII"},
		{"café", "printable ASCII"},
	} {
		got := CheckScopeName(c.name)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReservedClaims(t *testing.T) {
	r := ReservedClaims()
	for _, name := range []string{"sub", "iss", "email", "address", "updated_at", "nonce", "acr"} {
		if !slices.Contains(r, name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	if slices.Contains(r, "department") {
		t.Errorf("department is reserved")
	}
}
