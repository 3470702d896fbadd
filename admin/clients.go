package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// Response types and algorithms an admin can pick. Only what the server
// serves is offered.
var (
	responseTypeChoices = []string{"code"}
	jwtAlgChoices       = []string{"RS256"}
)

// maxLogoBytes bounds an uploaded logo.
const maxLogoBytes = 256 << 10

// logoTypes are the image types a logo may be, by sniffed content.
var logoTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

// clientState is a client as the audit log records it: no secret.
type clientState struct {
	ClientID, Name, Type, JWTAlg                   string
	ResponseTypes, RedirectURIs, PostLogout, Scope []string
	RequireConsent, ReuseConsent                   bool
	Website, Terms, Contact, Logo                  string
}

func stateOf(c *models.Client) clientState {
	return clientState{
		ClientID: c.ClientID, Name: c.Name, Type: c.ClientType, JWTAlg: c.JWTAlg,
		ResponseTypes: c.ResponseTypes, RedirectURIs: c.RedirectURIs, PostLogout: c.PostLogoutRedirectURIs, Scope: c.Scopes,
		RequireConsent: c.RequireConsent, ReuseConsent: c.ReuseConsent,
		Website: c.WebsiteURL, Terms: c.TermsURL, Contact: c.ContactEmail, Logo: c.Logo,
	}
}

// ListClients serves GET /admin/clients, with search and pages.
func (a *Admin) ListClients(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	n, page := pageOf(c)
	clients, total, err := a.store.ListClients(c.Request().Context(), q, page)
	if err != nil {
		return a.serverError(c, "list clients", err)
	}
	v := views.ClientListView{AdminChrome: a.chrome(c, "clients", "Clients"), Query: q, Pager: pager(c, n, total)}
	for _, cl := range clients {
		v.Clients = append(v.Clients, views.ClientRow{
			ID: cl.ID, ClientID: cl.ClientID, Name: cl.Name, Type: cl.ClientType,
			RedirectURIs: cl.RedirectURIs, Created: formatTime(&cl.CreatedAt),
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
			ClientType: models.ClientConfidential, ResponseTypes: []string{"code"},
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
	for _, alg := range jwtAlgChoices {
		v.AlgChoices = append(v.AlgChoices, views.Option{Value: alg, Label: alg, Selected: v.Values.JWTAlg == alg})
	}
	return a.render(c, status, views.ClientFormPage(v))
}

// clientForm reads and checks the client form. It returns the values to
// show again and the errors by field; nothing is saved when there are any.
func (a *Admin) clientForm(c echo.Context, isNew bool) (views.ClientFormValues, views.FieldErrors) {
	f := views.ClientFormValues{
		Name:                   strings.TrimSpace(c.FormValue("name")),
		ClientType:             c.FormValue("client_type"),
		RedirectURIs:           c.FormValue("redirect_uris"),
		PostLogoutRedirectURIs: c.FormValue("post_logout_redirect_uris"),
		Scopes:                 strings.Join(oauth.ParseScope(c.FormValue("scopes")), " "),
		JWTAlg:                 c.FormValue("jwt_alg"),
		WebsiteURL:             strings.TrimSpace(c.FormValue("website_url")),
		TermsURL:               strings.TrimSpace(c.FormValue("terms_url")),
		ContactEmail:           strings.TrimSpace(c.FormValue("contact_email")),
		RequireConsent:         c.FormValue("require_consent") == "on",
		ReuseConsent:           c.FormValue("reuse_consent") == "on",
	}
	if params, err := c.FormParams(); err == nil {
		f.ResponseTypes = params["response_types"]
	}
	errs := views.FieldErrors{}
	switch {
	case f.Name == "":
		errs["name"] = "Enter a name. Users see it on the consent page."
	case len(f.Name) > 200:
		errs["name"] = "Use at most 200 characters."
	}
	if isNew && f.ClientType != models.ClientConfidential && f.ClientType != models.ClientPublic {
		errs["client_type"] = "Choose confidential or public."
	}
	if len(f.ResponseTypes) == 0 {
		errs["response_types"] = "Choose at least one response type."
	}
	for _, rt := range f.ResponseTypes {
		if !slices.Contains(responseTypeChoices, rt) {
			errs["response_types"] = fmt.Sprintf("%q is not a response type this server serves.", rt)
		}
	}
	if uris, msg := uriList(f.RedirectURIs); msg != "" {
		errs["redirect_uris"] = msg
	} else if len(uris) == 0 {
		errs["redirect_uris"] = "Enter at least one redirect URI."
	}
	if _, msg := uriList(f.PostLogoutRedirectURIs); msg != "" {
		errs["post_logout_redirect_uris"] = msg
	}
	if f.Scopes == "" {
		errs["scopes"] = "Enter at least one scope, such as openid."
	}
	if !slices.Contains(jwtAlgChoices, f.JWTAlg) {
		errs["jwt_alg"] = "Choose a signing algorithm."
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

// uriList splits one URI per line and checks each is absolute and has no
// fragment (RFC 6749 §3.1.2). The message names the first bad line.
func uriList(text string) ([]string, string) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || !u.IsAbs() || strings.Contains(line, "#") || (u.Host == "" && u.Opaque == "") || len(line) > 2000 {
			return nil, fmt.Sprintf("%q must be an absolute URI without a fragment.", line)
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
	cl.RedirectURIs, _ = uriList(f.RedirectURIs)
	post, _ := uriList(f.PostLogoutRedirectURIs)
	if post == nil {
		post = []string{}
	}
	cl.PostLogoutRedirectURIs = post
	cl.Scopes = oauth.ParseScope(f.Scopes)
	cl.JWTAlg = f.JWTAlg
	cl.WebsiteURL, cl.TermsURL, cl.ContactEmail = f.WebsiteURL, f.TermsURL, f.ContactEmail
	cl.RequireConsent, cl.ReuseConsent = f.RequireConsent, f.ReuseConsent
}

// CreateClient serves POST /admin/clients. A confidential client's secret
// is generated here and shown once, on the next page.
func (a *Admin) CreateClient(c echo.Context) error {
	f, errs := a.clientForm(c, true)
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
	var secret string
	if !cl.IsPublic() {
		secret = oauth.NewToken()
		cl.SecretHash = oauth.HashToken(secret)
	}
	ctx := c.Request().Context()
	if err := a.store.CreateClient(ctx, cl); err != nil {
		return a.serverError(c, "create client", err)
	}
	if logo != nil {
		if err := a.saveLogo(c, cl, logo); err != nil {
			return a.serverError(c, "save logo", err)
		}
	}
	a.audit(c, "create client", "client "+cl.ClientID, nil, stateOf(cl))
	to := fmt.Sprintf("/admin/clients/%d", cl.ID)
	if secret == "" {
		return a.redirectWith(c, to, "success", "Client created.")
	}
	return a.redirectWithSecret(c, to, "Client created. Its client secret:", secret)
}

// redirectWithSecret shows a secret once on the next page.
func (a *Admin) redirectWithSecret(c echo.Context, to, message, secret string) error {
	if err := a.sessions.AddFlash(c, session.Flash{Kind: "secret", Message: message, Secret: secret}); err != nil {
		return a.serverError(c, "queue secret", err)
	}
	return c.Redirect(http.StatusSeeOther, to)
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
		ResponseTypes: cl.ResponseTypes, RedirectURIs: cl.RedirectURIs, PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs,
		Scopes: strings.Join(cl.Scopes, " "), JWTAlg: cl.JWTAlg, RequireConsent: cl.RequireConsent, ReuseConsent: cl.ReuseConsent,
		WebsiteURL: cl.WebsiteURL, TermsURL: cl.TermsURL, ContactEmail: cl.ContactEmail, LogoURL: cl.Logo,
		Created: formatTime(&cl.CreatedAt), Tokens: deps.Tokens, Consents: deps.Consents,
		Integration: integration(a.cfg.Issuer, cl),
	}
	return a.render(c, http.StatusOK, views.ClientDetailPage(v))
}

// integration fills in the seed walkthrough for one client.
func integration(issuer string, cl *models.Client) views.IntegrationView {
	redirect := "https://app.example/callback"
	if len(cl.RedirectURIs) > 0 {
		redirect = cl.RedirectURIs[0]
	}
	scope := strings.Join(cl.Scopes, " ")
	q := url.Values{"client_id": {cl.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope}, "state": {"123123"}}
	authorize := issuer + "/authorize?" + q.Encode()
	secretLine := ""
	if !cl.IsPublic() {
		secretLine = "  -d \"client_secret=$CLIENT_SECRET\" \\\n"
	}
	pkceNote := ""
	if cl.IsPublic() {
		challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
		authorize += "&code_challenge=" + challenge + "&code_challenge_method=S256"
		pkceNote = "  -d \"code_verifier=dBjftJeZ4CVP-mJ92K9qnpF3Tc2iYAKIoNyLiY8AX2g\" \\\n"
	}
	token := fmt.Sprintf("curl -X POST \\\n  -H \"Cache-Control: no-cache\" \\\n  -H \"Content-Type: application/x-www-form-urlencoded\" \\\n  \"%s/token/\" \\\n  -d \"client_id=%s\" \\\n%s  -d \"code=$CODE\" \\\n  -d \"redirect_uri=%s\" \\\n%s  -d \"grant_type=authorization_code\"",
		issuer, cl.ClientID, secretLine, redirect, pkceNote)
	userinfo := fmt.Sprintf("curl -X GET \\\n  -H \"Cache-Control: no-cache\" \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\" \\\n  \"%s/userinfo/\"", issuer)
	refresh := fmt.Sprintf("curl -X POST \\\n  -H \"Cache-Control: no-cache\" \\\n  -H \"Content-Type: application/x-www-form-urlencoded\" \\\n  \"%s/token/\" \\\n  -d \"client_id=%s\" \\\n%s  -d \"grant_type=refresh_token\" \\\n  -d \"refresh_token=$REFRESH_TOKEN\"",
		issuer, cl.ClientID, secretLine)
	return views.IntegrationView{
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		ClientID:     cl.ClientID,
		AuthorizeURL: authorize,
		TokenCurl:    token,
		UserinfoCurl: userinfo,
		RefreshCurl:  refresh,
		Public:       cl.IsPublic(),
	}
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
			Name: cl.Name, ClientType: cl.ClientType, ResponseTypes: cl.ResponseTypes,
			RedirectURIs: strings.Join(cl.RedirectURIs, "\n"), PostLogoutRedirectURIs: strings.Join(cl.PostLogoutRedirectURIs, "\n"),
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
	f, errs := a.clientForm(c, false)
	f.ClientType = cl.ClientType
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
		cl.Logo = ""
	}
	if err := a.store.UpdateClient(c.Request().Context(), cl); err != nil {
		return a.serverError(c, "update client", err)
	}
	if logo != nil {
		if err := a.saveLogo(c, cl, logo); err != nil {
			return a.serverError(c, "save logo", err)
		}
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

// saveLogo stores the logo and points the client at it; the version in the
// URL changes with the content, so caches never show an old logo.
func (a *Admin) saveLogo(c echo.Context, cl *models.Client, l *uploadedLogo) error {
	ctx := c.Request().Context()
	if err := a.store.SaveClientLogo(ctx, &models.ClientLogo{ClientID: cl.ID, ContentType: l.contentType, Data: l.data}); err != nil {
		return err
	}
	cl.Logo = "/logos/" + url.PathEscape(cl.ClientID) + "?v=" + oauth.HashToken(string(l.data))[:12]
	return a.store.UpdateClient(ctx, cl)
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
	return a.render(c, http.StatusOK, views.ConfirmDeletePage(views.ConfirmDeleteView{
		AdminChrome: a.chrome(c, "clients", "Delete "+cl.Name),
		What:        "client", Name: cl.Name, Action: fmt.Sprintf("/admin/clients/%d/delete", cl.ID),
		Cancel:       fmt.Sprintf("/admin/clients/%d", cl.ID),
		Consequences: consequences(deps),
	}))
}

// consequences says what a delete takes with it.
func consequences(d models.Dependents, more ...string) []string {
	return append([]string{
		fmt.Sprintf("%d authorization code(s)", d.Codes),
		fmt.Sprintf("%d token(s), which stop working at once", d.Tokens),
		fmt.Sprintf("%d consent(s)", d.Consents),
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
	if err := a.store.SetClientSecret(c.Request().Context(), cl.ID, oauth.HashToken(secret)); err != nil {
		return a.serverError(c, "rotate secret", err)
	}
	a.audit(c, "rotate client secret", "client "+cl.ClientID, nil, nil)
	return a.redirectWithSecret(c, to, "New client secret (the old one no longer works):", secret)
}
