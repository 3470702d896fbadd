package admin

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/models"
	"oidcd/views"
)

// Bounds of a custom scope's consent texts.
const (
	maxScopeTitle       = 200
	maxScopeDescription = 1000
)

// scopeState is a custom scope as the audit log records it.
type scopeState struct {
	Name, Title, Description string
	Claims                   map[string]string
}

func scopeStateOf(cs *models.CustomScope) scopeState {
	return scopeState{Name: cs.Name, Title: cs.Title, Description: cs.Description, Claims: cs.Claims}
}

func scopeTarget(cs *models.CustomScope) string { return "scope " + cs.Name }

// claimsSummary is "claim ← attribute, …", by claim.
func claimsSummary(claims map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		parts = append(parts, k+" ← "+claims[k])
	}
	return strings.Join(parts, ", ")
}

// ListScopes serves GET /admin/scopes: the custom scopes, and the
// standard ones beside them for reference.
func (a *Admin) ListScopes(c echo.Context) error {
	scopes, err := a.store.ListCustomScopes(c.Request().Context())
	if err != nil {
		return a.serverError(c, "list scopes", err)
	}
	v := views.ScopeListView{AdminChrome: a.chrome(c, "scopes", "Scopes")}
	for _, s := range oauth.StandardScopes {
		v.Standard = append(v.Standard, views.ScopeRow{Name: s.Name, Title: s.Title, Claims: strings.Join(s.Claims, ", ")})
	}
	for _, cs := range scopes {
		v.Scopes = append(v.Scopes, views.ScopeRow{ID: cs.ID, Name: cs.Name, Title: cs.Title, Claims: claimsSummary(cs.Claims)})
	}
	return a.render(c, http.StatusOK, views.ScopeListPage(v))
}

func (a *Admin) scopeForm(c echo.Context, status int, isNew bool, id uint, vals views.ScopeFormValues, errs views.FieldErrors) error {
	title := "New scope"
	if !isNew {
		title = "Edit scope " + vals.Name
	}
	fields := make([]string, len(models.ClaimFields))
	for i, f := range models.ClaimFields {
		fields[i] = f.Form
	}
	return a.render(c, status, views.ScopeFormPage(views.ScopeFormView{
		AdminChrome: a.chrome(c, "scopes", title), IsNew: isNew, ID: id, Values: vals, Errors: errs, Fields: fields,
	}))
}

// NewScope serves GET /admin/scopes/new.
func (a *Admin) NewScope(c echo.Context) error {
	return a.scopeForm(c, http.StatusOK, true, 0, views.ScopeFormValues{}, nil)
}

// readScopeForm reads and checks the scope form into cs; nothing is
// saved when it returns errors.
func readScopeForm(c echo.Context, cs *models.CustomScope) (views.ScopeFormValues, views.FieldErrors) {
	f := views.ScopeFormValues{
		Name:        strings.TrimSpace(c.FormValue("name")),
		Title:       strings.TrimSpace(c.FormValue("title")),
		Description: strings.TrimSpace(c.FormValue("description")),
		Claims:      c.FormValue("claims"),
	}
	errs := views.FieldErrors{}
	if msg := oauth.CheckScopeName(f.Name); msg != "" {
		errs["name"] = upperFirst(msg) + "."
	}
	switch {
	case f.Title == "":
		errs["title"] = "Enter the title the consent page shows."
	case len(f.Title) > maxScopeTitle:
		errs["title"] = fmt.Sprintf("Use at most %d characters.", maxScopeTitle)
	}
	if len(f.Description) > maxScopeDescription {
		errs["description"] = fmt.Sprintf("Use at most %d characters.", maxScopeDescription)
	}
	claims, msg := models.ParseKeyValueLines(f.Claims)
	if msg == "" {
		msg = models.CheckCustomClaims(claims, oauth.ReservedClaims())
	}
	if msg != "" {
		errs["claims"] = upperFirst(msg) + "."
	}
	cs.Name, cs.Title, cs.Description, cs.Claims = f.Name, f.Title, f.Description, claims
	return f, errs
}

// CreateScope serves POST /admin/scopes.
func (a *Admin) CreateScope(c echo.Context) error {
	cs := &models.CustomScope{}
	f, errs := readScopeForm(c, cs)
	if len(errs) > 0 {
		return a.scopeForm(c, http.StatusUnprocessableEntity, true, 0, f, errs)
	}
	if err := a.store.CreateCustomScope(c.Request().Context(), cs); errors.Is(err, models.ErrConflict) {
		errs["name"] = "A scope with this name exists."
		return a.scopeForm(c, http.StatusUnprocessableEntity, true, 0, f, errs)
	} else if err != nil {
		return a.serverError(c, "create scope", err)
	}
	a.audit(c, "create scope", scopeTarget(cs), nil, scopeStateOf(cs))
	return a.redirectWith(c, "/admin/scopes", "success", fmt.Sprintf("Scope %q created. Add it to the clients that may ask for it.", cs.Name))
}

// loadScope loads the custom scope named by :id, or answers the request
// itself (not found, server error) and returns nil.
func (a *Admin) loadScope(c echo.Context, where string) (*models.CustomScope, error) {
	id, ok := idParam(c)
	if !ok {
		return nil, a.notFound(c, "scope")
	}
	cs, err := a.store.CustomScopeByID(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, a.notFound(c, "scope")
	}
	if err != nil {
		return nil, a.serverError(c, where, err)
	}
	return cs, nil
}

// EditScope serves GET /admin/scopes/:id.
func (a *Admin) EditScope(c echo.Context) error {
	cs, err := a.loadScope(c, "edit scope")
	if cs == nil {
		return err
	}
	return a.scopeForm(c, http.StatusOK, false, cs.ID, views.ScopeFormValues{
		Name: cs.Name, Title: cs.Title, Description: cs.Description, Claims: models.FormatKeyValueLines(cs.Claims),
	}, nil)
}

// UpdateScope serves POST /admin/scopes/:id. A renamed scope is no longer
// the one clients list: they keep the old name, which then grants
// nothing, until they are given the new one.
func (a *Admin) UpdateScope(c echo.Context) error {
	cs, err := a.loadScope(c, "update scope")
	if cs == nil {
		return err
	}
	before := scopeStateOf(cs)
	f, errs := readScopeForm(c, cs)
	if len(errs) > 0 {
		return a.scopeForm(c, http.StatusUnprocessableEntity, false, cs.ID, f, errs)
	}
	cs.UpdatedAt = a.now()
	if err := a.store.SaveCustomScope(c.Request().Context(), cs); errors.Is(err, models.ErrConflict) {
		errs["name"] = "A scope with this name exists."
		return a.scopeForm(c, http.StatusUnprocessableEntity, false, cs.ID, f, errs)
	} else if errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "scope")
	} else if err != nil {
		return a.serverError(c, "update scope", err)
	}
	a.audit(c, "update scope", scopeTarget(cs), before, scopeStateOf(cs))
	return a.redirectWith(c, "/admin/scopes", "success", fmt.Sprintf("Scope %q saved.", cs.Name))
}

// ConfirmDeleteScope serves GET /admin/scopes/:id/delete.
func (a *Admin) ConfirmDeleteScope(c echo.Context) error {
	cs, err := a.loadScope(c, "confirm delete scope")
	if cs == nil {
		return err
	}
	clients, err := a.store.ClientsWithScope(c.Request().Context(), cs.Name)
	if err != nil {
		return a.serverError(c, "clients with scope", err)
	}
	var what []string
	if len(clients) > 0 {
		what = append(what, "its claims, for the "+views.Plural(int64(len(clients)), "client that lists", "clients that list")+" it ("+strings.Join(clients, ", ")+"): they keep the name, which then grants nothing")
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "scopes", "Delete scope "+cs.Name),
		Heading:     fmt.Sprintf("Delete scope “%s”?", cs.Name),
		Lead:        "Clients can no longer be granted the claims it releases.",
		TakesIntro:  "It also deletes:", Takes: what,
		Action: fmt.Sprintf("/admin/scopes/%d/delete", cs.ID), Button: "Delete scope",
		Cancel: fmt.Sprintf("/admin/scopes/%d", cs.ID),
	}))
}

// DeleteScope serves POST /admin/scopes/:id/delete.
func (a *Admin) DeleteScope(c echo.Context) error {
	cs, err := a.loadScope(c, "delete scope")
	if cs == nil {
		return err
	}
	if err := a.store.DeleteCustomScope(c.Request().Context(), cs.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return a.serverError(c, "delete scope", err)
	}
	a.audit(c, "delete scope", scopeTarget(cs), scopeStateOf(cs), nil)
	return a.redirectWith(c, "/admin/scopes", "success", fmt.Sprintf("Scope %q deleted.", cs.Name))
}
