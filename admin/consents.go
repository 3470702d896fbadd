package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// grantFilterForm reads the form fields (or query parameters) user= and
// client= of a revoke-all and names them for the page. An ID that
// matches nothing still filters, so nothing is revoked rather than
// everything.
func (a *Admin) grantFilterForm(c echo.Context, listPath string) (models.GrantFilter, views.GrantFilterView, error) {
	var f models.GrantFilter
	if n, err := strconv.ParseUint(c.FormValue("user"), 10, 32); err == nil {
		f.UserID = uint(n)
	}
	if n, err := strconv.ParseUint(c.FormValue("client"), 10, 32); err == nil {
		f.ClientID = uint(n)
	}
	ctx := c.Request().Context()
	v := views.GrantFilterView{UserID: f.UserID, ClientID: f.ClientID, ClearURL: listPath}
	if f.UserID != 0 {
		v.Username = fmt.Sprintf("#%d (deleted)", f.UserID)
		u, err := a.store.UserByID(ctx, f.UserID)
		switch {
		case err == nil:
			v.Username = u.Username
		case !errors.Is(err, models.ErrNotFound):
			return f, v, err
		}
	}
	if f.ClientID != 0 {
		v.ClientName = fmt.Sprintf("#%d (deleted)", f.ClientID)
		cl, err := a.store.ClientByID(ctx, f.ClientID)
		switch {
		case err == nil:
			v.ClientName = cl.Name
		case !errors.Is(err, models.ErrNotFound):
			return f, v, err
		}
	}
	return f, v, nil
}

// filterQuery is the list's own URL with its filter, where its actions
// return to.
func filterQuery(listPath string, f models.GrantFilter) string {
	q := url.Values{}
	if f.UserID != 0 {
		q.Set("user", strconv.FormatUint(uint64(f.UserID), 10))
	}
	if f.ClientID != 0 {
		q.Set("client", strconv.FormatUint(uint64(f.ClientID), 10))
	}
	if len(q) == 0 {
		return listPath
	}
	return listPath + "?" + q.Encode()
}

// backTo is the list a form came from, if it names one under listPath;
// anything else (another site, another page) goes to listPath itself.
func backTo(c echo.Context, listPath string) string {
	back := c.FormValue("back")
	if back == listPath || strings.HasPrefix(back, listPath+"?") {
		return back
	}
	return listPath
}

// ListConsents serves GET /admin/consents, optionally for one user
// (?user=ID) and/or one client (?client=ID).
func (a *Admin) ListConsents(c echo.Context) error {
	p, err := parseList(c, &consentList)
	if err != nil {
		return a.badList(c, "consents list", err)
	}
	ctx := c.Request().Context()
	f, fv, none, err := a.grantFilter(ctx, &p)
	if err != nil {
		return a.serverError(c, "consents filter", err)
	}
	clients, err := a.clientOptions(ctx)
	if err != nil {
		return a.serverError(c, "consents filter", err)
	}
	var consents []models.UserConsent
	var total int64
	if !none {
		consents, total, err = a.store.ListConsentsBy(ctx, models.ConsentQuery{GrantFilter: f, Sort: p.Sort}, p.modelPage())
		if err != nil {
			return a.serverError(c, "list consents", err)
		}
	}
	now := a.now()
	v := views.ConsentListView{
		AdminChrome: a.chrome(c, "consents", "Consents"), Filter: fv, Pager: p.pager(total),
		Back: p.self(), Filters: p.filterForm(clients, fv.Username),
		Bulk: views.BulkView{Action: "/admin/consents/bulk-revoke", Label: "Revoke selected", Back: p.self()},
		Cols: map[string]views.Column{
			"user": p.column("user", "User"), "client": p.column("client", "Client"),
			"given": p.column("given", "Given"), "expires": p.column("expires", "Expires"),
		},
	}
	for _, cs := range consents {
		v.Consents = append(v.Consents, views.ConsentRow{
			ID: cs.ID, UserID: cs.UserID, Username: cs.User.Username, ClientID: cs.ClientID, ClientName: cs.Client.Name,
			Scopes: cs.Scope, Given: formatTime(&cs.GivenAt), Expires: formatTime(&cs.ExpiresAt), Expired: !now.Before(cs.ExpiresAt),
		})
	}
	return a.render(c, http.StatusOK, views.ConsentListPage(v))
}

// grantTarget names a consent, token or code in the audit log, with the
// user it belongs to last ("token 7 of user alice"), which is how the
// log's user filter finds changes made to that user's grants.
func grantTarget(kind string, id uint, username string) string {
	t := fmt.Sprintf("%s %d", kind, id)
	if username != "" {
		t += " of user " + username
	}
	return t
}

// consentState is a consent as the audit log records it.
type consentState struct {
	User, Client, Scope string
}

// RevokeConsent serves POST /admin/consents/:id/revoke. The consent goes,
// and with it, in the same transaction, every token the client holds for
// the user; the user is asked again on the next authorization.
func (a *Admin) RevokeConsent(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "consent")
	}
	ctx := c.Request().Context()
	cs, err := a.store.RevokeConsent(ctx, id, a.now())
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "consent")
	}
	if err != nil {
		return a.serverError(c, "revoke consent", err)
	}
	a.auditConsentRevoked(c, cs)
	return a.redirectWith(c, backTo(c, "/admin/consents"), "success",
		fmt.Sprintf("Consent of %q to %q revoked, with the client's tokens for that user.", cs.User.Username, cs.Client.Name))
}

// ConfirmRevokeConsent serves GET /admin/consents/:id/revoke: what
// revoking the consent takes with it (RevokeConsent's transaction), with
// counts, and the form that does it.
func (a *Admin) ConfirmRevokeConsent(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "consent")
	}
	ctx := c.Request().Context()
	cs, err := a.store.ConsentByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "consent")
	}
	if err != nil {
		return a.serverError(c, "confirm revoke consent", err)
	}
	g, err := a.store.CountGrants(ctx, models.GrantFilter{UserID: cs.UserID, ClientID: cs.ClientID}, a.now())
	if err != nil {
		return a.serverError(c, "count grants", err)
	}
	takes := []string{
		views.Plural(g.AccessTokens, "access token", "access tokens") + " the client holds for the user, which stop working at once",
		views.Plural(g.RefreshTokens, "refresh token", "refresh tokens") + " the client holds for the user, which can no longer be used",
		views.Plural(g.UnusedCodes, "unused authorization code, which is voided", "unused authorization codes, which are voided"),
	}
	if g.LogoutClients > 0 {
		takes = append(takes, "The user's sessions at the client: it is sent a back-channel logout token")
	}
	back := backTo(c, "/admin/consents")
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "consents", "Revoke consent"),
		Heading:     fmt.Sprintf("Revoke the consent of “%s” to “%s”?", cs.User.Username, cs.Client.Name),
		Lead: fmt.Sprintf("The consent given %s to the scopes %s is deleted: the user is asked again the next time the client signs them in.",
			formatTime(&cs.GivenAt), cs.Scope),
		Takes:  takes,
		Keeps:  []string{views.Plural(g.Sessions, "browser session", "browser sessions") + " of the user: they stay signed in to oidcd and to other clients"},
		Undo:   "This cannot be undone; the user can consent again.",
		Action: fmt.Sprintf("/admin/consents/%d/revoke", cs.ID), Hidden: []views.HiddenField{{Name: "back", Value: back}},
		Button: "Revoke consent", Cancel: back,
	}))
}

// auditConsentRevoked records an administrator's revocation of cs, one
// consent or one of a bulk revocation: the user's consent_revoked event
// and the admin change.
func (a *Admin) auditConsentRevoked(c echo.Context, cs *models.UserConsent) {
	ctx := c.Request().Context()
	e := &models.Event{
		Kind: models.EventConsentRevoked, Username: cs.User.Username, UserID: &cs.UserID, ClientID: &cs.ClientID,
		RemoteIP: c.RealIP(), Detail: "revoked by an administrator",
	}
	if admin := actor(c); admin != nil {
		e.Detail = "revoked by administrator " + admin.Username
	}
	if err := a.store.RecordEvent(ctx, e); err != nil {
		a.log.WarnContext(ctx, "record consent revoked", "err", err)
	}
	a.auditGrant(c, cs.ClientID, "revoke consent", grantTarget("consent", cs.ID, cs.User.Username),
		consentState{User: cs.User.Username, Client: cs.Client.ClientID, Scope: cs.Scope}, nil)
}
