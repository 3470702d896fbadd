package views

import (
	"slices"
	"strings"

	"github.com/a-h/templ"
)

// AdminChrome is what every admin page shares: its title, the highlighted
// section, who is signed in, the CSRF token and one-time messages.
type AdminChrome struct {
	Title    string
	Section  string
	Username string
	CSRF     string
	Flashes  []FlashView
}

// FlashView is a one-time message. A Secret is shown once, with a copy
// button.
type FlashView struct {
	Kind    string
	Message string
	Secret  string
}

// Pager links the pages of a list.
type Pager struct {
	Page    int
	Pages   int
	Total   int64
	PrevURL string
	NextURL string
}

// Option is one choice of a select or a set of checkboxes.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// FieldErrors maps a form field's name to what is wrong with it.
type FieldErrors map[string]string

// errorID is the id of the paragraph fieldError shows a field's error in.
func errorID(name string) string { return name + "-error" }

// fieldAttrs are the ARIA attributes of the control (or checkbox fieldset)
// for field name: aria-describedby names the hints by their ids, and, when
// the field has an error, aria-invalid="true" and the error's paragraph
// too, so a screen reader says what is wrong on reaching the control
// (WCAG 2.2 SC 3.3.1). A control without an error carries no aria-invalid.
// Spread it into the element, and keep aria-describedby out of the markup:
//
//	<input id="scopes" name="scopes" { fieldAttrs(v.Errors, "scopes", "scopes-hint")... }/>
func fieldAttrs(errs FieldErrors, name string, hintIDs ...string) templ.Attributes {
	attrs := templ.Attributes{}
	ids := hintIDs
	if _, ok := errs[name]; ok {
		attrs["aria-invalid"] = "true"
		ids = append(slices.Clip(hintIDs), errorID(name))
	}
	if len(ids) > 0 {
		attrs["aria-describedby"] = strings.Join(ids, " ")
	}
	return attrs
}

// adminNav is the sidebar, in order.
var adminNav = []struct{ Section, Label, Href string }{
	{"dashboard", "Dashboard", "/admin"},
	{"clients", "Clients", "/admin/clients"},
	{"users", "Users", "/admin/users"},
	{"scopes", "Scopes", "/admin/scopes"},
	{"consents", "Consents", "/admin/consents"},
	{"tokens", "Tokens", "/admin/tokens"},
	{"codes", "Codes", "/admin/codes"},
	{"keys", "Signing keys", "/admin/keys"},
	{"throttles", "Throttles", "/admin/throttles"},
	{"audit", "Audit log", "/admin/audit"},
}
