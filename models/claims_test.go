package models

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"oidcd/handlers/oauth"
)

// TestClaimFieldsCoverStandardScopes: the claims table and the standard
// scopes name the same claims, scope by scope (OpenID Connect Core §5.4).
func TestClaimFieldsCoverStandardScopes(t *testing.T) {
	for _, s := range oauth.StandardScopes {
		if s.Name == "openid" {
			continue
		}
		got, want := slices.Sorted(slices.Values(ScopeClaims(s.Name))), slices.Sorted(slices.Values(s.Claims))
		if !slices.Equal(got, want) {
			t.Errorf("scope %s: table claims %v, want %v", s.Name, got, want)
		}
	}
}

func TestClaimFieldsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	var u User
	for _, f := range ClaimFields {
		if seen[f.Form] {
			t.Errorf("form name %s: listed twice", f.Form)
		}
		seen[f.Form] = true
		if (f.Kind == ClaimBool) != (f.Bool != nil) || (f.Kind == ClaimBool) == (f.Str != nil) {
			t.Errorf("%s: kind %s with the wrong accessor", f.Form, f.Kind)
		}
		if f.Kind != ClaimBool && f.Max == 0 {
			t.Errorf("%s: no length bound", f.Form)
		}
		// The address claim's members are the form's Address section,
		// and nothing else is.
		if f.Address != (f.Section == SectionAddress) {
			t.Errorf("%s: address member %v in section %q", f.Form, f.Address, f.Section)
		}
		// Every accessor points at its own field.
		if f.Kind == ClaimBool {
			*f.Bool(&u) = true
		} else {
			*f.Str(&u) = f.Form
		}
	}
	for _, f := range ClaimFields {
		if f.Kind != ClaimBool && *f.Str(&u) != f.Form {
			t.Errorf("%s: accessor shares a field with another: got %q", f.Form, *f.Str(&u))
		}
	}
}

func TestStandardClaims(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name string
		user User
		want map[string]any
	}{
		{"empty user: sub, preferred_username from the username, updated_at",
			User{Subject: "s1", Username: "alice", ProfileUpdatedAt: at},
			map[string]any{"sub": "s1", "preferred_username": "alice", "updated_at": at.Unix()}},
		{"email_verified only beside an email",
			User{Subject: "s1", Username: "alice", EmailVerified: true, PhoneNumber: "+1 555 1212", ProfileUpdatedAt: at},
			map[string]any{"sub": "s1", "preferred_username": "alice", "updated_at": at.Unix(), "phone_number": "+1 555 1212", "phone_number_verified": false}},
		{"address members in one object",
			User{Subject: "s1", Username: "alice", PreferredUsername: "al", Email: "a@example.org", AddressCountry: "NL", AddressLocality: "Leiden", ProfileUpdatedAt: at},
			map[string]any{"sub": "s1", "preferred_username": "al", "updated_at": at.Unix(), "email": "a@example.org", "email_verified": false,
				"address": map[string]any{"country": "NL", "locality": "Leiden"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := StandardClaims(&c.user)
			if len(got) != len(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if m, ok := v.(map[string]any); ok {
					gm, _ := got[k].(map[string]any)
					if !maps.Equal(gm, m) {
						t.Errorf("%s: got %v, want %v", k, got[k], v)
					}
				} else if got[k] != v {
					t.Errorf("%s: got %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestClaimFieldCheck(t *testing.T) {
	for _, c := range []struct {
		form, value, want string
	}{
		{"name", "", ""},
		{"name", "Alice", ""},
		{"name", strings.Repeat("a", 256), "Use at most 255 characters."},
		{"address_formatted", strings.Repeat("a", 1000), ""},
		{"address_formatted", strings.Repeat("a", 1001), "Use at most 1000 characters."},
		{"email", "alice@example.org", ""},
		{"email", "alice", "Enter a valid email address."},
		{"website", "https://example.org", ""},
		{"website", "ftp://example.org", "Enter an http or https URL."},
		{"phone_number", "+1 (425) 555-1212", ""},
		{"phone_number", "call me", "Enter a phone number, such as +1 (425) 555-1212."},
		{"birthdate", "1852-05-04", ""},
		{"birthdate", "1852", ""},
		{"birthdate", "yesterday", "Use YYYY-MM-DD, or YYYY alone."},
		{"locale", "en-GB", ""},
		{"locale", "english!", "Use a language tag such as en-US."},
		{"zoneinfo", "Europe/Paris", ""},
		{"zoneinfo", "Europe Paris", "Use a time zone name such as Europe/Paris."},
	} {
		f, ok := ClaimFieldByForm(c.form)
		if !ok {
			t.Fatalf("no field %s", c.form)
		}
		if got := f.Check(c.value); got != c.want {
			t.Errorf("%s %q: got %q, want %q", c.form, c.value, got, c.want)
		}
	}
}
