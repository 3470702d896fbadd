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
}

// UserListView is the users list.
type UserListView struct {
	AdminChrome
	Query string
	Users []UserRow
	Pager Pager
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
// typed in the edit form.
type UserClaimValues struct {
	Name                string
	GivenName           string
	FamilyName          string
	MiddleName          string
	Nickname            string
	PreferredUsername   string
	Email               string
	EmailVerified       bool
	PhoneNumber         string
	PhoneNumberVerified bool
	AddressFormatted    string
	AddressStreet       string
	AddressLocality     string
	AddressRegion       string
	AddressPostalCode   string
	AddressCountry      string
	Profile             string
	Picture             string
	Website             string
	Locale              string
	Zoneinfo            string
	Birthdate           string
	Gender              string
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
	Values         UserClaimValues
	Errors         FieldErrors
	PasswordErrors FieldErrors
}
