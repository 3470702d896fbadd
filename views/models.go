// Package views holds oidcd's pages as templ components. Each page takes one
// view-model struct of display fields; no page reads the database or makes
// a protocol decision.
package views

// LoginView is the sign-in form.
type LoginView struct {
	CSRF       string
	RequestID  string // the parked authorization request, if any
	Next       string // a local page to return to after login, if any
	ClientName string // who asked the user to sign in, if anyone
	Username   string
	Error      string
}

// ScopeView is one requested scope on the consent page.
type ScopeView struct {
	Name        string
	Title       string
	Description string
}

// ConsentView is the consent page.
type ConsentView struct {
	CSRF       string
	RequestID  string
	Username   string
	ClientName string
	LogoURL    string
	WebsiteURL string
	TermsURL   string
	Scopes     []ScopeView
}

// ErrorView is a readable error page, shown when oidcd cannot (or must not)
// send the user back to the client.
type ErrorView struct {
	Status  int
	Title   string
	Message string
	// Switch, when set, offers to sign in as someone else.
	Switch *SwitchAccountView
	// Hint, when set, tells the person what to do next.
	Hint string
	// Links are the ways forward from the page (home, the admin site).
	Links []LinkView
}

// LinkView is one way forward from an error page.
type LinkView struct {
	Href  string
	Label string
}

// HomeView is what a signed-in user sees at the root.
type HomeView struct {
	CSRF     string
	Username string
}

// LogoutView is the sign-out confirmation and the signed-out notice.
type LogoutView struct {
	CSRF     string
	Username string
	Done     bool
}

// FormPostView is an authorization response sent by form_post: the form
// posts Fields to Action, the client's registered redirect URI.
type FormPostView struct {
	Action string
	Fields []FormField
}

// FormField is one hidden field of a form.
type FormField struct {
	Name  string
	Value string
}

// SelectAccountView is the account chooser.
type SelectAccountView struct {
	CSRF       string
	RequestID  string
	ClientName string
	Accounts   []SignedInAccount
}

// SignedInAccount is one account signed in on this browser.
type SignedInAccount struct {
	ID       string // the user's id, which the form posts back
	Username string
	Current  bool
}

// CheckSessionView is the check_session_iframe page.
type CheckSessionView struct {
	Cookie string // the browser-state cookie's name
}

// SwitchAccountView offers "Not you? Use another account" on a page.
type SwitchAccountView struct {
	CSRF      string
	RequestID string // the parked authorization request, if any
	Next      string // a local page to return to after login, if any
}

// EndSessionView is the confirmation of an RP-initiated logout (OpenID
// RP-Initiated Logout 1.0 §2), shown when the request's id_token_hint is
// missing or names another user than the signed-in one. The hidden fields
// are checked again when the form comes back.
type EndSessionView struct {
	CSRF       string
	Username   string
	ClientName string // "" when no client was named
	ClientID   string
	// PostLogoutRedirectURI is registered for the client; "" for none.
	PostLogoutRedirectURI string
	State                 string
}
