package views

// ScopeRow is one custom scope in the list.
type ScopeRow struct {
	ID     uint
	Name   string
	Title  string
	Claims string // "claim ← attribute, …"
}

// ScopeListView lists the custom scopes, after the standard ones they
// stand beside.
type ScopeListView struct {
	AdminChrome
	Standard []ScopeRow
	Scopes   []ScopeRow
}

// ScopeFormValues are the custom scope form's fields as typed.
type ScopeFormValues struct {
	Name        string
	Title       string
	Description string
	Claims      string // "claim = attribute" lines
}

// ScopeFormView is the form that creates or edits a custom scope.
type ScopeFormView struct {
	AdminChrome
	IsNew  bool
	ID     uint
	Values ScopeFormValues
	Errors FieldErrors
	// Fields are the standard fields a claim can be read from.
	Fields []string
}
