package models

import (
	"strings"
	"unicode/utf8"
)

// The rules for what a person types about a user or a client's name, owned
// here so that the setup page, the admin forms and `oidcd createuser` and
// `createclient` refuse the same values with the same words. (A client's
// other rules have one owner each too: models.CheckRedirectURI,
// oauth.CheckResponseTypes, oauth.CheckGrantTypes, jose.CheckClientAlg and
// Store.UnknownClientScope.)

// Password lengths: bcrypt reads at most 72 bytes, so a longer password is
// refused rather than silently cut (HashPassword).
const (
	MinPasswordLen   = 8
	MaxPasswordBytes = 72
	maxUsernameLen   = 150
	maxEmailLen      = 254 // RFC 5321 §4.5.3.1.3, less the angle brackets
	maxClientNameLen = 200
)

// FieldError is a value a rule refused: Field names the form field,
// Message is a sentence for the person who typed it.
type FieldError struct {
	Field   string
	Message string
}

// Error is the message for a command line: lower case, no period.
func (e *FieldError) Error() string {
	m := strings.TrimSuffix(e.Message, ".")
	if m != "" {
		m = strings.ToLower(m[:1]) + m[1:]
	}
	return e.Field + ": " + m
}

// CheckUsername refuses an empty username, one over 150 characters, and
// one with white space (it is typed on the login page).
func CheckUsername(username string) error {
	switch {
	case username == "":
		return &FieldError{"username", "Enter a username."}
	case utf8.RuneCountInString(username) > maxUsernameLen:
		return &FieldError{"username", "Use at most 150 characters."}
	case strings.ContainsAny(username, " \t\r\n"):
		return &FieldError{"username", "A username cannot contain spaces."}
	}
	return nil
}

// CheckEmail refuses an email address that cannot be one; "" is allowed
// (the email claim is optional).
func CheckEmail(email string) error {
	if email != "" && (!strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n") || len(email) > maxEmailLen) {
		return &FieldError{"email", "Enter a valid email address."}
	}
	return nil
}

// CheckClientName refuses an empty client name and one over 200
// characters: users read it on the consent page.
func CheckClientName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &FieldError{"name", "Enter a name. Users see it on the consent page."}
	case utf8.RuneCountInString(name) > maxClientNameLen:
		return &FieldError{"name", "Use at most 200 characters."}
	}
	return nil
}

// CheckPassword refuses a password shorter than MinPasswordLen bytes or
// longer than MaxPasswordBytes.
func CheckPassword(password string) error {
	switch {
	case len(password) < MinPasswordLen:
		return &FieldError{"password", "Use at least 8 characters."}
	case len(password) > MaxPasswordBytes:
		return &FieldError{"password", "Use at most 72 bytes."}
	}
	return nil
}

// DerivedName is the name claim of a new user for whom none was given: the
// given and family names joined by a space (either may be empty). The admin
// site's new user form and `oidcd createuser` both use it.
func DerivedName(given, family string) string {
	return strings.TrimSpace(given + " " + family)
}
