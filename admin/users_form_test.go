package admin

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"oidcd/models"
	"oidcd/views"
)

// TestClaimsFormChecks: the user claims form's rules (the formats of
// OpenID Connect Core §5.1), field by field; each bad value is reported
// under its own field and nothing else.
func TestClaimsFormChecks(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", models.MaxClaimLength+1)
	tests := []struct {
		name string
		form url.Values
		want []string // fields with an error, sorted
	}{
		{"empty form", url.Values{}, nil},
		{"every field valid", url.Values{
			"name": {"Alice Liddell"}, "given_name": {"Alice"}, "family_name": {"Liddell"}, "middle_name": {"P"},
			"nickname": {"al"}, "preferred_username": {"alice"}, "email": {"alice@example.org"}, "email_verified": {"on"},
			"phone_number": {"+1 (425) 555-1212;ext=5678"}, "phone_number_verified": {"on"},
			"address_formatted": {"1 Main St\nSpringfield"}, "address_street": {"1 Main St"}, "address_locality": {"Springfield"},
			"address_region": {"IL"}, "address_postal_code": {"62701"}, "address_country": {"US"},
			"profile": {"https://example.org/alice"}, "picture": {"https://example.org/a.png"}, "website": {"http://alice.example"},
			"locale": {"en-US"}, "zoneinfo": {"America/Los_Angeles"}, "birthdate": {"1852-05-04"}, "gender": {"female"},
		}, nil},
		{"a name at the limit", url.Values{"name": {long[1:]}}, nil},
		{"a name over the limit", url.Values{"name": {long}}, []string{"name"}},
		{"spaces do not count toward the limit", url.Values{"nickname": {"  " + long[1:] + "  "}}, nil},
		{"several fields over the limit", url.Values{"given_name": {long}, "gender": {long}, "address_country": {long}}, []string{"address_country", "gender", "given_name"}},
		{"a formatted address at 1000", url.Values{"address_formatted": {strings.Repeat("a", 1000)}}, nil},
		{"a formatted address over 1000", url.Values{"address_formatted": {strings.Repeat("a", 1001)}}, []string{"address_formatted"}},
		{"an email without @", url.Values{"email": {"alice.example.org"}}, []string{"email"}},
		{"an email with a space", url.Values{"email": {"alice @example.org"}}, []string{"email"}},
		{"a profile URL that is not http", url.Values{"profile": {"ftp://example.org/alice"}}, []string{"profile"}},
		{"a picture URL over 2000 bytes", url.Values{"picture": {"https://example.org/" + strings.Repeat("p", 2000)}}, []string{"picture"}},
		{"a relative website", url.Values{"website": {"/alice"}}, []string{"website"}},
		{"a phone number with letters", url.Values{"phone_number": {"call me"}}, []string{"phone_number"}},
		{"a phone number too short", url.Values{"phone_number": {"12"}}, []string{"phone_number"}},
		{"a birth year alone (Core §5.1)", url.Values{"birthdate": {"1852"}}, nil},
		{"a birthdate in another format", url.Values{"birthdate": {"04/05/1852"}}, []string{"birthdate"}},
		{"a locale with an underscore", url.Values{"locale": {"en_US"}}, nil},
		{"a locale with a space", url.Values{"locale": {"en US"}}, []string{"locale"}},
		{"a zoneinfo with a space", url.Values{"zoneinfo": {"Europe/Paris Time"}}, []string{"zoneinfo"}},
		{"a zoneinfo path climbing up", url.Values{"zoneinfo": {"../etc"}}, []string{"zoneinfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := claimsForm(formContext(tt.form))
			if got := errorFields(errs); !slices.Equal(got, tt.want) {
				t.Errorf("errors on %q (%v), want on %q", got, errs, tt.want)
			}
		})
	}
}

// TestAccountChecks: the username, email and password rules the setup
// page and the new-user form share.
func TestAccountChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		username, email, pw, again string
		want                       []string
	}{
		{"valid", "alice", "alice@example.org", "long enough", "long enough", nil},
		{"no email is fine", "alice", "", "long enough", "long enough", nil},
		{"no username", "", "", "long enough", "long enough", []string{"username"}},
		{"a username with a space", "al ice", "", "long enough", "long enough", []string{"username"}},
		{"a username with a tab", "al\tice", "", "long enough", "long enough", []string{"username"}},
		{"a username at 150", strings.Repeat("u", 150), "", "long enough", "long enough", nil},
		{"a username over 150", strings.Repeat("u", 151), "", "long enough", "long enough", []string{"username"}},
		{"an email over 254", "alice", strings.Repeat("e", 243) + "@example.org", "long enough", "long enough", []string{"email"}},
		{"a password of 7", "alice", "", "1234567", "1234567", []string{"password"}},
		{"a password of 8", "alice", "", "12345678", "12345678", nil},
		{"a password of 72 bytes", "alice", "", strings.Repeat("p", 72), strings.Repeat("p", 72), nil},
		{"a password over 72 bytes (bcrypt's limit)", "alice", "", strings.Repeat("p", 73), strings.Repeat("p", 73), []string{"password"}},
		{"a password of 36 two-byte characters is 72 bytes", "alice", "", strings.Repeat("é", 36), strings.Repeat("é", 36), nil},
		{"a password of 37 two-byte characters is over", "alice", "", strings.Repeat("é", 37), strings.Repeat("é", 37), []string{"password"}},
		{"confirmation differs", "alice", "", "long enough", "long enougH", []string{"password_confirm"}},
		{"everything wrong", "", "nope", "short", "other", []string{"email", "password", "username"}},
	}
	for _, tt := range tests {
		errs := views.FieldErrors{}
		checkUsername(errs, tt.username)
		checkEmail(errs, tt.email)
		checkPassword(errs, tt.pw, tt.again)
		if got := errorFields(errs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: errors on %q (%v), want on %q", tt.name, got, errs, tt.want)
		}
	}
}

// TestClaimSectionsHoldEveryClaim: every claim of the table sits in
// exactly one known section of the user form, so a claim added to
// models.ClaimFields without a section (or with one the form does not
// show) fails here instead of vanishing from the page.
func TestClaimSectionsHoldEveryClaim(t *testing.T) {
	t.Parallel()
	known := map[models.ClaimSection]bool{}
	for _, s := range userSections {
		if s.ID == "" || s.Title == "" || known[s.ID] {
			t.Errorf("user section %+v: want a unique id and a title", s)
		}
		known[s.ID] = true
	}
	for _, f := range models.ClaimFields {
		if !known[f.Section] {
			t.Errorf("claim %s: section %q, want one of the form's sections", f.Form, f.Section)
		}
	}

	vals := views.UserClaimValues{}
	for _, f := range models.ClaimFields {
		vals[f.Form] = "v-" + f.Form
	}
	sections := claimSections(vals)
	var order []string
	in := map[string][]string{} // form name: the sections holding it
	for _, s := range sections {
		order = append(order, s.ID)
		for _, g := range s.Groups {
			if len(g.Fields) == 0 {
				t.Errorf("section %s: an empty group %q", s.ID, g.Legend)
			}
			for _, f := range g.Fields {
				in[f.Name] = append(in[f.Name], s.ID)
			}
		}
	}
	if want := []string{"profile", "contact", "address"}; !slices.Equal(order, want) {
		t.Errorf("sections %v, want %v", order, want)
	}
	for _, f := range models.ClaimFields {
		if got := in[f.Form]; !slices.Equal(got, []string{string(f.Section)}) {
			t.Errorf("claim %s: shown in sections %v, want only in %s", f.Form, got, f.Section)
		}
	}
	if len(in) != len(models.ClaimFields) {
		t.Errorf("the sections show %d fields, want the table's %d", len(in), len(models.ClaimFields))
	}
}

// TestClaimSectionsKeepTableOrder: within a section the fields follow
// the claims table, a group's fields stay together in one fieldset, and
// each field carries its value.
func TestClaimSectionsKeepTableOrder(t *testing.T) {
	t.Parallel()
	vals := views.UserClaimValues{"email": "a@example.org", "email_verified": "true", "address_country": "NL"}
	for _, s := range claimSections(vals) {
		var got, want []string
		for _, g := range s.Groups {
			for _, f := range g.Fields {
				got = append(got, f.Name)
			}
		}
		for _, f := range models.ClaimFields {
			if string(f.Section) == s.ID {
				want = append(want, f.Form)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("section %s: fields %v, want %v", s.ID, got, want)
		}
		if s.ID != "contact" {
			continue
		}
		var legends []string
		for _, g := range s.Groups {
			legends = append(legends, g.Legend)
			if g.Legend == "Email" && (g.Fields[0].Value != "a@example.org" || !g.Fields[1].Checked) {
				t.Errorf("email group %+v: want the email and a ticked Verified", g.Fields)
			}
		}
		if !slices.Equal(legends, []string{"Email", "Phone"}) {
			t.Errorf("contact groups %q, want Email and Phone", legends)
		}
	}
}
