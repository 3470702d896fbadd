package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/jose"
	"oidcd/handlers/oauth"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// Response types and algorithms an admin can pick. Only what the server
// serves is offered.
var (
	responseTypeChoices = oauth.ResponseTypes
	jwtAlgChoices       = jose.Algorithms
)

// maxLogoBytes bounds an uploaded logo.
const maxLogoBytes = 256 << 10

// logoTypes are the image types a logo may be, by sniffed content.
var logoTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// clientState is a client as the audit log records it: no secret.
type clientState struct {
	ClientID, Name, Type, JWTAlg                               string
	ResponseTypes, GrantTypes, RedirectURIs, PostLogout, Scope []string
	RequireConsent, ReuseConsent                               bool
	Website, Terms, Contact, Logo                              string
	BackchannelLogoutURI                                       string `json:",omitempty"`
	BackchannelLogoutSessionRequired                           bool   `json:",omitempty"`
}

func stateOf(c *models.Client) clientState {
	return clientState{
		ClientID: c.ClientID, Name: c.Name, Type: c.ClientType, JWTAlg: c.JWTAlg,
		ResponseTypes: c.ResponseTypes, GrantTypes: c.GrantTypes, RedirectURIs: c.RedirectURIs, PostLogout: c.PostLogoutRedirectURIs, Scope: c.Scopes,
		RequireConsent: c.RequireConsent, ReuseConsent: c.ReuseConsent,
		Website: c.WebsiteURL, Terms: c.TermsURL, Contact: c.ContactEmail, Logo: c.Logo,
		BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
	}
}

// ListClients serves GET /admin/clients: search, type filter, sortable
// columns and pages, with when each client last had a token issued.
func (a *Admin) ListClients(c echo.Context) error {
	p, err := parseList(c, &clientList)
	if err != nil {
		return a.badList(c, "clients list", err)
	}
	clients, total, err := a.store.ListClientActivity(c.Request().Context(),
		models.ClientQuery{Q: p.Q, Type: p.get("type"), Sort: p.Sort}, p.modelPage())
	if err != nil {
		return a.serverError(c, "list clients", err)
	}
	v := views.ClientListView{AdminChrome: a.chrome(c, "clients", "Clients"), Query: p.Q, Pager: p.pager(total),
		Filters: p.filterForm(nil, ""), Cols: map[string]views.Column{
			"name": p.column("name", "Name"), "type": p.column("type", "Type"), "client_id": p.column("client_id", "client_id"),
			"created": p.column("created", "Created"), "last_used": p.column("last_used", "Last token issued"),
		}}
	for _, cl := range clients {
		v.Clients = append(v.Clients, views.ClientRow{
			ID: cl.ID, ClientID: cl.ClientID, Name: cl.Name, Type: cl.ClientType,
			RedirectURIs: cl.RedirectURIs, Created: formatTime(&cl.CreatedAt), LastUsed: formatTime(cl.LastUsed),
		})
	}
	return a.render(c, http.StatusOK, views.ClientListPage(v))
}

// NewClient serves GET /admin/clients/new.
func (a *Admin) NewClient(c echo.Context) error {
	v := views.ClientFormView{
		AdminChrome: a.chrome(c, "clients", "New client"),
		IsNew:       true,
		Values: views.ClientFormValues{
			ClientType: models.ClientConfidential, ResponseTypes: []string{oauth.ResponseTypes[0]}, GrantTypes: models.DefaultGrantTypes,
			Scopes: "openid profile email", JWTAlg: "RS256", RequireConsent: true, ReuseConsent: true,
		},
	}
	return a.renderClientForm(c, http.StatusOK, v)
}

func (a *Admin) renderClientForm(c echo.Context, status int, v views.ClientFormView) error {
	v.TypeChoices = []views.Option{
		{Value: models.ClientConfidential, Label: "Confidential (server-side app with a secret)", Selected: v.Values.ClientType == models.ClientConfidential},
		{Value: models.ClientPublic, Label: "Public (browser or native app, PKCE, no secret)", Selected: v.Values.ClientType == models.ClientPublic},
	}
	for _, rt := range responseTypeChoices {
		v.ResponseTypeChoices = append(v.ResponseTypeChoices, views.Option{Value: rt, Label: rt, Selected: slices.Contains(v.Values.ResponseTypes, rt)})
	}
	for _, g := range oauth.GrantTypes {
		v.GrantTypeChoices = append(v.GrantTypeChoices, views.Option{Value: g, Label: g, Selected: slices.Contains(v.Values.GrantTypes, g)})
	}
	for _, alg := range jwtAlgChoices {
		v.AlgChoices = append(v.AlgChoices, views.Option{Value: alg, Label: alg, Selected: v.Values.JWTAlg == alg})
	}
	return a.render(c, status, views.ClientFormPage(v))
}

// clientForm reads and checks the client form for a new client (existing
// nil) or an edit. It returns the values to show again and the errors by
// field; nothing is saved when there are any.
func (a *Admin) clientForm(c echo.Context, existing *models.Client) (views.ClientFormValues, views.FieldErrors) {
	isNew := existing == nil
	f := views.ClientFormValues{
		Name:                   strings.TrimSpace(c.FormValue("name")),
		ClientType:             c.FormValue("client_type"),
		RedirectURIs:           c.FormValue("redirect_uris"),
		PostLogoutRedirectURIs: c.FormValue("post_logout_redirect_uris"),
		BackchannelLogoutURI:   strings.TrimSpace(c.FormValue("backchannel_logout_uri")),
		Scopes:                 strings.Join(oauth.ParseScope(c.FormValue("scopes")), " "),
		JWTAlg:                 c.FormValue("jwt_alg"),
		WebsiteURL:             strings.TrimSpace(c.FormValue("website_url")),
		TermsURL:               strings.TrimSpace(c.FormValue("terms_url")),
		ContactEmail:           strings.TrimSpace(c.FormValue("contact_email")),
		RequireConsent:         c.FormValue("require_consent") == "on",
		ReuseConsent:           c.FormValue("reuse_consent") == "on",
		// Back-Channel Logout 1.0 §2.2.
		BackchannelLogoutSessionRequired: c.FormValue("backchannel_logout_session_required") == "on",
	}
	if !isNew {
		f.ClientType = existing.ClientType // the type is fixed once created
	}
	if params, err := c.FormParams(); err == nil {
		f.ResponseTypes = params["response_types"]
		f.GrantTypes = params["grant_types"]
	}
	errs := views.FieldErrors{}
	fieldError(errs, models.CheckClientName(f.Name))
	if isNew && f.ClientType != models.ClientConfidential && f.ClientType != models.ClientPublic {
		errs["client_type"] = "Choose confidential or public."
	}
	if len(f.ResponseTypes) == 0 {
		errs["response_types"] = "Choose at least one response type."
	} else if types, err := oauth.CheckResponseTypes(f.ResponseTypes); err != nil {
		errs["response_types"] = "Choose response types this server serves, each once."
	} else {
		f.ResponseTypes = types
	}
	if err := oauth.CheckGrantTypes(f.GrantTypes, f.ClientType == models.ClientPublic); err != nil {
		errs["grant_types"] = "Choose grant types this server serves, each once; a public client may not use client_credentials or password."
	}
	if uris, msg := uriList(f.RedirectURIs); msg != "" {
		errs["redirect_uris"] = msg
	} else if len(uris) == 0 {
		errs["redirect_uris"] = "Enter at least one redirect URI."
	}
	if _, msg := uriList(f.PostLogoutRedirectURIs); msg != "" {
		errs["post_logout_redirect_uris"] = msg
	}
	if f.BackchannelLogoutURI != "" && models.CheckBackchannelLogoutURI(f.BackchannelLogoutURI) != nil {
		errs["backchannel_logout_uri"] = "Enter an absolute http or https URL with no fragment."
	}
	if f.Scopes == "" {
		errs["scopes"] = "Enter at least one scope, such as openid."
	} else if unknown, err := a.store.UnknownClientScope(c.Request().Context(), strings.Fields(f.Scopes), oauth.ClientScopes()); err != nil {
		a.log.ErrorContext(c.Request().Context(), "check client scopes", "err", err)
		errs["scopes"] = "The scopes could not be checked; try again."
	} else if unknown != "" {
		errs["scopes"] = fmt.Sprintf("%q is not a scope this server knows: %s.", unknown, oauth.UnknownScopeHint)
	}
	switch {
	case !slices.Contains(jwtAlgChoices, f.JWTAlg):
		errs["jwt_alg"] = "Choose a signing algorithm."
	case jose.CheckClientAlg(f.JWTAlg, f.ClientType == models.ClientPublic) != nil:
		errs["jwt_alg"] = "A public client has no secret, so it cannot use HS256: choose RS256, ES256 or EdDSA."
	case !isNew && f.JWTAlg == jose.HS256 && existing.JWTAlg != jose.HS256 && existing.SecretSealed == "":
		// A secret made before secrets were kept cannot key HS256.
		errs["jwt_alg"] = "This client's secret was made before secrets were kept for HS256: rotate the secret first."
	}
	for field, value := range map[string]string{"website_url": f.WebsiteURL, "terms_url": f.TermsURL} {
		if value != "" && !webURL(value) {
			errs[field] = "Enter an http or https URL."
		}
	}
	if f.ContactEmail != "" {
		if _, err := mail.ParseAddress(f.ContactEmail); err != nil {
			errs["contact_email"] = "Enter a valid email address."
		}
	}
	return f, errs
}

// uriList splits one URI per line and checks each with
// models.CheckRedirectURI. The message names the first bad line.
func uriList(text string) ([]string, string) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := models.CheckRedirectURI(line); err != nil {
			var bad *models.RedirectURIError
			if errors.As(err, &bad) {
				return nil, fmt.Sprintf("%q %s.", line, bad.Reason)
			}
			return nil, fmt.Sprintf("%q is not a valid redirect URI.", line)
		}
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out, ""
}

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// apply copies checked form values onto a client.
func apply(cl *models.Client, f views.ClientFormValues) {
	cl.Name = f.Name
	cl.ResponseTypes = f.ResponseTypes
	cl.GrantTypes = f.GrantTypes
	cl.RedirectURIs, _ = uriList(f.RedirectURIs)
	post, _ := uriList(f.PostLogoutRedirectURIs)
	if post == nil {
		post = []string{}
	}
	cl.PostLogoutRedirectURIs = post
	cl.BackchannelLogoutURI, cl.BackchannelLogoutSessionRequired = f.BackchannelLogoutURI, f.BackchannelLogoutSessionRequired
	cl.Scopes = oauth.ParseScope(f.Scopes)
	cl.JWTAlg = f.JWTAlg
	cl.WebsiteURL, cl.TermsURL, cl.ContactEmail = f.WebsiteURL, f.TermsURL, f.ContactEmail
	cl.RequireConsent, cl.ReuseConsent = f.RequireConsent, f.ReuseConsent
}

// CreateClient serves POST /admin/clients. A confidential client's secret
// is generated here and shown once, on the next page.
func (a *Admin) CreateClient(c echo.Context) error {
	f, errs := a.clientForm(c, nil)
	logo, logoMsg := readLogo(c)
	if logoMsg != "" {
		errs["logo"] = logoMsg
	}
	if len(errs) > 0 {
		return a.renderClientForm(c, http.StatusUnprocessableEntity, views.ClientFormView{
			AdminChrome: a.chrome(c, "clients", "New client"), IsNew: true, Values: f, Errors: errs,
		})
	}
	cl := &models.Client{ClientID: models.NewID(), ClientType: f.ClientType}
	apply(cl, f)
	var err error
	var secret string
	if !cl.IsPublic() {
		secret = oauth.NewToken()
		cl.SecretHash = oauth.HashToken(secret)
		if cl.SecretSealed, err = a.store.SealClientSecret(cl.ClientID, secret); err != nil {
			return a.serverError(c, "seal client secret", err)
		}
	}
	ctx := c.Request().Context()
	// The client and its logo are stored together or not at all, so a
	// failed logo leaves no client behind whose secret nobody saw.
	if err := a.store.SaveClient(ctx, cl, logoRow(cl, logo)); err != nil {
		return a.serverError(c, "create client", err)
	}
	to := fmt.Sprintf("/admin/clients/%d", cl.ID)
	if secret == "" {
		a.audit(c, "create client", "client "+cl.ClientID, nil, stateOf(cl))
		return a.redirectWith(c, to, "success", "Client created.")
	}
	// A client whose secret nobody saw is taken back.
	undo := func(ctx context.Context) error { return a.store.DeleteClient(ctx, cl.ID) }
	if err := a.queueSecret(c, "Client created. Its client secret:", secret, undo); err != nil {
		return a.serverError(c, "queue secret", err)
	}
	a.audit(c, "create client", "client "+cl.ClientID, nil, stateOf(cl))
	return c.Redirect(http.StatusSeeOther, to)
}

// queueSecret shows a new secret once, on the next page. When it cannot
// be queued the secret can never be shown, so undo withdraws it (the
// client, or the rotation) rather than leave in force a secret nobody
// has, and the error is returned.
func (a *Admin) queueSecret(c echo.Context, message, secret string, undo func(context.Context) error) error {
	err := a.sessions.AddFlash(c, session.Flash{Kind: "secret", Message: message, Secret: secret})
	if err != nil {
		ctx := c.Request().Context()
		if uerr := undo(ctx); uerr != nil {
			a.log.ErrorContext(ctx, "withdraw a secret that could not be shown", "err", uerr)
		}
	}
	return err
}

// clientByParam loads the client named by :id.
func (a *Admin) clientByParam(c echo.Context) (*models.Client, error) {
	id, ok := idParam(c)
	if !ok {
		return nil, models.ErrNotFound
	}
	return a.store.ClientByID(c.Request().Context(), id)
}

// ShowClient serves GET /admin/clients/:id: the client and its
// integration panel.
func (a *Admin) ShowClient(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "show client", err)
	}
	deps, err := a.store.ClientDependents(c.Request().Context(), cl.ID)
	if err != nil {
		return a.serverError(c, "client dependents", err)
	}
	v := views.ClientDetailView{
		AdminChrome: a.chrome(c, "clients", cl.Name),
		ID:          cl.ID, ClientID: cl.ClientID, Name: cl.Name, Type: cl.ClientType,
		ResponseTypes: cl.ResponseTypes, GrantTypes: cl.GrantTypes, RedirectURIs: cl.RedirectURIs, PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs,
		BackchannelLogoutURI: cl.BackchannelLogoutURI, BackchannelLogoutSessionRequired: cl.BackchannelLogoutSessionRequired,
		Scopes: strings.Join(cl.Scopes, " "), JWTAlg: cl.JWTAlg, RequireConsent: cl.RequireConsent, ReuseConsent: cl.ReuseConsent,
		WebsiteURL: cl.WebsiteURL, TermsURL: cl.TermsURL, ContactEmail: cl.ContactEmail, LogoURL: cl.Logo,
		Created: formatTime(&cl.CreatedAt), Tokens: deps.Tokens, Consents: deps.Consents,
		Integration: integration(a.cfg.Issuer, cl),
	}
	return a.render(c, http.StatusOK, views.ClientDetailPage(v))
}

// The RFC 7636 Appendix B example pair, shown to public clients so that
// the walkthrough runs as printed; the panel says to generate their own.
const (
	exampleVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	exampleChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// integration fills in the seed walkthrough for one client. The curl
// commands are for a POSIX shell: every literal is single-quoted, so a
// redirect URI holding $, ", ` or ' is passed as it is, and every form
// value goes through --data-urlencode, so one holding & or = stays one
// value. What the user supplies (CODE, CLIENT_SECRET, ACCESS_TOKEN,
// REFRESH_TOKEN) is read from shell variables, in double quotes so that
// the value is used but not parsed by the shell.
func integration(issuer string, cl *models.Client) views.IntegrationView {
	redirect := "https://app.example/callback"
	if len(cl.RedirectURIs) > 0 {
		redirect = cl.RedirectURIs[0]
	}
	q := url.Values{
		"client_id": {cl.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {strings.Join(cl.Scopes, " ")}, "state": {"123123"},
	}
	if cl.IsPublic() {
		q.Set("code_challenge", exampleChallenge)
		q.Set("code_challenge_method", oauth.PKCES256)
	}
	tokenURL := issuer + "/token/"
	var auth []string
	if !cl.IsPublic() {
		auth = []string{`"client_secret=$CLIENT_SECRET"`}
	}
	exchange := append(slices.Clone(auth), `"code=$CODE"`, shellQuote("redirect_uri="+redirect))
	if cl.IsPublic() {
		exchange = append(exchange, shellQuote("code_verifier="+exampleVerifier))
	}
	exchange = append(exchange, shellQuote("grant_type=authorization_code"))
	refresh := append(slices.Clone(auth), shellQuote("grant_type=refresh_token"), `"refresh_token=$REFRESH_TOKEN"`)
	return views.IntegrationView{
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		ClientID:     cl.ClientID,
		// For a browser's address bar, so not quoted; Encode escapes every
		// value, the redirect URI's & and = included.
		AuthorizeURL: issuer + "/authorize?" + q.Encode(),
		TokenCurl:    tokenCurl(tokenURL, cl.ClientID, exchange),
		UserinfoCurl: "curl \\\n  -H 'Cache-Control: no-cache' \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\" \\\n  " + shellQuote(issuer+"/userinfo/"),
		RefreshCurl:  tokenCurl(tokenURL, cl.ClientID, refresh),
		Public:       cl.IsPublic(),
		Libraries:    librarySnippets(issuer, redirect, cl),
	}
}

// tokenCurl is a curl command posting client_id and the given
// --data-urlencode arguments, already quoted, to the token endpoint.
func tokenCurl(tokenURL, clientID string, data []string) string {
	var b strings.Builder
	b.WriteString("curl -X POST \\\n  -H 'Cache-Control: no-cache' \\\n  " + shellQuote(tokenURL))
	for _, d := range append([]string{shellQuote("client_id=" + clientID)}, data...) {
		b.WriteString(" \\\n  --data-urlencode " + d)
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special, and a single quote in s closes the quotes, is escaped with a
// backslash, and opens them again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// EditClient serves GET /admin/clients/:id/edit.
func (a *Admin) EditClient(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "edit client", err)
	}
	v := views.ClientFormView{
		AdminChrome: a.chrome(c, "clients", "Edit "+cl.Name), ID: cl.ID, ClientID: cl.ClientID, LogoURL: cl.Logo,
		Values: views.ClientFormValues{
			Name: cl.Name, ClientType: cl.ClientType, ResponseTypes: cl.ResponseTypes, GrantTypes: cl.GrantTypes,
			RedirectURIs: strings.Join(cl.RedirectURIs, "\n"), PostLogoutRedirectURIs: strings.Join(cl.PostLogoutRedirectURIs, "\n"),
			BackchannelLogoutURI: cl.BackchannelLogoutURI, BackchannelLogoutSessionRequired: cl.BackchannelLogoutSessionRequired,
			Scopes: strings.Join(cl.Scopes, " "), JWTAlg: cl.JWTAlg, WebsiteURL: cl.WebsiteURL, TermsURL: cl.TermsURL,
			ContactEmail: cl.ContactEmail, RequireConsent: cl.RequireConsent, ReuseConsent: cl.ReuseConsent,
		},
	}
	return a.renderClientForm(c, http.StatusOK, v)
}

// UpdateClient serves POST /admin/clients/:id. The type cannot change: a
// public client has no secret to become confidential with, and the other
// way round would leave a secret that means nothing.
func (a *Admin) UpdateClient(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "update client", err)
	}
	f, errs := a.clientForm(c, cl)
	logo, logoMsg := readLogo(c)
	if logoMsg != "" {
		errs["logo"] = logoMsg
	}
	if len(errs) > 0 {
		return a.renderClientForm(c, http.StatusUnprocessableEntity, views.ClientFormView{
			AdminChrome: a.chrome(c, "clients", "Edit "+cl.Name), ID: cl.ID, ClientID: cl.ClientID, LogoURL: cl.Logo,
			Values: f, Errors: errs,
		})
	}
	before := stateOf(cl)
	apply(cl, f)
	if c.FormValue("remove_logo") == "on" && logo == nil {
		cl.Logo = "" // SaveClient deletes the stored logo with it
	}
	if err := a.store.SaveClient(c.Request().Context(), cl, logoRow(cl, logo)); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return a.notFound(c, "client")
		}
		return a.serverError(c, "update client", err)
	}
	a.audit(c, "update client", "client "+cl.ClientID, before, stateOf(cl))
	return a.redirectWith(c, fmt.Sprintf("/admin/clients/%d", cl.ID), "success", "Client saved.")
}

// uploadedLogo is a checked logo upload.
type uploadedLogo struct {
	contentType string
	data        []byte
}

// readLogo reads the optional logo upload, checking its size and, by its
// content rather than its name, its type.
func readLogo(c echo.Context) (*uploadedLogo, string) {
	fh, err := c.FormFile("logo")
	if err != nil {
		return nil, ""
	}
	if fh.Size > maxLogoBytes {
		return nil, "The logo must be at most 256 KiB."
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "The logo could not be read."
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLogoBytes+1))
	if err != nil || len(data) == 0 {
		return nil, "The logo could not be read."
	}
	if len(data) > maxLogoBytes {
		return nil, "The logo must be at most 256 KiB."
	}
	ct := http.DetectContentType(data)
	if !slices.Contains(logoTypes, ct) {
		return nil, "The logo must be a PNG, JPEG, GIF or WebP image."
	}
	return &uploadedLogo{contentType: ct, data: data}, ""
}

// logoRow points the client at an uploaded logo and returns the row to
// store with it, or nil when nothing was uploaded. The version in the URL
// changes with the content, so caches never show an old logo.
func logoRow(cl *models.Client, l *uploadedLogo) *models.ClientLogo {
	if l == nil {
		return nil
	}
	cl.Logo = "/logos/" + url.PathEscape(cl.ClientID) + "?v=" + oauth.HashToken(string(l.data))[:12]
	return &models.ClientLogo{ContentType: l.contentType, Data: l.data}
}

// ServeLogo serves GET /logos/:client_id, publicly: the consent page shows it.
func (a *Admin) ServeLogo(c echo.Context) error {
	l, err := a.store.ClientLogoByClientID(c.Request().Context(), c.Param("client_id"))
	if errors.Is(err, models.ErrNotFound) {
		return c.NoContent(http.StatusNotFound)
	}
	if err != nil {
		a.log.ErrorContext(c.Request().Context(), "serve logo", "err", err)
		return c.NoContent(http.StatusInternalServerError)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=86400")
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'")
	return c.Blob(http.StatusOK, l.ContentType, l.Data)
}

// ConfirmDeleteClient serves GET /admin/clients/:id/delete: what goes with
// the client, and a button.
func (a *Admin) ConfirmDeleteClient(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "confirm delete client", err)
	}
	deps, err := a.store.ClientDependents(c.Request().Context(), cl.ID)
	if err != nil {
		return a.serverError(c, "client dependents", err)
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "clients", "Delete "+cl.Name),
		Heading:     fmt.Sprintf("Delete client “%s”?", cl.Name),
		Lead:        "The client can no longer sign anyone in or use its tokens.",
		TakesIntro:  "It also deletes:", Takes: consequences(deps),
		Action: fmt.Sprintf("/admin/clients/%d/delete", cl.ID), Button: "Delete client",
		Cancel: fmt.Sprintf("/admin/clients/%d", cl.ID),
	}))
}

// consequences says what a delete takes with it.
func consequences(d models.Dependents, more ...string) []string {
	return append([]string{
		views.Plural(d.Codes, "authorization code", "authorization codes"),
		views.Plural(d.Tokens, "token, which stops working at once", "tokens, which stop working at once"),
		views.Plural(d.Consents, "consent", "consents"),
	}, more...)
}

// DeleteClient serves POST /admin/clients/:id/delete.
func (a *Admin) DeleteClient(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "delete client", err)
	}
	if err := a.store.DeleteClient(c.Request().Context(), cl.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return a.serverError(c, "delete client", err)
	}
	a.audit(c, "delete client", "client "+cl.ClientID, stateOf(cl), nil)
	return a.redirectWith(c, "/admin/clients", "success", fmt.Sprintf("Client %q deleted.", cl.Name))
}

// RotateClientSecret serves POST /admin/clients/:id/secret: a new secret,
// shown once; the old one stops working at once.
func (a *Admin) RotateClientSecret(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "rotate secret", err)
	}
	to := fmt.Sprintf("/admin/clients/%d", cl.ID)
	if cl.IsPublic() {
		return a.redirectWith(c, to, "error", "A public client has no secret.")
	}
	secret := oauth.NewToken()
	sealed, err := a.store.SealClientSecret(cl.ClientID, secret)
	if err != nil {
		return a.serverError(c, "rotate secret", err)
	}
	if err := a.store.SetClientSecret(c.Request().Context(), cl.ID, oauth.HashToken(secret), sealed); err != nil {
		return a.serverError(c, "rotate secret", err)
	}
	// The old secret stays in force if the new one cannot be shown.
	undo := func(ctx context.Context) error {
		return a.store.SetClientSecret(ctx, cl.ID, cl.SecretHash, cl.SecretSealed)
	}
	if err := a.queueSecret(c, "New client secret (the old one no longer works):", secret, undo); err != nil {
		return a.serverError(c, "queue secret", err)
	}
	a.audit(c, "rotate client secret", "client "+cl.ClientID, nil, nil)
	return c.Redirect(http.StatusSeeOther, to)
}

// ConfirmRotateClientSecret serves GET /admin/clients/:id/secret: what a
// new secret does (RotateClientSecret) and what it leaves alone, with
// counts, and the form that does it.
func (a *Admin) ConfirmRotateClientSecret(c echo.Context) error {
	cl, err := a.clientByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "client")
	}
	if err != nil {
		return a.serverError(c, "confirm rotate secret", err)
	}
	g, err := a.store.CountGrants(c.Request().Context(), models.GrantFilter{ClientID: cl.ID}, a.now())
	if err != nil {
		return a.serverError(c, "count grants", err)
	}
	path := fmt.Sprintf("/admin/clients/%d", cl.ID)
	v := views.ConfirmView{
		AdminChrome: a.chrome(c, "clients", "Rotate secret of "+cl.Name),
		Heading:     fmt.Sprintf("Rotate the secret of client “%s”?", cl.Name),
		Lead: "A new secret is shown once, on the next page; the current one stops working at once. " +
			"Until the client is given the new secret, it cannot exchange codes, refresh tokens, or call /introspect and /revoke.",
		Takes: []string{"The current secret"},
		Keeps: []string{
			views.Plural(g.AccessTokens, "access token, which stays valid until it expires", "access tokens, which stay valid until they expire"),
			views.Plural(g.RefreshTokens, "refresh token", "refresh tokens") + ", usable again with the new secret",
			views.Plural(g.UnusedCodes, "unused authorization code", "unused authorization codes") + ", to be exchanged with the new secret",
			views.Plural(g.Consents, "consent", "consents"),
		},
		Action: path + "/secret", Button: "Rotate secret", Cancel: path,
	}
	if cl.JWTAlg == jose.HS256 {
		v.Takes = append(v.Takes, "The signature of the ID tokens already issued (HS256, keyed with the secret): they no longer verify with the new secret")
	}
	if cl.IsPublic() {
		v.Disabled = "A public client has no secret."
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}
