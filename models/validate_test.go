package models_test

import (
	"strings"
	"testing"

	"oidcd/models"
)

func TestUserRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(string) error
		value string
		want  string // "" = accepted; else the command-line message
	}{
		{"username", models.CheckUsername, "alice", ""},
		{"username empty", models.CheckUsername, "", "username: enter a username"},
		{"username with a space", models.CheckUsername, "bob smith", "username: a username cannot contain spaces"},
		{"username with a tab", models.CheckUsername, "bob\tsmith", "username: a username cannot contain spaces"},
		{"username 150 runes", models.CheckUsername, strings.Repeat("é", 150), ""},
		{"username 151 runes", models.CheckUsername, strings.Repeat("a", 151), "username: use at most 150 characters"},
		{"email empty", models.CheckEmail, "", ""},
		{"email", models.CheckEmail, "a@example.org", ""},
		{"email without @", models.CheckEmail, "not an email", "email: enter a valid email address"},
		{"email with a space", models.CheckEmail, "a b@example.org", "email: enter a valid email address"},
		{"email too long", models.CheckEmail, strings.Repeat("a", 250) + "@x.io", "email: enter a valid email address"},
		{"client name", models.CheckClientName, "Test RP", ""},
		{"client name blank", models.CheckClientName, "  ", "name: enter a name. Users see it on the consent page"},
		{"client name 200 runes", models.CheckClientName, strings.Repeat("é", 200), ""},
		{"client name 201 runes", models.CheckClientName, strings.Repeat("a", 201), "name: use at most 200 characters"},
		{"password 8", models.CheckPassword, "12345678", ""},
		{"password 7", models.CheckPassword, "1234567", "password: use at least 8 characters"},
		{"password 72 bytes", models.CheckPassword, strings.Repeat("p", 72), ""},
		{"password 73 bytes", models.CheckPassword, strings.Repeat("p", 73), "password: use at most 72 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.value)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDerivedName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, family, want string }{
		{"Ada", "Lovelace", "Ada Lovelace"},
		{"Ada", "", "Ada"},
		{"", "Lovelace", "Lovelace"},
		{"", "", ""},
	} {
		if got := models.DerivedName(c.given, c.family); got != c.want {
			t.Errorf("DerivedName(%q, %q) = %q, want %q", c.given, c.family, got, c.want)
		}
	}
}
