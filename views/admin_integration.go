package views

// LibrarySnippet is one library's settings in the integration panel,
// filled in for a client. Code is empty when the library does not fit the
// client (oauth2-proxy needs a secret, oidc-client-ts cannot keep one);
// Notes then say why.
type LibrarySnippet struct {
	ID    string // "go-oidc": the section's and the code's test id
	Name  string
	Notes []string
	Label string
	Code  string
}
