package views

// ClientRow is one client in the list.
type ClientRow struct {
	ID           uint
	ClientID     string
	Name         string
	Type         string
	RedirectURIs []string
	Created      string
	// LastUsed is when the client last had a token issued, or "—".
	LastUsed string
}

// ClientListView is the clients list.
type ClientListView struct {
	AdminChrome
	Query   string
	Clients []ClientRow
	Pager   Pager
	Cols    map[string]Column
	Filters ListFilterForm
}

// ClientFormValues are the client form's fields as typed.
type ClientFormValues struct {
	Name                   string
	ClientType             string
	ResponseTypes          []string
	GrantTypes             []string
	RedirectURIs           string // one per line
	PostLogoutRedirectURIs string // one per line
	// BackchannelLogoutURI and BackchannelLogoutSessionRequired are the
	// client's Back-Channel Logout registration.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	Scopes                           string // space-separated
	JWTAlg                           string
	WebsiteURL                       string
	TermsURL                         string
	ContactEmail                     string
	RequireConsent                   bool
	ReuseConsent                     bool
}

// ClientFormView is the create and edit form.
type ClientFormView struct {
	AdminChrome
	IsNew               bool
	ID                  uint
	ClientID            string
	LogoURL             string
	Values              ClientFormValues
	Errors              FieldErrors
	TypeChoices         []Option
	ResponseTypeChoices []Option
	GrantTypeChoices    []Option
	AlgChoices          []Option
}

// IntegrationView is the seed walkthrough filled in for one client.
type IntegrationView struct {
	DiscoveryURL string
	ClientID     string
	AuthorizeURL string
	TokenCurl    string
	UserinfoCurl string
	RefreshCurl  string
	Public       bool
	Libraries    []LibrarySnippet
}

// ClientDetailView is one client, its counts and its integration panel.
type ClientDetailView struct {
	AdminChrome
	ID                               uint
	ClientID                         string
	Name                             string
	Type                             string
	ResponseTypes                    []string
	GrantTypes                       []string
	RedirectURIs                     []string
	PostLogoutRedirectURIs           []string
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	Scopes                           string
	JWTAlg                           string
	RequireConsent                   bool
	ReuseConsent                     bool
	WebsiteURL                       string
	TermsURL                         string
	ContactEmail                     string
	LogoURL                          string
	Created                          string
	Tokens                           int64
	Consents                         int64
	Integration                      IntegrationView
}

// clientFormSections are the client form's sections, in order.
var clientFormSections = []SectionLink{
	{"basics", "Basics"},
	{"redirects", "Redirects and logout"},
	{"grants", "Grants and tokens"},
	{"branding", "Branding"},
}
