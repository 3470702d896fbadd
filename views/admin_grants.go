package views

// GrantFilterView says which user or client a consents, tokens or codes
// list is narrowed to, by name, with a link that clears the filter.
type GrantFilterView struct {
	UserID     uint
	Username   string
	ClientID   uint
	ClientName string
	ClearURL   string
	// NoSuchUser is a username typed in the filter form that names no
	// user (the list is then empty), or "".
	NoSuchUser string
}

// Active reports whether the list is filtered at all.
func (f GrantFilterView) Active() bool { return f.UserID != 0 || f.ClientID != 0 }

// ConsentRow is one consent in the list.
type ConsentRow struct {
	ID         uint
	UserID     uint
	Username   string
	ClientID   uint
	ClientName string
	Scopes     string
	Given      string
	Expires    string
	Expired    bool
}

// ConsentListView is the consents list.
type ConsentListView struct {
	AdminChrome
	Filter   GrantFilterView
	Consents []ConsentRow
	Pager    Pager
	// Back is where a revoke returns to: this list with its filter.
	Back    string
	Cols    map[string]Column
	Filters ListFilterForm
	Bulk    BulkView
}

// TokenRow is one active token pair in the list. It never holds the token
// value or its hash.
type TokenRow struct {
	ID         uint
	UserID     uint
	Username   string // "" for a token issued to the client itself
	ClientID   uint
	ClientName string
	Scopes     string
	Issued     string
	Expires    string
	Refresh    string // when the refresh token expires, or ""
	// State is "active", "revoked" or "expired".
	State string
	// Refreshed is when the pair was replaced by a refresh, or "".
	Refreshed string
}

// TokenListView is the active tokens list.
type TokenListView struct {
	AdminChrome
	Filter GrantFilterView
	Tokens []TokenRow
	Pager  Pager
	// Back is where a revoke returns to: this list with its filter.
	Back    string
	Cols    map[string]Column
	Filters ListFilterForm
	Bulk    BulkView
	// Status is the status the list shows (active, revoked, expired, all).
	Status string
}

// CodeRow is one authorization code in the list, without the code.
type CodeRow struct {
	ID         uint
	UserID     uint
	Username   string
	ClientID   uint
	ClientName string
	Scope      string
	Created    string
	Expires    string
	Used       string // when it was exchanged, or ""
}

// CodeListView is the codes list.
type CodeListView struct {
	AdminChrome
	Filter  GrantFilterView
	Codes   []CodeRow
	Pager   Pager
	Back    string
	Cols    map[string]Column
	Filters ListFilterForm
	Bulk    BulkView
}
