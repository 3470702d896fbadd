package views

// Column is a sortable column header: a link that sorts the list by
// Key, and Sort ("ascending", "descending" or "") for aria-sort.
type Column struct {
	Label string
	Key   string
	URL   string
	Sort  string
}

// ListFilterForm is a list's filter form (a GET form): its filters, its
// search box when Search, and the order it keeps.
type ListFilterForm struct {
	Action string
	Search bool
	// Hint says what the search looks in.
	Hint string
	Q    string
	// Sort is the order to keep, as the sort parameter, or "".
	Sort   string
	Fields []ListFilterField
	// Active: something filters the list; ClearURL shows it all.
	Active   bool
	ClearURL string
}

// ListFilterField is one filter: a select of Options, or a text field
// (Text) holding Value.
type ListFilterField struct {
	Name, Label string
	Options     []Option
	Text        bool
	Value       string
}

// BulkView is the bulk action form of a list: where it posts, what its
// button says, and where the action returns to.
type BulkView struct {
	Action string
	Label  string
	Back   string
}
