package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// ListCodes serves GET /admin/codes: authorization codes, used or not,
// never the codes themselves, optionally for one user or client.
//
// Filters: status (unused, used, expired), client and user; sortable
// columns and pages.
func (a *Admin) ListCodes(c echo.Context) error {
	p, err := parseList(c, &codeList)
	if err != nil {
		return a.badList(c, "codes list", err)
	}
	ctx := c.Request().Context()
	f, fv, none, err := a.grantFilter(ctx, &p)
	if err != nil {
		return a.serverError(c, "codes filter", err)
	}
	clients, err := a.clientOptions(ctx)
	if err != nil {
		return a.serverError(c, "codes filter", err)
	}
	var codes []models.Code
	var total int64
	if !none {
		codes, total, err = a.store.ListCodesBy(ctx, models.CodeQuery{GrantFilter: f, Status: p.get("status"), Sort: p.Sort}, a.now(), p.modelPage())
		if err != nil {
			return a.serverError(c, "list codes", err)
		}
	}
	v := views.CodeListView{
		AdminChrome: a.chrome(c, "codes", "Codes"), Filter: fv, Pager: p.pager(total),
		Back: p.self(), Filters: p.filterForm(clients, fv.Username),
		Bulk: views.BulkView{Action: "/admin/codes/bulk-delete", Label: "Delete selected", Back: p.self()},
		Cols: map[string]views.Column{
			"client": p.column("client", "Client"), "user": p.column("user", "User"), "created": p.column("created", "Created"),
			"expires": p.column("expires", "Expires"), "used": p.column("used", "Used"),
		},
	}
	for _, cd := range codes {
		row := views.CodeRow{
			ID: cd.ID, UserID: cd.UserID, Username: cd.User.Username, ClientID: cd.ClientID, ClientName: cd.Client.Name,
			Scope: cd.Scope, Created: formatTime(&cd.CreatedAt), Expires: formatTime(&cd.ExpiresAt),
		}
		if cd.UsedAt != nil {
			row.Used = formatTime(cd.UsedAt)
		}
		v.Codes = append(v.Codes, row)
	}
	return a.render(c, http.StatusOK, views.CodeListPage(v))
}

// codeState is a code as the audit log records it: never the code or its hash.
type codeState struct {
	ID           uint
	Client, User string
	Scope        string
	Used         bool
}

// DeleteCode serves POST /admin/codes/:id/delete: an unused code can no
// longer be exchanged. Tokens already issued from it are left alone.
func (a *Admin) DeleteCode(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "code")
	}
	cd, err := a.store.DeleteCode(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return a.redirectWith(c, backTo(c, "/admin/codes"), "error", "That code is already gone.")
	}
	if err != nil {
		return a.serverError(c, "delete code", err)
	}
	a.auditCodeDeleted(c, cd)
	return a.redirectWith(c, backTo(c, "/admin/codes"), "success", "Code deleted.")
}

// ConfirmDeleteCode serves GET /admin/codes/:id/delete: what deleting the
// code does, and the form that does it (DeleteCode).
func (a *Admin) ConfirmDeleteCode(c echo.Context) error {
	id, ok := idParam(c)
	if !ok {
		return a.notFound(c, "code")
	}
	back := backTo(c, "/admin/codes")
	ctx := c.Request().Context()
	cd, err := a.store.CodeByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return a.redirectWith(c, back, "error", "That code is already gone.")
	}
	if err != nil {
		return a.serverError(c, "confirm delete code", err)
	}
	issued, err := a.store.TokensByCode(ctx, cd.ID)
	if err != nil {
		return a.serverError(c, "tokens by code", err)
	}
	v := views.ConfirmView{
		AdminChrome: a.chrome(c, "codes", "Delete code"),
		Heading:     "Delete this authorization code?",
		Keeps:       []string{views.Plural(int64(len(issued)), "token already issued from it, which stays valid", "tokens already issued from it, which stay valid")},
		Action:      fmt.Sprintf("/admin/codes/%d/delete", cd.ID), Hidden: []views.HiddenField{{Name: "back", Value: back}},
		Button: "Delete code", Cancel: back,
	}
	what := fmt.Sprintf("The code issued %s to client “%s” for user “%s” (scopes %s)", formatTime(&cd.CreatedAt), cd.Client.Name, cd.User.Username, cd.Scope)
	if cd.UsedAt == nil {
		v.Lead = what + " can no longer be exchanged for tokens."
	} else {
		// RedeemCode knows a replayed code by its row (RFC 6749 §4.1.2).
		v.Lead = what + " was exchanged " + formatTime(cd.UsedAt) + ". Deleting it removes the record that recognises a replay of it: " +
			"a replayed code would then be refused without revoking the tokens issued from it."
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}

// auditCodeDeleted records an administrator's deletion of cd, one code or
// one of a bulk deletion.
func (a *Admin) auditCodeDeleted(c echo.Context, cd *models.Code) {
	a.auditGrant(c, cd.ClientID, "delete code", grantTarget("code", cd.ID, cd.User.Username),
		codeState{ID: cd.ID, Client: cd.Client.ClientID, User: cd.User.Username, Scope: cd.Scope, Used: cd.UsedAt != nil}, nil)
}
