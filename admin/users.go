package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/views"
)

// userState is a user as the audit log records it: never the password
// hash. Keys are the Go names the log has always used (GivenName,
// AddressStreet), taken from the claims table; empty claims are left out.
type userState map[string]any

func userStateOf(u *models.User) userState {
	st := userState{"Username": u.Username, "Active": u.Active, "Superuser": u.Superuser}
	for _, f := range models.ClaimFields {
		if f.Kind == models.ClaimBool {
			st[goName(f.Form)] = *f.Bool(u)
		} else if v := *f.Str(u); v != "" {
			st[goName(f.Form)] = v
		}
	}
	if len(u.Attributes) > 0 {
		st["Attributes"] = u.Attributes
	}
	return st
}

// goName is a form name in Go's spelling: address_postal_code is
// AddressPostalCode.
func goName(form string) string {
	var b strings.Builder
	for _, part := range strings.Split(form, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// ListUsers serves GET /admin/users: search, status and role filters,
// sortable columns (last login among them) and pages.
func (a *Admin) ListUsers(c echo.Context) error {
	p, err := parseList(c, &userList)
	if err != nil {
		return a.badList(c, "users list", err)
	}
	q := models.UserQuery{Q: p.Q, Status: p.get("status"), Sort: p.Sort}
	if role := p.get("role"); role != "" {
		admin := role == "admin"
		q.Superuser = &admin
	}
	users, total, err := a.store.ListUsersBy(c.Request().Context(), q, p.modelPage())
	if err != nil {
		return a.serverError(c, "list users", err)
	}
	v := views.UserListView{AdminChrome: a.chrome(c, "users", "Users"), Query: p.Q, Pager: p.pager(total),
		Filters: p.filterForm(nil, ""), Cols: map[string]views.Column{
			"username": p.column("username", "Username"), "email": p.column("email", "Email"), "name": p.column("name", "Name"),
			"last_login": p.column("last_login", "Last login"), "created": p.column("created", "Created"),
		}}
	for _, u := range users {
		v.Users = append(v.Users, views.UserRow{
			ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name,
			Active: u.Active, Superuser: u.Superuser, LastLogin: formatTime(u.LastLogin), Created: formatTime(&u.CreatedAt),
		})
	}
	return a.render(c, http.StatusOK, views.UserListPage(v))
}

// NewUser serves GET /admin/users/new.
func (a *Admin) NewUser(c echo.Context) error {
	return a.render(c, http.StatusOK, views.NewUserPage(views.NewUserView{
		AdminChrome: a.chrome(c, "users", "New user"), Values: views.NewUserValues{Active: true},
	}))
}

// CreateUser serves POST /admin/users.
func (a *Admin) CreateUser(c echo.Context) error {
	f := views.NewUserValues{
		Username:      strings.TrimSpace(c.FormValue("username")),
		Email:         strings.TrimSpace(c.FormValue("email")),
		EmailVerified: c.FormValue("email_verified") == "on",
		GivenName:     strings.TrimSpace(c.FormValue("given_name")),
		FamilyName:    strings.TrimSpace(c.FormValue("family_name")),
		Name:          strings.TrimSpace(c.FormValue("name")),
		Superuser:     c.FormValue("superuser") == "on",
		Active:        c.FormValue("active") == "on",
	}
	password := c.FormValue("password")
	errs := views.FieldErrors{}
	checkUsername(errs, f.Username)
	checkEmail(errs, f.Email)
	for field, value := range map[string]string{"given_name": f.GivenName, "family_name": f.FamilyName, "name": f.Name} {
		if cf, _ := models.ClaimFieldByForm(field); cf.Check(value) != "" {
			errs[field] = cf.Check(value)
		}
	}
	checkPassword(errs, password, c.FormValue("password_confirm"))
	again := func() error {
		return a.render(c, http.StatusUnprocessableEntity, views.NewUserPage(views.NewUserView{
			AdminChrome: a.chrome(c, "users", "New user"), Values: f, Errors: errs,
		}))
	}
	if len(errs) > 0 {
		return again()
	}
	if f.Name == "" {
		f.Name = models.DerivedName(f.GivenName, f.FamilyName)
	}
	u := &models.User{
		Username: f.Username, Email: f.Email, EmailVerified: f.EmailVerified,
		GivenName: f.GivenName, FamilyName: f.FamilyName, Name: f.Name,
		Active: f.Active, Superuser: f.Superuser,
	}
	if err := a.store.CreateUser(c.Request().Context(), u, password); err != nil {
		if errors.Is(err, models.ErrConflict) {
			errs["username"] = "This username is taken."
			return again()
		}
		return a.serverError(c, "create user", err)
	}
	a.audit(c, "create user", userTarget(u), nil, userStateOf(u))
	return a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "success", fmt.Sprintf("User %q created.", u.Username))
}

func userTarget(u *models.User) string { return "user " + u.Username }

// userByParam loads the user named by :id.
func (a *Admin) userByParam(c echo.Context) (*models.User, error) {
	id, ok := idParam(c)
	if !ok {
		return nil, models.ErrNotFound
	}
	return a.store.UserByID(c.Request().Context(), id)
}

// loadUser loads the user named by :id, or answers the request itself
// (not found, server error) and returns nil.
func (a *Admin) loadUser(c echo.Context, where string) (*models.User, error) {
	u, err := a.userByParam(c)
	if errors.Is(err, models.ErrNotFound) {
		return nil, a.notFound(c, "user")
	}
	if err != nil {
		return nil, a.serverError(c, where, err)
	}
	return u, nil
}

// EditUser serves GET /admin/users/:id: the user's claims, password and
// account actions.
func (a *Admin) EditUser(c echo.Context) error {
	u, err := a.loadUser(c, "edit user")
	if u == nil {
		return err
	}
	return a.renderUserEdit(c, http.StatusOK, u, claimValuesOf(u), nil, nil)
}

func (a *Admin) renderUserEdit(c echo.Context, status int, u *models.User, vals views.UserClaimValues, errs, pwErrs views.FieldErrors) error {
	deps, err := a.store.UserDependents(c.Request().Context(), u.ID)
	if err != nil {
		return a.serverError(c, "user dependents", err)
	}
	self := actor(c)
	return a.render(c, status, views.UserEditPage(views.UserEditView{
		AdminChrome: a.chrome(c, "users", u.Username),
		ID:          u.ID, Username: u.Username, Subject: u.Subject, Active: u.Active, Superuser: u.Superuser,
		IsSelf:  self != nil && self.ID == u.ID,
		Created: formatTime(&u.CreatedAt), LastLogin: formatTime(u.LastLogin),
		Tokens: deps.Tokens, Consents: deps.Consents,
		Sections: claimSections(vals), Attributes: vals[attributesField], Errors: errs, PasswordErrors: pwErrs,
	}))
}

// claimValuesOf is the claims form filled with u's values.
func claimValuesOf(u *models.User) views.UserClaimValues {
	vals := views.UserClaimValues{}
	for _, f := range models.ClaimFields {
		vals[f.Form] = f.Get(u)
	}
	vals[attributesField] = models.FormatKeyValueLines(u.Attributes)
	return vals
}

// userSections are the sections of the user edit form that hold claims,
// in the page's order; every models.ClaimFields entry names one of them.
var userSections = []struct {
	ID    models.ClaimSection
	Title string
}{
	{models.SectionProfile, "Profile"},
	{models.SectionContact, "Contact"},
	{models.SectionAddress, "Address"},
}

// claimSections lays the claims table out as the edit form shows it: the
// sections in their order, each holding its fields in the table's order,
// with runs of fields that share a group in one fieldset.
func claimSections(vals views.UserClaimValues) []views.ClaimSection {
	sections := make([]views.ClaimSection, 0, len(userSections))
	for _, s := range userSections {
		sec := views.ClaimSection{ID: string(s.ID), Title: s.Title}
		for _, f := range models.ClaimFields {
			if f.Section != s.ID {
				continue
			}
			if len(sec.Groups) == 0 || sec.Groups[len(sec.Groups)-1].Legend != f.Group || f.Group == "" {
				sec.Groups = append(sec.Groups, views.ClaimGroup{Legend: f.Group})
			}
			g := &sec.Groups[len(sec.Groups)-1]
			in := views.ClaimInput{Name: f.Form, Label: f.Label, Type: inputType(f.Kind), Value: vals[f.Form]}
			if f.Kind == models.ClaimBool {
				in.Checkbox, in.Checked, in.Value = true, vals[f.Form] == "true", ""
			}
			g.Fields = append(g.Fields, in)
		}
		sections = append(sections, sec)
	}
	return sections
}

// inputType is the HTML input type of a claim kind.
func inputType(k models.ClaimKind) string {
	switch k {
	case models.ClaimEmail:
		return "email"
	case models.ClaimURL:
		return "url"
	case models.ClaimBool:
		return "checkbox"
	}
	return "text"
}

// claimsForm reads and checks the claims form; nothing is saved when it
// returns errors.
func claimsForm(c echo.Context) (views.UserClaimValues, views.FieldErrors) {
	vals := views.UserClaimValues{}
	errs := views.FieldErrors{}
	for _, f := range models.ClaimFields {
		if f.Kind == models.ClaimBool {
			vals[f.Form] = fmt.Sprint(c.FormValue(f.Form) == "on")
			continue
		}
		v := strings.TrimSpace(c.FormValue(f.Form))
		vals[f.Form] = v
		if msg := f.Check(v); msg != "" {
			errs[f.Form] = msg
		}
	}
	vals[attributesField] = c.FormValue(attributesField)
	if _, msg := models.ParseAttributes(vals[attributesField]); msg != "" {
		errs[attributesField] = upperFirst(msg) + "."
	}
	return vals, errs
}

// applyClaims copies checked form values onto u.
func applyClaims(u *models.User, vals views.UserClaimValues) {
	for _, f := range models.ClaimFields {
		if f.Kind == models.ClaimBool {
			*f.Bool(u) = vals[f.Form] == "true"
		} else {
			*f.Str(u) = vals[f.Form]
		}
	}
	u.Attributes, _ = models.ParseAttributes(vals[attributesField])
}

// attributesField is the claims form's field of the user's attributes,
// "key = value" lines.
const attributesField = "attributes"

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// UpdateUser serves POST /admin/users/:id: the standard claims.
func (a *Admin) UpdateUser(c echo.Context) error {
	u, err := a.loadUser(c, "update user")
	if u == nil {
		return err
	}
	f, errs := claimsForm(c)
	if len(errs) > 0 {
		return a.renderUserEdit(c, http.StatusUnprocessableEntity, u, f, errs, nil)
	}
	before := userStateOf(u)
	applyClaims(u, f)
	now := a.now()
	u.UpdatedAt = now
	// updated_at (OpenID Connect Core §5.1) moves when the profile does,
	// not on a save that changed nothing.
	if !reflect.DeepEqual(before, userStateOf(u)) {
		u.ProfileUpdatedAt = now
	}
	if err := a.store.UpdateUserClaims(c.Request().Context(), u); errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "user")
	} else if err != nil {
		return a.serverError(c, "update user", err)
	}
	a.audit(c, "update user", userTarget(u), before, userStateOf(u))
	return a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "success", "User saved.")
}

// SetUserPassword serves POST /admin/users/:id/password. The old password
// stops working at once, and so does everything it opened: the user is
// signed out everywhere, their tokens are revoked and their unused codes
// voided, in the same transaction. An admin setting their own password is
// signed out too, and signs in again with the new one.
func (a *Admin) SetUserPassword(c echo.Context) error {
	u, err := a.loadUser(c, "set password")
	if u == nil {
		return err
	}
	password := c.FormValue("password")
	errs := views.FieldErrors{}
	checkPassword(errs, password, c.FormValue("password_confirm"))
	if len(errs) > 0 {
		return a.renderUserEdit(c, http.StatusUnprocessableEntity, u, claimValuesOf(u), nil, errs)
	}
	if err := a.store.SetUserPassword(c.Request().Context(), u.ID, password, a.now()); errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "user")
	} else if err != nil {
		return a.serverError(c, "set password", err)
	}
	a.audit(c, "set user password", userTarget(u), nil, nil)
	path := fmt.Sprintf("/admin/users/%d", u.ID)
	if self := actor(c); self != nil && self.ID == u.ID {
		// This session's row is gone with the others; a flash would save
		// it again, so the cookie is dropped instead.
		if err := a.sessions.End(c); err != nil {
			return a.serverError(c, "set password: end session", err)
		}
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(path))
	}
	return a.redirectWith(c, path, "success",
		"Password set: the user is signed out everywhere and their tokens are revoked.")
}

// refuseSelf stops an admin from locking themself out.
func (a *Admin) refuseSelf(c echo.Context, u *models.User, what string) (bool, error) {
	if self := actor(c); self != nil && self.ID == u.ID {
		return true, a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "error", "You cannot "+what+" your own account.")
	}
	return false, nil
}

// DeactivateUser serves POST /admin/users/:id/deactivate: the user is
// signed out everywhere, every token they hold is revoked and every code
// not yet exchanged is deleted.
func (a *Admin) DeactivateUser(c echo.Context) error {
	u, err := a.loadUser(c, "deactivate user")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "deactivate"); refused {
		return err
	}
	before := userStateOf(u)
	if err := a.store.DeactivateUser(c.Request().Context(), u.ID, a.now()); errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "user")
	} else if err != nil {
		return a.serverError(c, "deactivate user", err)
	}
	u.Active = false
	a.audit(c, "deactivate user", userTarget(u), before, userStateOf(u))
	return a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "success",
		"User deactivated: signed out everywhere, all their tokens revoked and unused codes voided.")
}

// EndUserSessions serves POST /admin/users/:id/sessions/end: every
// browser session of the user ends, and each client those sessions used
// is sent a logout token (models.Store.EndUserSessions). Tokens stay:
// deactivation or a new password revokes them.
func (a *Admin) EndUserSessions(c echo.Context) error {
	u, err := a.loadUser(c, "end user sessions")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "sign out"); refused {
		return err
	}
	if err := a.store.EndUserSessions(c.Request().Context(), u.ID, models.EndAdmin, a.now()); err != nil {
		return a.serverError(c, "end user sessions", err)
	}
	a.audit(c, "end user sessions", userTarget(u), nil, nil)
	return a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "success", "The user is signed out everywhere.")
}

// ActivateUser serves POST /admin/users/:id/activate.
func (a *Admin) ActivateUser(c echo.Context) error {
	u, err := a.loadUser(c, "activate user")
	if u == nil {
		return err
	}
	before := userStateOf(u)
	if err := a.store.SetUserActive(c.Request().Context(), u.ID, true); errors.Is(err, models.ErrNotFound) {
		return a.notFound(c, "user")
	} else if err != nil {
		return a.serverError(c, "activate user", err)
	}
	u.Active = true
	a.audit(c, "activate user", userTarget(u), before, userStateOf(u))
	return a.redirectWith(c, fmt.Sprintf("/admin/users/%d", u.ID), "success", "User reactivated.")
}

// ConfirmDeleteUser serves GET /admin/users/:id/delete: what goes with
// the user, and a button.
func (a *Admin) ConfirmDeleteUser(c echo.Context) error {
	u, err := a.loadUser(c, "confirm delete user")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "delete"); refused {
		return err
	}
	deps, err := a.store.UserDependents(c.Request().Context(), u.ID)
	if err != nil {
		return a.serverError(c, "user dependents", err)
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "users", "Delete "+u.Username),
		Heading:     fmt.Sprintf("Delete user “%s”?", u.Username),
		Lead:        "The account and its claims are deleted; the username can be taken again. Deactivating keeps the account and can be undone.",
		TakesIntro:  "It also deletes:",
		Takes:       consequences(deps, "every browser session: they are signed out everywhere"),
		Action:      fmt.Sprintf("/admin/users/%d/delete", u.ID), Button: "Delete user",
		Cancel: fmt.Sprintf("/admin/users/%d", u.ID),
	}))
}

// DeleteUser serves POST /admin/users/:id/delete.
func (a *Admin) DeleteUser(c echo.Context) error {
	u, err := a.loadUser(c, "delete user")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "delete"); refused {
		return err
	}
	if err := a.store.DeleteUser(c.Request().Context(), u.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return a.serverError(c, "delete user", err)
	}
	a.audit(c, "delete user", userTarget(u), userStateOf(u), nil)
	return a.redirectWith(c, "/admin/users", "success", fmt.Sprintf("User %q deleted.", u.Username))
}

// ConfirmDeactivateUser serves GET /admin/users/:id/deactivate: what
// deactivating the user takes with it (models.Store.DeactivateUser), with
// counts, and the form that does it.
func (a *Admin) ConfirmDeactivateUser(c echo.Context) error {
	u, err := a.loadUser(c, "confirm deactivate user")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "deactivate"); refused {
		return err
	}
	g, err := a.store.CountGrants(c.Request().Context(), models.GrantFilter{UserID: u.ID}, a.now())
	if err != nil {
		return a.serverError(c, "count grants", err)
	}
	path := fmt.Sprintf("/admin/users/%d", u.ID)
	v := views.ConfirmView{
		AdminChrome: a.chrome(c, "users", "Deactivate "+u.Username),
		Heading:     fmt.Sprintf("Deactivate user “%s”?", u.Username),
		Lead:        "They can no longer sign in until reactivated, and nothing they hold keeps working.",
		Takes:       sessionLines(g),
		Keeps: []string{
			"The account, its claims and password",
			views.Plural(g.Consents, "consent", "consents") + ", kept for when they are reactivated",
		},
		Undo:   "Reactivating lets them sign in again; the sessions, tokens and codes stay ended.",
		Action: path + "/deactivate", Button: "Deactivate user", Cancel: path,
	}
	v.Takes = append(v.Takes,
		views.Plural(g.AccessTokens, "access token, which stops working at once", "access tokens, which stop working at once"),
		views.Plural(g.RefreshTokens, "refresh token, which can no longer be used", "refresh tokens, which can no longer be used"),
		views.Plural(g.UnusedCodes, "unused authorization code, which is voided", "unused authorization codes, which are voided"))
	if !u.Active {
		v.Disabled = "The user is deactivated already."
	}
	return a.render(c, http.StatusOK, views.ConfirmPage(v))
}

// sessionLines says what ending a user's sessions takes: the sessions,
// and the clients told by back-channel logout (models.endUserSessions).
func sessionLines(g models.GrantCounts) []string {
	return []string{
		views.Plural(g.Sessions, "browser session, which ends", "browser sessions, which end"),
		views.Plural(g.LogoutClients, "client, sent a back-channel logout token", "clients, each sent a back-channel logout token"),
	}
}

// ConfirmEndUserSessions serves GET /admin/users/:id/sessions/end: what
// signing the user out everywhere does (EndUserSessions), with counts,
// and the form that does it.
func (a *Admin) ConfirmEndUserSessions(c echo.Context) error {
	u, err := a.loadUser(c, "confirm end user sessions")
	if u == nil {
		return err
	}
	if refused, err := a.refuseSelf(c, u, "sign out"); refused {
		return err
	}
	g, err := a.store.CountGrants(c.Request().Context(), models.GrantFilter{UserID: u.ID}, a.now())
	if err != nil {
		return a.serverError(c, "count grants", err)
	}
	path := fmt.Sprintf("/admin/users/%d", u.ID)
	return a.render(c, http.StatusOK, views.ConfirmPage(views.ConfirmView{
		AdminChrome: a.chrome(c, "users", "Sign out "+u.Username),
		Heading:     fmt.Sprintf("Sign “%s” out everywhere?", u.Username),
		Lead:        "Every browser session of the user ends: they must sign in again.",
		Takes:       sessionLines(g),
		Keeps: []string{
			views.Plural(g.AccessTokens, "access token, which stays valid", "access tokens, which stay valid"),
			views.Plural(g.RefreshTokens, "refresh token, which stays usable", "refresh tokens, which stay usable") +
				" (deactivating the user or setting a new password revokes them)",
		},
		Action: path + "/sessions/end", Button: "Sign out everywhere", Cancel: path,
	}))
}
