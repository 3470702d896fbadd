package models

import (
	"strings"
	"testing"
)

func TestCheckCustomClaims(t *testing.T) {
	reserved := []string{"sub", "email", "nonce"}
	for _, c := range []struct {
		name   string
		claims map[string]string
		want   string
	}{
		{"none", nil, ""},
		{"attribute and field", map[string]string{"department": "attr:department", "work_email": "email", "street": "address_street", "verified": "email_verified"}, ""},
		{"unknown attribute", map[string]string{"department": "dept"}, `"dept" is no user attribute`},
		{"bad attribute key", map[string]string{"department": "attr:"}, "cannot be empty"},
		{"reserved claim", map[string]string{"email": "attr:mail"}, `claim "email" is a standard claim`},
		{"bad claim name", map[string]string{"1st": "email"}, "must start with a letter"},
	} {
		got := CheckCustomClaims(c.claims, reserved)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAttributeValue(t *testing.T) {
	u := &User{Email: "a@example.org", EmailVerified: true, Attributes: map[string]string{"department": "Research", "empty": ""}}
	for _, c := range []struct {
		ref  string
		want any
		ok   bool
	}{
		{"attr:department", "Research", true},
		{"attr:empty", "", false},
		{"attr:missing", "", false},
		{"email", "a@example.org", true},
		{"given_name", "", false},
		{"email_verified", true, true},
		{"nonsense", nil, false},
	} {
		got, ok := AttributeValue(u, c.ref)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: got %v, %v; want %v, %v", c.ref, got, ok, c.want, c.ok)
		}
	}
}
