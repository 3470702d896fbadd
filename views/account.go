package views

// AccountView is the end user's own page (/account): the apps they
// allowed, signing out everywhere, and the password form.
type AccountView struct {
	CSRF     string
	Username string
	Flashes  []FlashView
	Consents []AccountConsent
	// PasswordErrors are the password form's refused fields, by name
	// (current_password, password, password_confirm).
	PasswordErrors FieldErrors
}

// AccountConsent is one app the user allowed.
type AccountConsent struct {
	ClientName string
	LogoURL    string
	// Scopes are what the app may do, with their titles; openid, which
	// only confirms who the user is, is not listed (as on the consent
	// page).
	Scopes []ScopeView
	// Given and Expires are display dates; GivenISO and ExpiresISO the
	// same instants for <time datetime>.
	Given, GivenISO     string
	Expires, ExpiresISO string
	// Expired: the app asks again on its next sign-in, but the tokens it
	// already holds may still work until the consent is withdrawn.
	Expired bool
	// WithdrawURL is the confirmation page of the withdrawal.
	WithdrawURL string
}

// WithdrawConsentView is the confirmation before a consent is withdrawn.
type WithdrawConsentView struct {
	CSRF       string
	ClientName string
	LogoURL    string
	Scopes     []ScopeView
	Action     string
}

// EndAllSessionsView is the confirmation before the user signs out of
// every session: how many there are, and how many apps are told.
type EndAllSessionsView struct {
	CSRF string
	// Sessions counts the user's browser sessions, this one included;
	// Apps, the apps told by back-channel logout.
	Sessions, Apps int64
}
