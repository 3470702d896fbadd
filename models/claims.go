package models

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ClaimKind is how a standard claim is typed, shown and checked.
type ClaimKind string

// Claim kinds. A ClaimBool field is read and written through Field.Bool,
// every other kind through Field.Str.
const (
	ClaimText     ClaimKind = "text"
	ClaimEmail    ClaimKind = "email"
	ClaimURL      ClaimKind = "url"
	ClaimPhone    ClaimKind = "phone"
	ClaimBool     ClaimKind = "bool"
	ClaimDate     ClaimKind = "date"     // birthdate: YYYY-MM-DD or YYYY
	ClaimLocale   ClaimKind = "locale"   // a BCP 47 language tag
	ClaimZoneinfo ClaimKind = "zoneinfo" // a tz database name
)

// ClaimField is one standard user claim (OpenID Connect Core §5.1): what
// the ID token and /userinfo release, what the admin user form shows and
// checks, and what the command line sets all read this one descriptor.
type ClaimField struct {
	// Claim is the claim's name; for a member of the address claim
	// (Core §5.1.1) it is the member's name inside "address".
	Claim string
	// Form names the field in the admin form and the audit log; it is
	// Claim except for the address members ("address_street").
	Form  string
	Label string
	Kind  ClaimKind
	// Scope is the standard scope that releases the claim (Core §5.4).
	Scope string
	// Address marks a member of the address claim.
	Address bool
	// Section is the part of the admin user form the field sits in.
	Section ClaimSection
	// Group is a fieldset inside the section that gathers a field with
	// the one it qualifies ("" for none): an email and its "Verified".
	Group string
	// Max bounds the value's length in bytes.
	Max int
	// Requires names the claim whose value must be set for this one to be
	// released: email_verified says nothing without an email.
	Requires string
	Str      func(*User) *string // every kind but ClaimBool
	Bool     func(*User) *bool   // ClaimBool
}

// ClaimSection is a part of the admin user form, as Django's fieldsets
// split a long form: every standard claim sits in exactly one.
type ClaimSection string

// The sections of the claims, in the form's order.
const (
	SectionProfile ClaimSection = "profile"
	SectionContact ClaimSection = "contact"
	SectionAddress ClaimSection = "address"
)

// MaxClaimLength bounds a free-text claim.
const MaxClaimLength = 255

// ClaimFields are the standard user claims, in the admin form's order
// within each section.
// updated_at is not among them: it is no field to edit but the time the
// others (or the attributes) last changed, User.ProfileUpdatedAt.
var ClaimFields = []ClaimField{
	{Claim: "name", Form: "name", Label: "Full name", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.Name }},
	{Claim: "given_name", Form: "given_name", Label: "Given name", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.GivenName }},
	{Claim: "family_name", Form: "family_name", Label: "Family name", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.FamilyName }},
	{Claim: "middle_name", Form: "middle_name", Label: "Middle name", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.MiddleName }},
	{Claim: "nickname", Form: "nickname", Label: "Nickname", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.Nickname }},
	{Claim: "preferred_username", Form: "preferred_username", Label: "Preferred username", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.PreferredUsername }},
	{Claim: "email", Form: "email", Label: "Email", Kind: ClaimEmail, Scope: "email", Section: SectionContact, Group: "Email", Max: 254, Str: func(u *User) *string { return &u.Email }},
	{Claim: "email_verified", Form: "email_verified", Label: "Verified", Kind: ClaimBool, Scope: "email", Section: SectionContact, Group: "Email", Requires: "email", Bool: func(u *User) *bool { return &u.EmailVerified }},
	{Claim: "phone_number", Form: "phone_number", Label: "Phone number", Kind: ClaimPhone, Scope: "phone", Section: SectionContact, Group: "Phone", Max: 50, Str: func(u *User) *string { return &u.PhoneNumber }},
	{Claim: "phone_number_verified", Form: "phone_number_verified", Label: "Verified", Kind: ClaimBool, Scope: "phone", Section: SectionContact, Group: "Phone", Requires: "phone_number", Bool: func(u *User) *bool { return &u.PhoneNumberVerified }},
	{Claim: "formatted", Form: "address_formatted", Label: "Formatted", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: 1000, Str: func(u *User) *string { return &u.AddressFormatted }},
	{Claim: "street_address", Form: "address_street", Label: "Street", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: MaxClaimLength, Str: func(u *User) *string { return &u.AddressStreet }},
	{Claim: "locality", Form: "address_locality", Label: "Locality", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: MaxClaimLength, Str: func(u *User) *string { return &u.AddressLocality }},
	{Claim: "region", Form: "address_region", Label: "Region", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: MaxClaimLength, Str: func(u *User) *string { return &u.AddressRegion }},
	{Claim: "postal_code", Form: "address_postal_code", Label: "Postal code", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: MaxClaimLength, Str: func(u *User) *string { return &u.AddressPostalCode }},
	{Claim: "country", Form: "address_country", Label: "Country", Kind: ClaimText, Scope: "address", Address: true, Section: SectionAddress, Max: MaxClaimLength, Str: func(u *User) *string { return &u.AddressCountry }},
	{Claim: "profile", Form: "profile", Label: "Profile page URL", Kind: ClaimURL, Scope: "profile", Section: SectionProfile, Max: 2000, Str: func(u *User) *string { return &u.Profile }},
	{Claim: "picture", Form: "picture", Label: "Picture URL", Kind: ClaimURL, Scope: "profile", Section: SectionProfile, Max: 2000, Str: func(u *User) *string { return &u.Picture }},
	{Claim: "website", Form: "website", Label: "Website", Kind: ClaimURL, Scope: "profile", Section: SectionProfile, Max: 2000, Str: func(u *User) *string { return &u.Website }},
	{Claim: "locale", Form: "locale", Label: "Locale (such as en-US)", Kind: ClaimLocale, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.Locale }},
	{Claim: "zoneinfo", Form: "zoneinfo", Label: "Time zone (such as Europe/Paris)", Kind: ClaimZoneinfo, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.Zoneinfo }},
	{Claim: "birthdate", Form: "birthdate", Label: "Birthdate (YYYY-MM-DD, or YYYY)", Kind: ClaimDate, Scope: "profile", Section: SectionProfile, Max: 10, Str: func(u *User) *string { return &u.Birthdate }},
	{Claim: "gender", Form: "gender", Label: "Gender", Kind: ClaimText, Scope: "profile", Section: SectionProfile, Max: MaxClaimLength, Str: func(u *User) *string { return &u.Gender }},
}

// ClaimFieldByForm finds a field by its form name.
func ClaimFieldByForm(form string) (ClaimField, bool) {
	for _, f := range ClaimFields {
		if f.Form == form {
			return f, true
		}
	}
	return ClaimField{}, false
}

// Get is the field's value as text ("true"/"false" for a ClaimBool).
func (f ClaimField) Get(u *User) string {
	if f.Kind == ClaimBool {
		if *f.Bool(u) {
			return "true"
		}
		return "false"
	}
	return *f.Str(u)
}

// Shapes of the claims OpenID Connect Core §5.1 gives a format.
var (
	birthdateRE = regexp.MustCompile(`^\d{4}(-\d{2}-\d{2})?$`)
	localeRE    = regexp.MustCompile(`^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$`)
	zoneinfoRE  = regexp.MustCompile(`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`)
	phoneRE     = regexp.MustCompile(`^\+?[0-9 ().\-]{3,30}(;ext=[0-9]{1,10})?$`)
)

// Check returns why v is no valid value of the field, as a sentence for
// a form, or "" when it is one. An empty value is always valid: it
// leaves the claim out.
func (f ClaimField) Check(v string) string {
	if v == "" || f.Kind == ClaimBool {
		return ""
	}
	switch f.Kind {
	case ClaimEmail:
		if !strings.Contains(v, "@") || strings.ContainsAny(v, " \t\r\n") || len(v) > f.Max {
			return "Enter a valid email address."
		}
	case ClaimURL:
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > f.Max {
			return "Enter an http or https URL."
		}
	case ClaimPhone:
		if !phoneRE.MatchString(v) {
			return "Enter a phone number, such as +1 (425) 555-1212."
		}
	case ClaimDate:
		if !birthdateRE.MatchString(v) {
			return "Use YYYY-MM-DD, or YYYY alone."
		}
	case ClaimLocale:
		if len(v) > f.Max {
			break
		}
		if !localeRE.MatchString(v) {
			return "Use a language tag such as en-US."
		}
	case ClaimZoneinfo:
		if len(v) > f.Max {
			break
		}
		if !zoneinfoRE.MatchString(v) {
			return "Use a time zone name such as Europe/Paris."
		}
	}
	if len(v) > f.Max {
		return fmt.Sprintf("Use at most %d characters.", f.Max)
	}
	return ""
}

// StandardClaims returns every standard claim of u that has a value
// (OpenID Connect Core §5.1, §5.3.2: empty claims are left out), with sub
// and updated_at, keyed by claim name; the address members are gathered
// in one "address" object, left out when all are empty.
// preferred_username falls back to the username.
func StandardClaims(u *User) map[string]any {
	claims := make(map[string]any, len(ClaimFields)+2)
	address := map[string]any{}
	for _, f := range ClaimFields {
		if f.Address {
			if v := *f.Str(u); v != "" {
				address[f.Claim] = v
			}
			continue
		}
		if f.Kind == ClaimBool {
			if f.Requires == "" || claims[f.Requires] != nil {
				claims[f.Claim] = *f.Bool(u)
			}
			continue
		}
		if v := *f.Str(u); v != "" {
			claims[f.Claim] = v
		}
	}
	if _, ok := claims["preferred_username"]; !ok && u.Username != "" {
		claims["preferred_username"] = u.Username
	}
	if len(address) > 0 {
		claims["address"] = address
	}
	claims["sub"] = u.Subject
	updated := u.ProfileUpdatedAt
	if updated.IsZero() { // a row written around CreateUser
		updated = u.UpdatedAt
	}
	claims["updated_at"] = updated.Unix()
	return claims
}

// ScopeClaims returns the claims a standard scope releases (OpenID
// Connect Core §5.4), as ClaimFields assigns them; updated_at goes with
// profile and the address members with address as one claim.
func ScopeClaims(scope string) []string {
	var out []string
	for _, f := range ClaimFields {
		if f.Scope != scope {
			continue
		}
		name := f.Claim
		if f.Address {
			name = "address"
		}
		if len(out) == 0 || out[len(out)-1] != name {
			out = append(out, name)
		}
	}
	if scope == "profile" {
		out = append(out, "updated_at")
	}
	return out
}
