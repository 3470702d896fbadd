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

// UserEditView is one user: the claims form, the password form and the
// account actions.
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
	Claims         []ClaimGroup
	Attributes     string // "key = value" lines
	Errors         FieldErrors
	PasswordErrors FieldErrors
}
