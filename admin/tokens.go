package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	a.auditTokenRevoked(c, t)
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

// ConfirmRevokeToken serves GET /admin/tokens/:id/revoke: what revoking
// the token takes with it, and the form that does it (RevokeToken).
func (a *Admin) ConfirmRevokeToken(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "token")
	}
	back := backTo(c, "/admin/tokens")
	t, err := a.store.TokenByID(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return a.redirectWith(c, back, "error", "That token is gone or already revoked.")
	}
	if err != nil {
		return a.serverError(c, "confirm revoke token", err)
	}
	now := a.now()
	holder, keeps := "the client itself", "The client's credentials: it can ask for a new token at once."
	if t.User != nil {
		holder = "user " + t.User.Username
		keeps = "The user's consent and browser sessions: the client can get new tokens when the user next signs in through it."
	}
	takes := []string{"Its access token, " + validity(&t.ExpiresAt, now, "which stops working at once")}
	if t.RefreshTokenHash != nil {
		takes = append(takes, "Its refresh token, "+validity(t.RefreshExpiresAt, now, "which can no longer be used"))
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "tokens", "Revoke token"),
		Heading:     "Revoke this token?",
		Lead: fmt.Sprintf("The token of %s issued to client “%s” on %s, for the scopes %s.",
			holder, t.Client.Name, formatTime(&t.CreatedAt), t.Scope),
		Takes: takes, Keeps: []string{keeps},
		Action: fmt.Sprintf("/admin/tokens/%d/revoke", t.ID), Hidden: []views.HiddenField{{Name: "back", Value: back}},
		Button: "Revoke token", Cancel: back,
	}))
}

// validity says until when a token would have worked: what its
// revocation takes.
func validity(expires *time.Time, now time.Time, effect string) string {
	if expires == nil || !expires.After(now) {
		return "expired already (" + formatTime(expires) + ")"
	}
	return "valid until " + formatTime(expires) + ", " + effect
}

// ConfirmRevokeTokens serves GET /admin/tokens/revoke?user=&client=:
// what revoking every token of the filter takes with it, with counts, and
// the form that does it (RevokeTokens).
func (a *Admin) ConfirmRevokeTokens(c echo.Context) error {
	f, fv, err := a.grantFilterForm(c, "/admin/tokens")
	if err != nil {
		return a.serverError(c, "tokens filter", err)
	}
	back := filterQuery("/admin/tokens", f)
	if f.UserID == 0 && f.ClientID == 0 {
		return a.redirectWith(c, back, "error", "Choose a user or a client whose tokens to revoke.")
	}
	g, err := a.store.CountGrants(c.Request().Context(), f, a.now())
	if err != nil {
		return a.serverError(c, "count grants", err)
	}
	var of []string
	var hidden []views.HiddenField
	if f.UserID != 0 {
		of = append(of, "user “"+fv.Username+"”")
		hidden = append(hidden, views.HiddenField{Name: "user", Value: strconv.FormatUint(uint64(f.UserID), 10)})
	}
	if f.ClientID != 0 {
		of = append(of, "client “"+fv.ClientName+"”")
		hidden = append(hidden, views.HiddenField{Name: "client", Value: strconv.FormatUint(uint64(f.ClientID), 10)})
	}
	keeps := []string{
		views.Plural(g.Consents, "consent: its client can get new tokens", "consents: their clients can get new tokens") + " without asking again",
		views.Plural(g.UnusedCodes, "unused authorization code, which can still be exchanged", "unused authorization codes, which can still be exchanged"),
	}
	if f.UserID != 0 {
		keeps = append(keeps, views.Plural(g.Sessions, "browser session of the user", "browser sessions of the user")+": they stay signed in")
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "tokens", "Revoke tokens"),
		Heading:     "Revoke every token of " + strings.Join(of, " and ") + "?",
		Lead:        "Every token issued to " + strings.Join(of, " for ") + " stops working at once.",
		Takes: []string{
			views.Plural(g.AccessTokens, "access token, which stops working at once", "access tokens, which stop working at once"),
			views.Plural(g.RefreshTokens, "refresh token, which can no longer be used", "refresh tokens, which can no longer be used"),
		},
		Keeps:  keeps,
		Action: "/admin/tokens/revoke", Hidden: hidden, Button: "Revoke all tokens", Cancel: back,
	}))
}

// auditTokenRevoked records an administrator's revocation of t, one token
// or one of a bulk revocation.
func (a *Admin) auditTokenRevoked(c echo.Context, t *models.Token) {
	st := tokenState{ID: t.ID, Client: t.Client.ClientID, Scope: t.Scope}
	if t.User != nil {
		st.User = t.User.Username
	}
	a.auditGrant(c, t.ClientID, "revoke token", grantTarget("token", t.ID, st.User), st, nil)
}
