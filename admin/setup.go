package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"oidcd/handlers/oauth"
	"oidcd/handlers/session"
	"oidcd/models"
	"oidcd/views"
)

// settingSetupToken holds the hash of the first-run setup token while no
// superuser exists.
const settingSetupToken = "setup_token_hash"

// PrepareSetup returns a fresh one-time setup token when no active
// superuser exists (and "" when one does). Only its hash is stored; a
// newer token replaces an older one.
func PrepareSetup(ctx context.Context, store *models.Store) (string, error) {
	has, err := store.HasSuperuser(ctx)
	if err != nil || has {
		return "", err
	}
	token := oauth.NewToken()
	if err := store.PutSetting(ctx, settingSetupToken, oauth.HashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// setupAllowed checks the token against the stored hash, in constant time,
// and that no superuser exists yet.
func (a *Admin) setupAllowed(c echo.Context, token string) (bool, error) {
	ctx := c.Request().Context()
	has, err := a.store.HasSuperuser(ctx)
	if err != nil || has {
		return false, err
	}
	want, err := a.store.LookupSetting(ctx, settingSetupToken)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return token != "" && subtle.ConstantTimeCompare([]byte(oauth.HashToken(token)), []byte(want)) == 1, nil
}

// ShowSetup serves GET /admin/setup: the form that creates the first admin.
func (a *Admin) ShowSetup(c echo.Context) error {
	token := c.QueryParam("token")
	ok, err := a.setupAllowed(c, token)
	if err != nil {
		return a.serverError(c, "setup", err)
	}
	if !ok {
		return a.setupGone(c)
	}
	return a.render(c, http.StatusOK, views.SetupPage(views.SetupView{CSRF: session.CSRFToken(c), Token: token}))
}

func (a *Admin) setupGone(c echo.Context) error {
	return a.errorPage(c, http.StatusNotFound, "Setup link not valid",
		"This setup link is unknown or has been used. If an administrator exists, sign in at /admin.")
}

// SubmitSetup serves POST /admin/setup: it creates the first superuser,
// kills the link and signs the new admin in. A link already spent, even by
// a request racing this one, gets the same page as an unknown link.
func (a *Admin) SubmitSetup(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.FormValue("token")
	ok, err := a.setupAllowed(c, token)
	if err != nil {
		return a.serverError(c, "setup", err)
	}
	if !ok {
		return a.setupGone(c)
	}
	v := views.SetupView{
		CSRF: session.CSRFToken(c), Token: token,
		Username: strings.TrimSpace(c.FormValue("username")), Email: strings.TrimSpace(c.FormValue("email")),
		Errors: views.FieldErrors{},
	}
	password := c.FormValue("password")
	checkUsername(v.Errors, v.Username)
	checkEmail(v.Errors, v.Email)
	checkPassword(v.Errors, password, c.FormValue("password_confirm"))
	if len(v.Errors) > 0 {
		return a.render(c, http.StatusUnprocessableEntity, views.SetupPage(v))
	}
	// The check above only lets the form through; spending the token and
	// creating the admin happen in one transaction, so of several requests
	// racing with one link exactly one creates an admin.
	u := &models.User{Username: v.Username, Email: v.Email, Active: true, Superuser: true}
	err = a.store.CreateFirstAdmin(ctx, settingSetupToken, oauth.HashToken(token), u, password)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return a.setupGone(c)
	case errors.Is(err, models.ErrConflict):
		v.Errors["username"] = "This username is taken."
		return a.render(c, http.StatusUnprocessableEntity, views.SetupPage(v))
	case err != nil:
		return a.serverError(c, "setup: create admin", err)
	}
	c.Set(ctxAdminKey, u)
	a.audit(c, "create first admin", "user "+u.Username, nil, userStateOf(u))
	now := a.now()
	if err := a.sessions.Start(c, u, now); err != nil {
		return a.serverError(c, "setup: sign in", err)
	}
	// Signing in through the link is a login like any other, for the audit
	// log and the user's last login.
	if err := a.store.RecordLogin(ctx, u.ID, now); err != nil {
		a.log.WarnContext(ctx, "record last login", "err", err)
	}
	e := &models.Event{Kind: models.EventLoginSucceeded, Username: u.Username, UserID: &u.ID, RemoteIP: c.RealIP()}
	if err := a.store.RecordEvent(ctx, e); err != nil {
		a.log.WarnContext(ctx, "record event", "kind", e.Kind, "err", err)
	}
	return a.redirectWith(c, "/admin", "success", "Welcome. You are the first administrator.")
}

// checkUsername, checkEmail and checkPassword put the message of the
// rule a value breaks (models.CheckUsername, CheckEmail, CheckPassword)
// into errs, under the field's name.
func checkUsername(errs views.FieldErrors, username string) {
	fieldError(errs, models.CheckUsername(username))
}

func checkEmail(errs views.FieldErrors, email string) { fieldError(errs, models.CheckEmail(email)) }

func checkPassword(errs views.FieldErrors, password, confirm string) {
	switch {
	case fieldError(errs, models.CheckPassword(password)):
	case password != confirm:
		errs["password_confirm"] = "The passwords do not match."
	}
}

// fieldError puts a rule's message under its field and reports whether
// there was one.
func fieldError(errs views.FieldErrors, err error) bool {
	var fe *models.FieldError
	if errors.As(err, &fe) {
		errs[fe.Field] = fe.Message
		return true
	}
	return false
}
