package views

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

// adminNav is the sidebar, in order.
var adminNav = []struct{ Section, Label, Href string }{
	{"dashboard", "Dashboard", "/admin"},
	{"clients", "Clients", "/admin/clients"},
	{"users", "Users", "/admin/users"},
	{"consents", "Consents", "/admin/consents"},
	{"tokens", "Tokens", "/admin/tokens"},
	{"codes", "Codes", "/admin/codes"},
	{"keys", "Signing keys", "/admin/keys"},
	{"audit", "Audit log", "/admin/audit"},
}
