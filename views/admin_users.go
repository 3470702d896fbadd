package views

// UserRow is one user in the list.
type UserRow struct {
	ID        uint
	Username  string
	Email     string
	Name      string
	Active    bool
	Superuser bool
	LastLogin string
	Created   string
}

// UserListView is the users list.
type UserListView struct {
	AdminChrome
	Query   string
	Users   []UserRow
	Pager   Pager
	Cols    map[string]Column
	Filters ListFilterForm
}

// NewUserValues are the create-user form's fields as typed; the password
// is never sent back.
type NewUserValues struct {
	Username      string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	Superuser     bool
	Active        bool
}

// NewUserView is the create-user form.
type NewUserView struct {
	AdminChrome
	Values NewUserValues
	Errors FieldErrors
}

// UserClaimValues are the standard claims (OpenID Connect Core §5.1) as
// typed in the edit form, by form field name; a checkbox is "true" or
// "false".
type UserClaimValues map[string]string

// ClaimSection is one section of the claims form and its fields.
type ClaimSection struct {
	ID     string
	Title  string
	Groups []ClaimGroup
}

// ClaimGroup is a run of claim fields, in a fieldset when Legend is set.
type ClaimGroup struct {
	Legend string
	Fields []ClaimInput
}

// ClaimInput is one field of the claims form.
type ClaimInput struct {
	Name     string
	Label    string
	Type     string
	Value    string
	Checkbox bool
	Checked  bool
}

// UserEditView is one user: the account, the claims form in sections,
// and the password form and account actions under security and sessions.
type UserEditView struct {
	AdminChrome
	ID             uint
	Username       string
	Subject        string
	Active         bool
	Superuser      bool
	IsSelf         bool
	Created        string
	LastLogin      string
	Tokens         int64
	Consents       int64
	Sections       []ClaimSection
	Attributes     string // "key = value" lines
	Errors         FieldErrors
	PasswordErrors FieldErrors
}

// userEditSections are the user page's sections, in order, for its
// section links.
func userEditSections(v UserEditView) []SectionLink {
	links := []SectionLink{{"account", "Account"}}
	for _, s := range v.Sections {
		links = append(links, SectionLink{s.ID, s.Title})
	}
	return append(links, SectionLink{"attributes", "Attributes"}, SectionLink{"security", "Security & sessions"})
}
