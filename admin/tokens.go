package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// ListTokens serves GET /admin/tokens: the tokens that still work, never
// their values or hashes, optionally for one user or client.
//
// Filters: status (active by default, revoked, expired, all), type
// (access only, with a refresh token), client and user; sortable columns
// and pages. No token records when it was last presented (that would be
// a write on every /userinfo call); a pair replaced by a refresh shows
// when its refresh token was used.
func (a *Admin) ListTokens(c echo.Context) error {
	p, err := parseList(c, &tokenList)
	if err != nil {
		return a.badList(c, "tokens list", err)
	}
	ctx := c.Request().Context()
	f, fv, none, err := a.grantFilter(ctx, &p)
	if err != nil {
		return a.serverError(c, "tokens filter", err)
	}
	clients, err := a.clientOptions(ctx)
	if err != nil {
		return a.serverError(c, "tokens filter", err)
	}
	var tokens []models.Token
	var total int64
	now := a.now()
	if !none {
		tokens, total, err = a.store.ListTokens(ctx, models.TokenQuery{GrantFilter: f, Status: p.get("status"), Type: p.get("type"), Sort: p.Sort}, now, p.modelPage())
		if err != nil {
			return a.serverError(c, "list tokens", err)
		}
	}
	v := views.TokenListView{
		AdminChrome: a.chrome(c, "tokens", "Tokens"), Filter: fv, Pager: p.pager(total),
		Back: p.self(), Status: p.get("status"), Filters: p.filterForm(clients, fv.Username),
		Bulk: views.BulkView{Action: "/admin/tokens/bulk-revoke", Label: "Revoke selected", Back: p.self()},
		Cols: map[string]views.Column{
			"client": p.column("client", "Client"), "user": p.column("user", "User"), "issued": p.column("issued", "Issued"),
			"expires": p.column("expires", "Access expires"), "refresh_expires": p.column("refresh_expires", "Refresh expires"),
		},
	}
	for _, t := range tokens {
		row := views.TokenRow{
			ID: t.ID, ClientID: t.ClientID, ClientName: t.Client.Name, Scopes: t.Scope,
			Issued: formatTime(&t.CreatedAt), Expires: formatTime(&t.ExpiresAt), State: models.StatusActive,
		}
		if t.RefreshExpiresAt != nil {
			row.Refresh = formatTime(t.RefreshExpiresAt)
		}
		switch {
		case t.RotatedAt != nil:
			row.State, row.Refreshed = "refreshed", formatTime(t.RotatedAt)
		case t.RevokedAt != nil:
			row.State = models.StatusRevoked
		case !now.Before(t.ExpiresAt) && (t.RefreshExpiresAt == nil || !now.Before(*t.RefreshExpiresAt)):
			row.State = models.StatusExpired
		}
		if t.User != nil {
			row.UserID, row.Username = t.User.ID, t.User.Username
		}
		v.Tokens = append(v.Tokens, row)
	}
	return a.render(c, http.StatusOK, views.TokenListPage(v))
}

// tokenState is a token as the audit log records it: never its value or hash.
type tokenState struct {
	ID           uint
	Client, User string
	Scope        string
}

// RevokeToken serves POST /admin/tokens/:id/revoke: the access token and
// its refresh token stop working at once.
func (a *Admin) RevokeToken(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "token")
	}
	t, err := a.store.RevokeToken(c.Request().Context(), id, a.now())
	if errors.Is(err, models.ErrNotFound) {
		return a.redirectWith(c, backTo(c, "/admin/tokens"), "error", "That token is gone or already revoked.")
	}
	if err != nil {
		return a.serverError(c, "revoke token", err)
	}
	st := tokenState{ID: t.ID, Client: t.Client.ClientID, Scope: t.Scope}
	if t.User != nil {
		st.User = t.User.Username
	}
	a.auditGrant(c, t.ClientID, "revoke token", grantTarget("token", t.ID, st.User), st, nil)
	return a.redirectWith(c, backTo(c, "/admin/tokens"), "success", "Token revoked.")
}

// RevokeTokens serves POST /admin/tokens/revoke: every token of the user
// (form field user=ID), of the client (client=ID), or of the pair.
func (a *Admin) RevokeTokens(c echo.Context) error {
	f, fv, err := a.grantFilterForm(c, "/admin/tokens")
	if err != nil {
		return a.serverError(c, "tokens filter", err)
	}
	back := filterQuery("/admin/tokens", f)
	if f.UserID == 0 && f.ClientID == 0 {
		return a.redirectWith(c, back, "error", "Choose a user or a client whose tokens to revoke.")
	}
	n, err := a.store.RevokeTokens(c.Request().Context(), f, a.now())
	if err != nil {
		return a.serverError(c, "revoke tokens", err)
	}
	var of []string
	if f.UserID != 0 {
		of = append(of, "user "+fv.Username)
	}
	if f.ClientID != 0 {
		of = append(of, "client "+fv.ClientName)
	}
	// The audit target names the user last and leaves the client to the
	// event's client, as for one token (see grantTarget).
	target := "tokens of the client"
	if f.UserID != 0 {
		target = "tokens of user " + fv.Username
	}
	a.auditGrant(c, f.ClientID, "revoke tokens", target, nil, map[string]int64{"Revoked": n})
	return a.redirectWith(c, back, "success", views.Plural(int64(n), "token", "tokens")+" of "+strings.Join(of, ", ")+" revoked.")
}
